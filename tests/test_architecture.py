"""The layering of `policydsl/`, read from each module's imports with `ast`.

Dependencies point one way (STYLE.md): the Lark tree stays inside the parser, the reference
interpreter and the compiled backend never lean on each other (so they stay two independent
witnesses of the semantics), and the CLI is the outermost layer.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import attrs
import pytest

from policydsl import checker, environment, typecheck, typesys

PACKAGE = Path(__file__).resolve().parent.parent / "policydsl"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))
MAX_LINES = 800

COMPILED = {"ir", "lower", "indexing", "codegen", "runtime", "evaluator", "contributions"}
FRONT_END = {
    "source",
    "diagnostics",
    "nodes",
    "expr_nodes",
    "syntax_nodes",
    "parser",
    "transform",
    "syntax_hints",
    "lark_grammar",
    "lalr",
    "item_regex",
}
BACK_END = {
    "checker",
    "entity_decls",
    "entity_check",
    "entity_data",
    "table_rows",
    "data_rows",
    "relations",
    "typed",
    "reason_templates",
    "plain_rules",
    "messages",
    "rule_memo",
    "environment",
    "inlining",
    "typecheck",
    "presence",
    "maps",
    "model",
    "checked_exprs",
    "analysis",
    "interp",
    "context",
    "decision",
    "engine",
    "loader",
    "property_check",
    *COMPILED,
    *{"smt", "smt_records", "verify", "policy_diff", "proof_commands", "lints", "coverage", "dot"},
}
# proofs: the solver's encoding reads the checked model, as the interpreter does
PROOFS = {"smt", "smt_records", "verify", "policy_diff", "proof_commands"}
# import nothing from the package
FOUNDATIONS = {
    "source",
    "typesys",
    "glob",
    "setops",
    "resources",
    "terminal",
    "codes",
    "version",
    "ipaddr",
    "builtin_names",
    "decimals",
    "datetimes",
    "regex_literals",
    "entities",
    "item_regex",
}
# running policies in production: around the engine, never inside it
SERVING = {"service", "reload", "decision_log", "metrics"}
# the command line's own modules: its options and commands, imported by it alone (and the
# proof commands it runs, which read `--entities` as the deciding commands do)
COMMAND_LINE = {"cli", "lsp_command", "entity_options"}
# the packages only the optional extras install (`policydsl[server]`, `[fast]`, `[dask]`)
COMPILER_INTERNALS = {"checker", "typecheck", "environment", "interp", "transform", "lalr"}
OPTIONAL = {"starlette", "uvicorn", "watchfiles", "orjson", "dask", "distributed"}
ROOT = "policydsl"  # the package's `__init__`: the public API


@cache
def _imports(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """(package modules, outside top-level names) that `module` imports, anywhere in the file:
    lazy imports inside functions count. `from policydsl import X` imports module `X` when there
    is one, and the package root (the public API) otherwise."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    local: set[str] = set()
    outside: set[str] = set()

    def add(dotted: str) -> None:
        head, _, rest = dotted.partition(".")
        if head == ROOT:
            local.add(rest.split(".")[0] if rest else ROOT)
        else:
            outside.add(head)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = ROOT if node.level else node.module or ""
            if node.level and node.module:
                base = f"{ROOT}.{node.module}"
            if base == ROOT:
                local.update(a.name if a.name in MODULES else ROOT for a in node.names)
            else:
                add(base)
    return frozenset(local), frozenset(outside)


def imports(module: str) -> frozenset[str]:
    """The package modules `module` imports (`ROOT` for the package itself)."""
    return _imports(module)[0]


def external(module: str) -> frozenset[str]:
    """The top-level names of everything else `module` imports: `lark`, `re`, `click`."""
    return _imports(module)[1]


def importers(target: str) -> set[str]:
    return {m for m in MODULES if target in imports(m)}


