"""Compiled-policy artifacts: a policy set's lowered form kept as JSON data in the user's cache,
so that loading it again unchanged skips parsing, checking and lowering (and their imports).

- Stored with `parser_cache`, under its rules: a private folder of the user's, a file opened
  without following a symlink, its owner and mode checked on the open descriptor, its body
  checksummed. The artifact is data, never code or a pickle: decoding builds only the attrs
  classes and enumerations of the modules in `MODULES`, through their own constructors, so a
  file can at worst describe a wrong policy, and the key (below) makes even that a file written
  for other sources or another compiler, which reads as missing.
- The key: the format, the Python implementation, and the name, size and modification time
  of every module of the package and of the grammar (the compiler that made the artifact, IR
  version included), which is how Python itself decides that a module's byte code is stale.
  The artifact also holds each source's name and text, compared with the files read now: an
  edit of a source, however small, makes it stale. Whatever changes, the file reads as
  missing, the normal path runs and writes it again. No digest is computed: a cached load
  reads the modules' sizes and times and the sources, and never imports `hashlib` (OpenSSL).
- What is kept: the lowered form, the indexed program the compiled backend generates its code
  from (when the load that wrote the artifact made one: the naive backend builds its own from
  the lowered form), the warnings of the load, the effect fail-closed mode refuses with and
  the declared `version`. The checked model is not: a policy from an artifact makes it from
  its sources when first asked (`Policy.checked`).
- Identity is kept too: an object the lowered form and the program hold in two places is
  written once and read back as one object, so the code generated from them is the one a
  fresh load generates.
"""

from __future__ import annotations

import binascii
import enum
import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from policydsl import datetimes, parser_cache, resources
from policydsl import typesys as t
from policydsl.source import Source, Span

if TYPE_CHECKING:
    from policydsl import ir
    from policydsl.diagnostics import Diagnostic

FORMAT = 2
SUFFIX = ".lowered.json"  # an artifact's file, in the cache folder: one per policy folder
# The modules whose classes an artifact may name: what a lowered form and a diagnostic hold.
MODULES = frozenset(
    {
        "policydsl.checked_exprs",
        "policydsl.codes",
        "policydsl.diagnostics",
        "policydsl.expr_nodes",
        "policydsl.ir",
        "policydsl.model",
        "policydsl.operators",
        "policydsl.typesys",
    }
)
# Tags of the JSON arrays: every array is tagged, so a value is one of these or a JSON scalar.
_TUPLE, _LIST, _SET, _DICT, _MISSING = "(", "[", "{", "d", "m"
_OBJECT, _REF, _ENUM, _SPAN = "o", "r", "e", "s"
_ENTITY = "E"  # an entity type, by name: its record may name it again (`manager: User?`)
_TIMES = {"t": datetimes.Datetime, "u": datetimes.Duration}  # checked milliseconds (a literal's)
_TIME_TAGS = {cls: tag for tag, cls in _TIMES.items()}
_SCALARS = (str, int, bool, type(None))


class SourceSet:
    """A policy set's sources as read now, the key an artifact of them is stored under (the
    compiler's: the sources are compared whole), and the artifact's file name: one per folder
    and Python (`stdlib-3f2a….lowered.json`), so that two installations sharing a home do not
    take turns rewriting one file."""

    def __init__(self, sources: Sequence[Source], key: str, name: str):
        self.sources = tuple(sources)
        self.key = key
        self.name = name


class Stored:
    """What an artifact gives back: enough for the compiled backends to decide."""

    def __init__(
        self,
        lowered: ir.Lowered,
        warnings: list[Diagnostic],
        refuse_effect: str | None,
        version: str | None = None,
        program: ir.Program | None = None,
    ):
        self.lowered = lowered
        self.warnings = warnings
        self.refuse_effect = refuse_effect
        self.version = version
        self.program = program


class _Unusable(Exception):
    """A value an artifact cannot hold, or a file that does not describe one."""


def read_set(folder: Path) -> SourceSet | None:
    """The `.policy` files under `folder` (found as the loader finds them), read as UTF-8, with
    their key; None when any cannot be read so (the loader then says why)."""
    key = _compiler_key()
    if key is None:
        return None
    sources = []
    try:
        for path in sorted(p for p in folder.rglob("*.policy") if p.is_file()):
            sources.append(Source(str(path), path.read_bytes().decode("utf-8")))
    except (OSError, UnicodeDecodeError):
        return None
    if not sources:
        return None
    where = binascii.crc32(f"{folder.resolve()}\0{sys.implementation.cache_tag}".encode())
    return SourceSet(sources, key, f"{folder.name}-{where:08x}{SUFFIX}")


@functools.cache
def _compiler_key() -> str | None:
    """The compiler, as the format, the Python running it, and the name, size and modification
    time (ns) of every module of the package and of the grammar; None when they cannot all be
    read (no artifact then)."""
    parts = [str(FORMAT), sys.implementation.cache_tag]
    try:
        with os.scandir(Path(__file__).resolve().parent) as entries:
            modules = sorted(e.path for e in entries if e.name.endswith(".py"))
        for path in [*modules, str(resources.grammar_path())]:
            info = os.stat(path)
            parts.append(f"{os.path.basename(path)}:{info.st_size}:{info.st_mtime_ns}")
    except OSError:
        return None
    return " ".join(parts)


