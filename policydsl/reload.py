"""Hot reload: a holder of the policy in force, swapped whole when its files change and check.

A service reads `holder.current` once per request and decides with that object, so a decision
and the fingerprint reported with it always come from one fully built policy; a reload builds
the new policy beside the old one and replaces it in a single assignment. A version that fails
to check is rejected with its diagnostics and the old one keeps serving. Reloads come from a
call (`reload()`), a signal (`reload_on_signal`) or the files changing (`watch`: `watchfiles`
when installed, polling the files' sizes and times otherwise).
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import attrs

from policydsl import fingerprint, resources, strict_json
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.engine import DEFAULT_BACKEND, Policy, no_refusal
from policydsl.entities import EntityStore
from policydsl.entity_data import MAX_DATA_BYTES as MAX_ENTITY_BYTES
from policydsl.entity_data import EntityDataError
from policydsl.loader import check_sources, is_data, policy_files
from policydsl.parser import read_source
from policydsl.source import Source

log = logging.getLogger("policydsl.reload")

MAX_LOGGED = 5  # errors of a rejected version written to the log (all are in `Reload`)

Outcome = Literal["loaded", "unchanged", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("loaded", "unchanged", "rejected")


@attrs.frozen
class Reload:
    """What one reload did: `loaded` a new version, found the files `unchanged` (same
    fingerprint: nothing rebuilt), or `rejected` them (`diagnostics` say why; the policy in
    force is still the one before). `fingerprint` and `version` are those of the files read,
    `None` when they could not all be read; `seconds` is how long the reload took."""

    outcome: Outcome
    at: float  # seconds since the epoch
    seconds: float
    fingerprint: str | None
    version: str | None
    diagnostics: tuple[Diagnostic, ...] = ()
    trigger: str = "call"
    entities: int | None = None  # the entities in force after it (None: no --entities file)

    @property
    def ok(self) -> bool:
        return self.outcome != "rejected"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "at": _rfc3339(self.at),
            "seconds": round(self.seconds, 6),
            "trigger": self.trigger,
            "fingerprint": self.fingerprint,
            "version": self.version,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            **({} if self.entities is None else {"entities": self.entities}),
        }


def _rfc3339(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"


class PolicyHolder:
    """The policy in force for a set of `.policy` files or folders (default: the standard
    library), reloaded on demand; thread-safe.

    `current` is the policy to decide with (None until one has loaded); `reload()` reads the
    files, and when they check, swaps the new policy in atomically; `last` is the last reload's
    outcome and `loaded_at` when the policy in force was loaded. `on_reload` callbacks (metrics,
    logs) receive every `Reload`, from whichever thread made it.
    """

    def __init__(
        self,
        paths: Sequence[str | Path] = (),
        *,
        backend: str = DEFAULT_BACKEND,
        fail_closed: bool = False,
        load: bool = True,
        entities: str | Path | None = None,
    ):
        self.paths = tuple(Path(p) for p in paths) or (resources.stdlib_path(),)
        # entity data (Cedar's JSON entity list), reloaded with the policy: `_entity_digest` is
        # the hash of the bytes in force, so an unchanged file is not validated again
        self.entities = None if entities is None else Path(entities)
        self._entity_digest: str | None = None
        self.backend = backend
        self.fail_closed = fail_closed
        self.current: Policy | None = None
        self.loaded_at: float | None = None
        self.last: Reload | None = None
        self.on_reload: list[Callable[[Reload], None]] = []
        self._lock = threading.Lock()  # one reload at a time; deciding never takes it
        self._watcher: _Watcher | None = None
        if load:
            self.reload(trigger="start")

    def files(self) -> list[Path]:
        """The `.policy` files the paths name now (folders searched as `load` does), and the
        data files of the policy in force's tables (`from "rows.json"`)."""
        entities = [] if self.entities is None else [self.entities]
        return policy_files(list(self.paths))[0] + self.data_files() + entities

    def data_files(self) -> list[Path]:
        """The data files the policy in force reads its tables' rows from."""
        current = self.current
        return [Path(s.name) for s in current.sources if is_data(s)] if current else []

    def reload(self, *, trigger: str = "call") -> Reload:
        """Read and check the files; swap the new policy in when they check and differ from the
        one in force. Never raises for a bad policy: the outcome says what happened."""
        with self._lock:
            started = time.monotonic()
            sources, diagnostics = self._read()
            data, data_digest = self._read_entities(diagnostics)
            unread = any(d.severity == "error" for d in diagnostics)
            digest = None if unread else fingerprint.of(sources)
            version: str | None = None
            outcome: Outcome
            current = self.current
            same = current is not None and digest == current.fingerprint
            if unread:
                outcome = "rejected"
            elif same and data_digest == self._entity_digest:
                assert current is not None
                outcome, version = "unchanged", current.version
            else:
                policy, diagnostics = (current, []) if same else self._build(sources)
                store = None if policy is None else self._entity_store(policy, data, diagnostics)
                if policy is None or (self.entities is not None and store is None):
                    outcome = "rejected"
                else:
                    outcome, version = "loaded", policy.version
                    if store is not None:  # on the policy in force: swapped whole, atomically
                        policy.use_entities(store)
                        self._entity_digest = data_digest
                    self.current = policy  # the swap: one assignment, the policy complete
                    self.loaded_at = time.time()
            result = Reload(
                outcome,
                time.time(),
                time.monotonic() - started,
                digest,
                version,
                tuple(diagnostics),
                trigger,
                None
                if self.entities is None or self.current is None
                else len(self.current.entities),
            )
            self.last = result
        self._report(result)
        return result

    def _read(self) -> tuple[list[Source], list[Diagnostic]]:
        """Every source, read once: the fingerprint and the build see the same bytes."""
        files, diagnostics = policy_files(list(self.paths))
        sources: list[Source] = []
        for path in files:
            source = read_source(path)
            if isinstance(source, Diagnostic):
                diagnostics.append(source)
            else:
                sources.append(source)
        for path in self.data_files():  # an edit to one alone changes the fingerprint
            data = read_source(path)
            if isinstance(data, Source):  # else the build reports it, where the table names it
                sources.append(data)
        return sources, diagnostics

    def _read_entities(self, diagnostics: list[Diagnostic]) -> tuple[Any, str | None]:
        """The entity file's data (parsed JSON) and the hash of its bytes; a file that cannot
        be read or parsed adds its diagnostic (the reload is then rejected)."""
        if self.entities is None:
            return None, None
        path = self.entities
        try:
            if path.stat().st_size > MAX_ENTITY_BYTES:
                raise OSError(f"larger than {MAX_ENTITY_BYTES:,} bytes")
            raw = path.read_bytes()
            return strict_json.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()
        except RecursionError:
            problem = "the JSON nests too deeply"
        except OSError as err:
            problem = f"cannot read it: {err.strerror or err}"
        except ValueError as err:  # not UTF-8, not JSON, a key given twice
            problem = f"not valid JSON: {err}"
        message = f"{path}: invalid entity data: {problem}"
        diagnostics.append(Diagnostic(Code.DATA_NOT_ROWS, message))
        return None, None

    def _entity_store(
        self, policy: Policy, data: Any, diagnostics: list[Diagnostic]
    ) -> EntityStore | None:
        """The store of the entity data for `policy`; None, with a diagnostic naming the
        entity and attribute, when the data breaks its declarations (or there is no file)."""
        if self.entities is None:
            return None
        try:
            return policy.entity_store(data)
        except EntityDataError as err:
            diagnostics.append(Diagnostic(Code.DATA_NOT_ROWS, f"{self.entities}: {err}"))
            return None

    def _build(self, sources: list[Source]) -> tuple[Policy | None, list[Diagnostic]]:
        loaded = check_sources(sources)
        if loaded.checked is None:
            return None, loaded.diagnostics
        if self.fail_closed and loaded.checked.refuse_effect is None:
            return None, [no_refusal(loaded.checked)]
        policy = Policy(
            loaded.checked,
            backend=self.backend,
            fail_closed=self.fail_closed,
            warnings=loaded.diagnostics,
            sources=loaded.sources,
            lowered=loaded.lowered,
        )
        return policy, loaded.diagnostics

    def _report(self, result: Reload) -> None:
        level = logging.WARNING if result.outcome == "rejected" else logging.INFO
        errors = sum(d.severity == "error" for d in result.diagnostics)
        log.log(
            level,
            "policy %s (%s%s) by %s in %.3fs%s",
            result.outcome,
            f"version {result.version}, " if result.version else "",
            fingerprint.short(result.fingerprint) if result.fingerprint else "unread",
            result.trigger,
            result.seconds,
            f": {errors} error(s)" if errors else "",
        )
        errors_shown = [d for d in result.diagnostics if d.severity == "error"][:MAX_LOGGED]
        for diagnostic in errors_shown:
            where = (
                f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}: " if diagnostic.file else ""
            )
            log.warning("  %s%s", where, diagnostic.message)
        for callback in list(self.on_reload):
            try:
                callback(result)
            except Exception:  # a metrics hook must not break reloading
                log.exception("on_reload callback failed")

    # ---- what triggers a reload ---------------------------------------------------------------

    def reload_on_signal(self, signum: int = signal.SIGHUP) -> None:
        """Reload (in a thread of its own) when the process receives `signum`; call from the
        main thread, as Python requires of signal handlers."""

        def handler(_signum: int, _frame: FrameType | None) -> None:
            threading.Thread(target=self.reload, kwargs={"trigger": "signal"}, daemon=True).start()

        signal.signal(signum, handler)

    def watch(self, *, debounce: float = 0.2, poll: float | None = None) -> None:
        """Reload whenever a file under the paths changes (a burst of writes is one reload,
        `debounce` seconds after it settles). `watchfiles` is used when it is installed and
        `poll` is None; otherwise the files are polled every `poll` (default 1) seconds."""
        if self._watcher is not None:
            return
        self._watcher = _Watcher(self, debounce, poll)
        self._watcher.start()

    def stop_watching(self, timeout: float = 5.0) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop(timeout)