def test_imports_are_read() -> None:
    """A guard on the reader itself: known imports, a lazy one inside a function included."""
    assert {"parser", "checker", "interp", "engine", "cli"} <= set(MODULES)
    assert imports("parser") >= {"nodes", "transform"} and "lark" in external("parser")
    assert imports("syntax_hints") == {"lark_grammar"}
    assert imports("__main__") == {"cli"}


def test_interpreter_and_compiled_backend_are_independent() -> None:
    """`interp` reads the checked model, never the IR; the compiler never calls `interp`."""
    assert imports("interp").isdisjoint(COMPILED)
    leaning = {m for m in COMPILED & set(MODULES) if "interp" in imports(m)}
    assert not leaning, f"{sorted(leaning)} import `interp`"


def test_the_solver_encoding_is_a_third_witness() -> None:
    """`smt` encodes the checked model, never the IR nor either evaluator; only the proofs import
    it, and the package imports z3 nowhere but through `smt.load_z3` (an optional extra)."""
    for module in ("smt", "smt_records"):
        assert imports(module).isdisjoint(COMPILED | {"interp", "engine", "lower"}), module
    assert importers("smt") <= PROOFS | {"cli"}
    assert {m for m in MODULES if "z3" in external(m)} == set()
    assert importers("verify") <= {"proof_commands"}
    assert importers("policy_diff") <= {"proof_commands", "verify"}
    assert importers("proof_commands") <= {"cli"}


def test_only_the_parser_knows_lark() -> None:
    assert {m for m in MODULES if "lark" in external(m)} <= {"parser", "transform", "lark_grammar"}
    # the fast parse reads plain tables, and its item regexes are made from their patterns
    assert imports("lalr") <= {"item_regex"} and "lark" not in external("lalr")
    assert not imports("item_regex") and "lark" not in external("item_regex")


def _cycle_through(start: str, edges: Callable[[str], Iterable[str]]) -> list[str] | None:
    """An import path from `start` back to itself, if there is one (depth-first, iterative)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, path = stack.pop()
        for target in sorted(edges(module)):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def _package_edges(module: str) -> frozenset[str]:
    """Imports between modules; the package root re-exports the API, so it is left out."""
    return imports(module) - {ROOT} if module in MODULES else frozenset()


def test_cycle_finder_finds_a_cycle() -> None:
    """A guard on the search itself: a planted `a -> b -> c -> a` is found, a tree is not."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"b"}}
    assert _cycle_through("a", graph.__getitem__) == ["a", "b", "c", "a"]
    tree = {"a": {"b", "c"}, "b": {"c"}, "c": set()}
    assert _cycle_through("a", tree.__getitem__) is None


@pytest.mark.parametrize("module", [m for m in MODULES if m != "__main__"])
def test_no_import_cycles(module: str) -> None:
    """Imports form layers: no module reaches itself again, lazily or not."""
    cycle = _cycle_through(module, _package_edges)
    assert cycle is None, " -> ".join(cycle or ())


def test_the_compiled_backend_is_layered() -> None:
    """lower → indexing → codegen → evaluator, each a layer: the runtime (what generated code may
    name) leans on nothing of the compiler, and the engine reaches code generation only through
    the evaluator."""
    assert imports("runtime") <= FOUNDATIONS
    assert importers("codegen") == {"evaluator"}
    assert importers("indexing") == {"evaluator"}
    assert imports("lower").isdisjoint({"indexing", "codegen", "evaluator", "runtime"})
    assert imports("analysis").isdisjoint({"lower", "indexing", "codegen", "evaluator"})


def test_cli_is_the_outer_layer() -> None:
    """Nothing in the package imports the CLI but `python -m policydsl`."""
    assert importers("cli") <= {"__main__"}
    assert "cli" not in imports("__init__")