def load(found: SourceSet) -> Stored | None:
    """The artifact stored for exactly these sources and this compiler, if any."""
    folder = parser_cache.cache_dir()
    if folder is None:
        return None
    data = parser_cache.read(folder, found.name, found.key)
    if data is None:
        return None
    try:
        return decode(data, found.sources)
    except Exception:  # not a document this version wrote (whatever it trips): as if missing
        return None


def store(
    found: SourceSet,
    lowered: ir.Lowered,
    warnings: Sequence[Diagnostic],
    refuse_effect: str | None,
    sources: Sequence[Source],
    *,
    version: str | None = None,
    program: ir.Program | None = None,
) -> bool:
    """Keep a policy set just loaded from `found`'s files (`lowered`, `warnings`, the effect it
    refuses with, its `sources`, its declared `version`, its indexed `program`) as their
    artifact; False when it cannot be kept (the files changed under the load, a value JSON
    cannot hold here, no cache)."""
    folder = parser_cache.cache_dir()
    if folder is None:
        return False
    if [(s.name, s.text) for s in sources] != [(s.name, s.text) for s in found.sources]:
        return False
    try:
        data = encode(lowered, warnings, refuse_effect, sources, version=version, program=program)
    except (_Unusable, RecursionError):  # a value with no form here; a policy nested too deep
        return False
    return parser_cache.write(folder, found.name, found.key, data)


# ---- the document ---------------------------------------------------------------------------


def encode(
    lowered: ir.Lowered,
    warnings: Sequence[Diagnostic],
    refuse_effect: str | None,
    sources: Sequence[Source],
    *,
    version: str | None = None,
    program: ir.Program | None = None,
) -> dict[str, Any]:
    """The artifact's JSON data; `_Unusable` if something in it has no JSON form here."""
    if program is not None and not program.indexed:
        raise _Unusable("a program not indexed")
    encoder = _Encoder(sources)
    body = [encoder.value(lowered), encoder.value(list(warnings)), encoder.value(program)]
    entities: list[Any] = []  # each entity type the body names: its attributes, its parents
    while len(entities) < len(encoder.entities):  # a record may name types the body does not
        entity = list(encoder.entities.values())[len(entities)]
        entities.append([entity.name, encoder.value(entity.record), list(entity.parents)])
    return {
        "format": FORMAT,
        "sources": [[s.name, s.text] for s in sources],
        "classes": encoder.class_names,
        "body": body,
        "entities": entities,
        "refuse": refuse_effect,
        "version": version,
    }