class _Watcher:
    """A daemon thread that reloads the holder when its files change."""

    def __init__(self, holder: PolicyHolder, debounce: float, poll: float | None):
        self.holder = holder
        self.debounce = debounce
        self.poll = poll
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="policydsl-watch", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        try:
            if self.poll is None:
                try:
                    import watchfiles
                except ImportError:
                    pass
                else:
                    return self._watchfiles(watchfiles)
            self._polling(self.poll or 1.0)
        except Exception:  # the watcher dies, the service keeps serving: say so
            log.exception("watching the policy files failed; reload by signal or HTTP instead")

    def _watchfiles(self, watchfiles: Any) -> None:
        # a file's folder, not the file: an editor that saves by renaming replaces the file
        entities = [] if self.holder.entities is None else [self.holder.entities]
        paths = [*self.holder.paths, *self.holder.data_files(), *entities]
        targets = sorted({str(p if p.is_dir() else p.parent) for p in paths})
        named = {os.path.abspath(p) for p in entities}  # the entity file, whatever its suffix
        for _changes in watchfiles.watch(
            *targets,
            watch_filter=lambda _change, path: (
                path.endswith((".policy", ".json")) or os.path.abspath(path) in named
            ),
            stop_event=self.stopping,
            debounce=int(self.debounce * 1000),
            step=50,
            yield_on_timeout=False,
            raise_interrupt=False,
        ):
            if self.stopping.is_set():
                return
            self.holder.reload(trigger="watch")

    def _polling(self, interval: float) -> None:
        seen = _snapshot(self.holder)
        while not self.stopping.wait(interval):
            now = _snapshot(self.holder)
            if now == seen:
                continue
            while not self.stopping.wait(self.debounce):  # until a burst of writes settles
                settled = _snapshot(self.holder)
                if settled == now:
                    break
                now = settled
            seen = now
            self.holder.reload(trigger="watch")


def _snapshot(holder: PolicyHolder) -> dict[str, tuple[int, int]]:
    """Each policy file's (size, modification time in ns): what polling compares."""
    found: dict[str, tuple[int, int]] = {}
    for path in holder.files():
        try:
            stat = os.stat(path)
        except OSError:
            continue
        found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found