def test_the_command_lines_options_are_an_outer_layer() -> None:
    """`--entities FILE` is the CLI's: only it (and the proof commands it runs) reads it, and it
    leans on the engine's surface, never on serving or the editors."""
    assert importers("entity_options") <= {"cli", "proof_commands"}
    assert imports("entity_options").isdisjoint(SERVING | COMPILED | COMPILER_INTERNALS)
    assert set(MODULES) >= COMMAND_LINE and ROOT not in imports("entity_options")


def test_serving_is_a_layer_around_the_engine() -> None:
    """The service, reloading, decision logs and metrics lean on the engine's public surface;
    the core never imports them (the package root offers `PolicyHolder` on first use)."""
    for module in SERVING:
        assert importers(module) <= SERVING | {"cli", "__init__"}, module
        assert imports(module).isdisjoint(COMPILED | COMPILER_INTERNALS), module
    assert importers("service") <= {"cli"}


def test_optional_packages_stay_optional() -> None:
    """`import policydsl` needs lark, attrs and click alone: an extra's package is imported
    only by the module that serves it (lazily where the module is on the core's path)."""
    users = {m: external(m) & OPTIONAL for m in MODULES}
    assert {m for m, found in users.items() if found} <= {
        "service",
        "reload",
        "cli",
        "request_json",
    }
    assert users["service"] <= {"starlette", "uvicorn"} and users["reload"] <= {"watchfiles"}
    import subprocess
    import sys

    code = "import sys, policydsl; print(sorted(set(sys.modules) & " + repr(OPTIONAL) + "))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_front_end_never_imports_the_back_end() -> None:
    """Parsing does not depend on checking or deciding: the grammar can change behind it."""
    for module in FRONT_END:
        assert imports(module).isdisjoint(BACK_END), module


def test_foundations_import_nothing_from_the_package() -> None:
    """Nothing but `reprs`: the one `__repr__` of the attrs classes (so that attrs compiles none
    per class), which imports nothing of the package itself."""
    assert imports("reprs").isdisjoint({*MODULES, ROOT})
    for module in FOUNDATIONS:
        assert imports(module).isdisjoint({*MODULES, ROOT} - {"reprs"}), module


def test_core_never_imports_the_public_api() -> None:
    """The core builds the API; only the outer layers (CLI, test runner) use it."""
    assert importers(ROOT) <= {"cli", "testing", "__main__"}


@pytest.mark.parametrize("module", MODULES)
def test_module_size(module: str) -> None:
    """STYLE.md: keep modules under ~600 lines, split above ~800."""
    lines = len((PACKAGE / f"{module}.py").read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}.py has {lines} lines; split it"


# ---- the names generated code may use ---------------------------------------------------------