def decode(data: Any, sources: Sequence[Source]) -> Stored:
    """The lowered form, warnings and refusal an artifact holds; `_Unusable` if it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _Unusable("another format")
    if data.get("sources") != [[s.name, s.text] for s in sources]:
        raise _Unusable("other sources")  # edited, added, removed or renamed since
    refuse = data["refuse"]
    if not isinstance(refuse, str | None):
        raise _Unusable("refuse")
    version = data.get("version")
    if not isinstance(version, str | None):
        raise _Unusable("version")
    decoder = _Decoder(data["classes"], sources)
    entities = data.get("entities", [])
    if not isinstance(entities, list) or not all(
        isinstance(e, list) and len(e) == 3 and isinstance(e[0], str) for e in entities
    ):
        raise _Unusable("entities")
    decoder.entities = {name: t.EntityType(name) for name, _, _ in entities}
    lowered, warnings, program = (decoder.value(part) for part in data["body"])
    for name, record, parents in entities:  # in the encoder's order: references count on it
        made = decoder.value(record)
        if not isinstance(made, t.RecordType) or not all(isinstance(p, str) for p in parents):
            raise _Unusable(f"entity {name}")
        decoder.entities[name].declare(made, tuple(parents))
    from policydsl import ir

    if not isinstance(lowered, ir.Lowered) or not isinstance(warnings, list):
        raise _Unusable("body")
    if program is not None and not (
        isinstance(program, ir.Program)
        and program.indexed is True
        and (program.effects, program.default_effect, program.rules, program.outputs)
        == (lowered.effects, lowered.default_effect, lowered.rules, lowered.outputs)
        and (program.always, program.dead, program.flags)
        == (lowered.always, lowered.dead, lowered.flags)
    ):
        raise _Unusable("a program, not the lowered form's")
    if warnings:  # most policies have none: the diagnostics module is then never imported
        from policydsl.diagnostics import Diagnostic

        if not all(isinstance(w, Diagnostic) for w in warnings):
            raise _Unusable("warnings")
    return Stored(lowered, warnings, refuse, version, program)


class _Encoder:
    """Values as JSON: scalars as they are, everything else as an array tagged by its kind.

    An attrs object is written as its class's number and the values of its `__init__` fields,
    in their order; written again, as a reference to the first (objects are numbered in the
    order their writing ends, which is the order reading makes them)."""

    def __init__(self, sources: Sequence[Source]):
        self.sources = {id(s): i for i, s in enumerate(sources)}
        self.class_names: list[str] = []
        self.classes: dict[type, int] = {}
        self.written: dict[int, int] = {}  # id(object) -> its number
        self.entities: dict[str, t.EntityType] = {}  # the entity types written, by name

    def value(self, v: Any) -> Any:
        cls = type(v)
        if cls in _SCALARS:
            return v
        if cls is tuple:
            return [_TUPLE, *map(self.value, v)]
        if cls is list:
            return [_LIST, *map(self.value, v)]
        if cls is frozenset:
            return [_SET, *map(self.value, v)]
        if cls is dict:
            return [_DICT, *(self.value(x) for item in v.items() for x in item)]
        if v is t.MISSING:
            return [_MISSING]
        if cls in _TIME_TAGS:
            return [_TIME_TAGS[cls], int(v)]
        if cls is Span:
            if id(v.source) not in self.sources:
                raise _Unusable("a span into a text that is not one of the sources")
            return [_SPAN, self.sources[id(v.source)], v.start, v.end]
        if isinstance(v, enum.Enum):
            return [_ENUM, self._class(cls), v.name]
        if cls is t.EntityType:
            self.entities.setdefault(v.name, v)
            return [_ENTITY, v.name]
        if attrs.has(cls):
            number = self.written.get(id(v))
            if number is not None:
                return [_REF, number]
            fields = [self.value(getattr(v, f.name)) for f in attrs.fields(cls) if f.init]
            self.written[id(v)] = len(self.written)
            return [_OBJECT, self._class(cls), *fields]
        raise _Unusable(f"a {cls.__name__}")

    def _class(self, cls: type) -> int:
        number = self.classes.get(cls)
        if number is None:
            if cls.__module__ not in MODULES or "." in cls.__qualname__:
                raise _Unusable(f"class {cls.__qualname__} of {cls.__module__}")
            number = self.classes[cls] = len(self.class_names)
            self.class_names.append(f"{cls.__module__}:{cls.__qualname__}")
        return number


class _Decoder:
    """The encoder's inverse. It makes only the classes `MODULES` define, each through its
    constructor, with exactly the fields it declares."""

    def __init__(self, class_names: Any, sources: Sequence[Source]):
        if not isinstance(class_names, list):
            raise _Unusable("classes")
        self.makers = [_maker(name) for name in class_names]
        self.sources = sources
        self.made: list[Any] = []
        self.entities: dict[str, t.EntityType] = {}  # made before the body, declared after

    def value(self, v: Any) -> Any:
        cls = type(v)
        if cls is not list:
            if cls not in _SCALARS:
                raise _Unusable(f"a JSON {cls.__name__}")
            return v
        tag = v[0]
        if tag == _OBJECT:
            made = self.makers[v[1]]([self.value(x) for x in v[2:]])
            self.made.append(made)
            return made
        if tag == _TUPLE:
            return tuple([self.value(x) for x in v[1:]])
        if tag == _REF:
            return self.made[v[1]]
        if tag == _SPAN:
            return Span(self.sources[v[1]], v[2], v[3])
        if tag == _ENUM:
            return self.makers[v[1]]([v[2]])
        if tag == _LIST:
            return [self.value(x) for x in v[1:]]
        if tag == _SET:
            return frozenset([self.value(x) for x in v[1:]])
        if tag == _DICT:
            items = [self.value(x) for x in v[1:]]
            return dict(zip(items[::2], items[1::2], strict=True))
        if tag == _MISSING:
            return t.MISSING
        if tag == _ENTITY and len(v) == 2 and v[1] in self.entities:
            return self.entities[v[1]]
        if tag in _TIMES and len(v) == 2 and type(v[1]) is int:
            return _TIMES[tag](v[1])
        raise _Unusable(f"tag {tag!r}")


def _maker(name: Any) -> Callable[[list[Any]], Any]:
    """How to make an instance of the class `module:Name` from the values the encoder wrote."""
    if not isinstance(name, str) or name.count(":") != 1:
        raise _Unusable("a class name")
    module_name, qualname = name.split(":")
    if module_name not in MODULES or not qualname.isidentifier():
        raise _Unusable(f"class {name}")
    cls = getattr(importlib.import_module(module_name), qualname, None)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        members = cls.__members__

        def member(values: list[Any]) -> Any:
            return members[values[0]]

        return member
    if not isinstance(cls, type) or not attrs.has(cls):
        raise _Unusable(f"class {name}")
    fields = [f for f in attrs.fields(cls) if f.init]
    positional = sum(1 for f in fields if not f.kw_only)
    keywords = [f.alias for f in fields[positional:]]
    if any(not f.kw_only for f in fields[positional:]):
        raise _Unusable(f"class {name}: keyword fields before positional ones")

    def make(values: list[Any]) -> Any:
        if len(values) != len(fields):
            raise _Unusable(f"class {name}: {len(values)} values for {len(fields)} fields")
        if keywords:
            return cls(
                *values[:positional], **dict(zip(keywords, values[positional:], strict=True))
            )
        return cls(*values)

    return make