EVERY_HELPER = """\
enum Tag { a, b, c }
entity Grp in [Grp]
entity Who in Grp { boss: Who? }
context {
  who: Who?
  crowd: set<Who> = []
  labels: set<Tag> = []
  words: list<string> = []
  name: string = ""
  pattern: string = "*"
  n: int = 0
  items: list<{key: string  marks: set<Tag> = []}> = []
  source: ip = "10.0.0.1"
  score: decimal = 0.5
  scores: list<decimal> = []
  at: datetime = "2024-01-01"
  ttl: duration = 1h
  stamps: list<datetime> = []
  tagged: map<string, string>?
}
effects deny > allow default allow
rule grouped: deny {
  when has who and who in Grp::"g" and (some m in crowd: m in [Grp::"h"]) cite "1" reason "grp"
}
rule tagged_item: deny { when some i in items: i.marks contains a cite "1" reason "item" }
rule keyed: deny { when has tagged["app"] and tagged["app"] in values(tagged) cite "1" reason "m" }
rule inside: deny { when source in_range "10.0.0.0/8" cite "1" reason "inside" }
rule scored: deny { when score > 0.75 or 0.5 in scores cite "1" reason "score" }
rule timely: deny {
  when at + ttl > "2030-01-01" and date(at) == at and time_of_day(at) < 1h
    and year(at) + month(at) + day(at) + hour(at) + minute(at) + second(at) > 0
    and day_of_week(at, "+0100") > 1 and (some s in stamps: s < at)
  cite "1" reason "time"
}
rule spans: deny {
  when to_days(ttl) + to_hours(ttl) + to_minutes(ttl) + to_seconds(ttl) + to_milliseconds(ttl) > 0
  cite "1" reason "spans"
}
rule outside: deny { when not (source in_range "10.0.0.0/8") and n > 1 cite "1" reason "outside" }
rule bot: deny { when name matches "bot[0-9]" cite "1" reason "bot" }
rule not_crawler: allow { when not (name matches "crawler[0-9]") cite "1" reason "crawler" }
rule any_tag: deny { when labels contains_any [a, b] cite "1" reason "any" }
rule any_word: deny { when words contains_any [name, pattern] cite "1" reason "any word" }
rule all_tags: deny { when labels contains_all [a, c] cite "1" reason "all" }
rule named: deny { when name like pattern and name like "x*" cite "1" reason "like" }
rule quantified: deny { when some w in words: w starts_with "q" cite "1" reason "some" }
rule every: deny { when all w in words: w ends_with "z" and size(words) > 1 cite "1" reason "all" }
rule long_sum: deny { when SUM > 5 and PRODUCT > 1 cite "1" reason "sum" }
output echo: int {
  when decision == deny and (some r in fired: r.id == "named") => n
  otherwise => 0
}
""".replace("SUM", " + ".join(["n"] * 40)).replace("PRODUCT", " * ".join(["n"] * 40))


GENERATED = [
    pytest.param("stdlib", PACKAGE.parent / "stdlib_rules", id="stdlib"),
    pytest.param("doc_sharing", PACKAGE.parent / "examples" / "doc_sharing", id="doc_sharing"),
    *(
        pytest.param(name, PACKAGE.parent / "examples" / "gatekeeper" / name, id=name)
        for name in ("block-wildcard-ingress", "containerlimits", "disallowedrepos", "httpsonly")
    ),
    pytest.param("every_helper", EVERY_HELPER, id="every_helper"),
]


def locals_of(module: ast.Module) -> set[str]:
    """The names a generated module binds itself: parameters, assignments, loop variables and
    the functions it defines."""
    found: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            found.add(node.name)
    return found


OPTIONAL_FUNCTIONS = ("_rule_bits", "_flags_masks", "_outputs")


@pytest.mark.parametrize("backend", ["compiled", "naive"])
@pytest.mark.parametrize(("name", "policy"), GENERATED)
def test_generated_code_names_only_the_runtime_and_its_own(
    name: str, policy: str | Path, backend: str
) -> None:
    """Every name generated code reads is its own local, a constant it hoisted, or one the
    runtime module declares; and its namespace holds nothing else."""
    import policydsl
    from policydsl import runtime

    loaded = (
        policydsl.load(policy, backend=backend)
        if isinstance(policy, Path)
        else policydsl.loads(policy, backend=backend)
    )
    assert loaded.evaluator is not None
    generated = loaded.evaluator.generated
    own = locals_of(generated.module)
    read = {
        node.id
        for node in ast.walk(generated.module)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    hoisted = {n for n in generated.namespace if runtime.HOISTED.fullmatch(n)}
    assert read - own <= runtime.NAMES | hoisted, sorted(read - own - runtime.NAMES - hoisted)
    # what the module itself defines when it runs: always `_decide` and `_flags`, and the flags
    # split per rule or the outputs from the flags where the policy allows them
    functions = {f.name for f in generated.module.body if isinstance(f, ast.FunctionDef)}
    assert {"_decide", "_flags"} <= functions <= {"_decide", "_flags", *OPTIONAL_FUNCTIONS}
    assert set(generated.namespace) == {"__builtins__", *runtime.NAMES, *hoisted, *functions}
    assert own.isdisjoint(runtime.NAMES | hoisted)  # a local never hides a runtime name
    if name == "every_helper":  # the policy reaches every helper the runtime declares
        index_only = {"_network_keys", "_grams"} if backend == "naive" else set()
        assert set(runtime.HELPERS) - index_only <= read


def test_the_runtime_namespace_refuses_undeclared_names() -> None:
    from policydsl import runtime

    bound = dict.fromkeys(runtime.BOUND)
    with pytest.raises(ValueError, match="binds exactly"):
        runtime.namespace({**bound, "_open": open}, {})
    with pytest.raises(ValueError, match="hoisted constants"):
        runtime.namespace(bound, {"open": open})


def test_expressions_are_checked_against_one_immutable_environment() -> None:
    """The checker builds the environment and uses an expression checker; it does not extend
    one, and nothing can change the environment once built."""
    assert not issubclass(checker._Checker, typecheck.ExprChecker)
    env = environment.Environment(enums={"Role": typesys.EnumType("Role", ("a",))})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        env.schema = typesys.RecordType("context", ())  # type: ignore[misc]
    with pytest.raises(TypeError):
        env.enums["Other"] = typesys.EnumType("Other", ())  # type: ignore[index]


def test_nodes_reads_every_node_of_both_modules() -> None:
    """`nodes` re-exports every class of `expr_nodes` and `syntax_nodes` (the latter made on first
    use), and `syntax_nodes.NAMES` is exactly what it defines."""
    from policydsl import expr_nodes, nodes, syntax_nodes

    def defined(module: object) -> set[str]:
        return {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == getattr(module, "__name__", "")
        }

    assert defined(expr_nodes) | defined(syntax_nodes) <= set(nodes.__all__)
    assert defined(syntax_nodes) <= syntax_nodes.NAMES <= set(nodes.__all__)
    assert syntax_nodes.NAMES.isdisjoint(defined(expr_nodes))
    for name in nodes.__all__:
        assert getattr(nodes, name) is getattr(
            syntax_nodes if name in syntax_nodes.NAMES else expr_nodes, name
        )


EDITOR = {
    "lsp_command",
    "lsp_server",
    "lsp_workspace",
    "pieces",
    "symbols",
    "hover",
    "completion",
    "pygments_lexer",
}


def test_editor_support_is_an_outer_layer() -> None:
    """The language server and the lexer lean on the core; the core never on them, and only the
    CLI starts the server. The optional packages stay in the one module that needs each."""
    assert set(MODULES) >= EDITOR
    for module in set(MODULES) - EDITOR - {"cli", "__main__"}:
        assert imports(module).isdisjoint(EDITOR), module
    assert importers("lsp_command") == {"cli"}
    assert importers("lsp_server") == {"lsp_command"}
    assert importers("pygments_lexer") == set()  # found through its entry point
    assert {m for m in MODULES if external(m) & {"pygls", "lsprotocol"}} == {"lsp_server"}
    assert {m for m in MODULES if "pygments" in external(m)} == {"pygments_lexer"}
    assert all(ROOT not in imports(m) for m in EDITOR)


def test_model_reads_every_checked_expression() -> None:
    """`model` re-exports each name of `checked_exprs` (the same objects) beside the policy's
    records: the IR and the code generator import the expressions alone (a compiled artifact's
    load never makes the records: `test_artifact`)."""
    from policydsl import checked_exprs, model

    public = {n for n in vars(checked_exprs) if not n.startswith("_")}
    defined = {
        n
        for n, v in vars(checked_exprs).items()
        if isinstance(v, type) and v.__module__ == checked_exprs.__name__
    }
    assert len(defined) > 15
    for name in defined | {"Expr", "map_children", "children", "const_value", "NOT_CONST"}:
        assert name in public and getattr(model, name) is getattr(checked_exprs, name), name
