"""The engine: a loaded policy set and its `decide()`, on the backend the caller chose.

A fresh process pays for every module it imports, so this module imports at first use what
loading or deciding does not always need: the parser and checker (`loader`: a standard library
loaded from its compiled artifact needs neither), the artifact's reader, the compiled backend,
the cost model, the interpreter and the explainer.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policydsl import resources
from policydsl.context import ContextError, validate
from policydsl.decision import Decision, EvaluationError
from policydsl.entities import EMPTY_STORE, EntityStore
from policydsl.gc_pause import collection_paused
from policydsl.source import Source

if TYPE_CHECKING:
    from policydsl import ir
    from policydsl.cost import CostReport
    from policydsl.diagnostics import Diagnostic
    from policydsl.evaluator import CompiledEvaluator
    from policydsl.loader import Loaded, PolicyPath
    from policydsl.model import CheckedPolicy

BACKENDS = ("compiled", "interpreted", "naive")
DEFAULT_BACKEND = "compiled"


class Policy:
    """A checked policy set, ready to decide requests. Compile once, decide many times.

    Backends: `compiled` (the default) runs Python generated from the indexed decision-tree IR;
    `naive` generates code from the unindexed IR (the baseline the index is measured against);
    `interpreted` walks the checked model, the semantic ground truth. All decide identically.
    """

    def __init__(
        self,
        checked: CheckedPolicy,
        *,
        backend: str = DEFAULT_BACKEND,
        fail_closed: bool = False,
        warnings: Sequence[Diagnostic] = (),
        sources: Sequence[Source] = (),
        lowered: ir.Lowered | None = None,
    ):
        self._checked: CheckedPolicy | None = checked
        self.version: str | None = checked.version  # `version "..."`, the author's
        self._start(backend, fail_closed, warnings, sources, lowered, checked.refuse_effect)

    @classmethod
    def _prebuilt(
        cls,
        lowered: ir.Lowered,
        refuse_effect: str | None,
        *,
        backend: str,
        fail_closed: bool,
        warnings: Sequence[Diagnostic],
        sources: Sequence[Source],
        version: str | None = None,
        program: ir.Program | None = None,
    ) -> Policy:
        """A policy from its lowered form alone (a compiled artifact), and its indexed program
        when there is one: the checked model, which the compiled backends never read, is made
        from the sources on first use (`checked`)."""
        policy = cls.__new__(cls)
        policy._checked = None
        policy.version = version
        policy._start(backend, fail_closed, warnings, sources, lowered, refuse_effect, program)
        return policy

    def _start(
        self,
        backend: str,
        fail_closed: bool,
        warnings: Sequence[Diagnostic],
        sources: Sequence[Source],
        lowered: ir.Lowered | None,
        refuse_effect: str | None,
        program: ir.Program | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        self.sources = tuple(sources)  # before `checked`, which a prebuilt policy makes from them
        if fail_closed and refuse_effect is None:
            from policydsl.diagnostics import PolicyError

            raise PolicyError([no_refusal(self.checked)])
        self.backend = backend
        self.fail_closed = fail_closed
        self._refuse_effect = refuse_effect
        self.warnings = list(warnings)
        self._lowered = lowered
        self._entities: EntityStore = EMPTY_STORE
        self.evaluator: CompiledEvaluator | None = None
        if backend == "interpreted":
            self._decide: Callable[[Mapping[str, Any]], Decision] = self._interpreted
        else:
            from policydsl.evaluator import CompiledEvaluator

            filename = sources[0].name if sources else "<policy>"
            indexed = backend == "compiled"
            self.evaluator = CompiledEvaluator(
                self.lowered(),
                indexed=indexed,
                filename=filename,
                program=program if program is not None and program.indexed == indexed else None,
            )
            self._decide = self.evaluator.decide
        self._show_values()
        if not fail_closed:
            # the hot path: calling the backend directly saves a frame per decision. mypy forbids
            # assigning to a method, and compares the callable with its unbound signature
            self.decide = self._decide  # type: ignore[method-assign,assignment]

    def _show_values(self) -> None:
        """Reasons that show request values are rendered after deciding, for the decisions
        that fire their rules (`messages`): the same way whichever backend decided."""
        if self.backend == "interpreted":
            rules: Sequence[Any] = self.checked.rules
            schema = self.checked.schema
        else:
            rules, schema = self.lowered().rules, self.lowered().schema
        shown = {r.id: r.message for r in rules if r.message is not None}
        self._messages = shown  # `decide_with` renders them too
        if shown:
            from policydsl.messages import with_messages

            def normalised(context: Mapping[str, Any]) -> dict[str, Any]:
                return validate(schema, context, self._entities)

            self._decide = with_messages(self._decide, shown, normalised)

    @property
    def checked(self) -> CheckedPolicy:
        """The checked model: the loader's, else (a policy from a compiled artifact) made now
        from the sources, which the artifact was made from, and kept."""
        if self._checked is None:
            from policydsl.loader import check_sources

            loaded = check_sources(self.sources)
            if loaded.checked is None:  # the artifact was made from these very sources
                from policydsl.diagnostics import PolicyError

                raise PolicyError(loaded.diagnostics)
            self._checked = loaded.checked
        return self._checked

    def lowered(self) -> ir.Lowered:
        """The policy's lowered form: the one the loader made, else made now (and kept)."""
        if self._lowered is None:
            from policydsl import lower

            self._lowered = lower.lower(self.checked)
        return self._lowered

    @functools.cached_property
    def fingerprint(self) -> str:
        """What identifies this policy wherever it runs: a hash of its sources, the IR version
        and the policydsl version (`fingerprint.of`)."""
        from policydsl.fingerprint import of

        return of(self.sources)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the sources and the entity data in use: a worker process rebuilds the same
        policy, deciding with the same entities."""
        texts = tuple((s.name, s.text) for s in self.sources)
        if not self._entities:
            return (_rebuild, (texts, self.backend, self.fail_closed))
        return (_rebuild, (texts, self.backend, self.fail_closed, self._entities))

    def _interpreted(self, context: Mapping[str, Any]) -> Decision:
        from policydsl import interp

        return interp.decide(self.checked, validate(self.checked.schema, context, self._entities))

    # ---- entities ---------------------------------------------------------------------------

    @property
    def entities(self) -> EntityStore:
        """The entity data decisions read (empty until `load_entities` or `use_entities`)."""
        return self._entities

    def load_entities(self, data: Any) -> EntityStore:
        """Validate entity data (Cedar's JSON entity format: a list of `uid`, `attrs`,
        `parents`) against the policy's `entity` declarations, close its hierarchy, and decide
        with it from now on (`use_entities`). `EntityDataError` names the entity and attribute
        at fault; the data in use until then stays in use."""
        store = self.entity_store(data)
        self.use_entities(store)
        return store

    def load_entities_file(self, path: str | Path) -> EntityStore:
        """`load_entities` from a JSON file (a key given twice in an object is refused)."""
        from policydsl import entity_data

        store = entity_data.load_file(self.checked.entities, path)
        self.use_entities(store)
        return store

    def entity_store(self, data: Any) -> EntityStore:
        """A validated store of `data`, not put in use: for `decide_with`."""
        from policydsl import entity_data

        return entity_data.load(self.checked.entities, data)

    def use_entities(self, store: EntityStore) -> None:
        """Decide with `store` from now on: swapped whole, so decisions running meanwhile read
        the old store or the new one, never a mix. `EntityDataError` for a store another
        policy's declarations validated."""
        from policydsl import entity_data

        entity_data.check_store(self._declared, store)
        self._entities = store
        if self.evaluator is not None:
            self.evaluator.use_entities(store)

    @functools.cached_property
    def _declared(self) -> dict[str, Any]:
        """The entity declarations a store must have been validated against (`check_store`)."""
        from policydsl import entity_data

        return entity_data.declared(self.checked.entities)

    def decide_with(self, context: Mapping[str, Any], entities: EntityStore) -> Decision:
        """Decide one request against its own entity data (as Cedar passes entities with each
        request), not the policy's: the request is validated in full each time."""
        try:
            if entities is not self._entities:  # the store in use was compared already
                from policydsl import entity_data

                entity_data.check_store(self._declared, entities)
            normalised = validate(self.checked.schema, context, entities)
            decide: Callable[[Mapping[str, Any]], Decision]
            if self.evaluator is None:
                from policydsl import interp

                decide = functools.partial(interp.decide, self.checked)
            else:
                decide = functools.partial(self.evaluator.decide_normalised, store=entities)
            if self._messages:  # reasons that show values, read in this request's entities
                from policydsl.messages import with_messages

                decide = with_messages(decide, self._messages, lambda _: normalised)
            return decide(normalised)
        except Exception as err:
            if not self.fail_closed:
                raise
            return self._refusal(err)

    def decide(self, context: Mapping[str, Any]) -> Decision:
        """Decide one request; `ContextError` if it breaks the schema.

        In fail-closed mode an invalid context, an error while evaluating, or any exception the
        caller's objects raise while they are read is refused with the effect the policy declares
        (`refuse EFFECT`): nothing but that decision ever comes out.
        """
        try:
            return self._decide(context)
        except Exception as err:  # fail-closed: whatever the caller's objects raise
            if not self.fail_closed:
                raise
            return self._refusal(err)

    def cost(self) -> CostReport:
        """The static cost bounds, in elementary steps: of each rule, of validating a request,
        of the outputs and of a whole decision (`cost().decision`), from the declared maxima."""
        from policydsl.cost import policy_cost

        return policy_cost(self.checked)

    def compiled(self, emit: str = "ir") -> str:
        """The compiled form: the IR's text dump (`ir`) or the generated Python (`python`)."""
        from policydsl.evaluator import CompiledEvaluator
        from policydsl.ir import dump

        evaluator = self.evaluator or CompiledEvaluator(self.lowered())
        if emit == "ir":
            return dump(evaluator.program)
        if emit == "python":
            return evaluator.generated.source()
        raise ValueError(f"unknown form {emit!r}; choose `ir` or `python`")

    def _refusal(self, err: Exception) -> Decision:
        """Fail-closed: the declared refusal, the error as reason, outputs of an empty request."""
        refuse = self._refuse_effect
        assert refuse is not None  # by __init__
        message = _describe(err)
        return Decision(refuse, (), (), (), (message,), self._refusal_outputs, error=message)

    @functools.cached_property
    def _refusal_outputs(self) -> tuple[tuple[str, Any], ...]:
        """The outputs of a refusal: those of an empty request, the same for every refusal, so
        derived once, not per refused request."""
        refuse = self.checked.refuse_effect
        assert refuse is not None  # by __init__
        from policydsl import interp

        try:
            defaults = validate(self.checked.schema, {})
            return interp.derive_outputs(self.checked, defaults, refuse, [])
        except Exception:  # the refusal itself must never fail: outputs are then unknown
            return tuple((o.name, None) for o in self.checked.outputs)

    def explain(self, context: Mapping[str, Any], rules: Sequence[str] = ()) -> str:
        """A readable account of the decision: each fired rule with its reason, its clauses and
        the tests it passed with the values they read; for each rule named in `rules` that did
        not fire, the tests it failed (a "why not")."""
        from policydsl.explain import as_text

        return as_text(self.explanation(context, rules))

    def explanation(self, context: Mapping[str, Any], rules: Sequence[str] = ()) -> dict[str, Any]:
        """`explain` as JSON data: the decision's fields, then `explained`, one entry per rule
        with `id, effect, fired, file, line, reason, cite` and its `tests` (`test`, `value`,
        `reads`)."""
        from policydsl.explain import explanation

        store = self._entities  # the one the decision reads, whatever a reload swaps in meanwhile
        return explanation(self.checked, self.decide(context), context, rules, store)


def no_refusal(checked: CheckedPolicy) -> Diagnostic:
    """Fail-closed mode needs the policy to say which effect refuses: guessing (the strongest
    effect) answers `allow` when `allow` is strongest."""
    from policydsl.codes import Code
    from policydsl.diagnostics import Diagnostic

    order = " > ".join(checked.effects)
    return Diagnostic(
        Code.NO_REFUSAL,
        "fail-closed mode needs the policy to declare which effect refuses an invalid request",
        checked.effects_span,
        help=f"end the `effects` line with `refuse EFFECT`: "
        f"`effects {order} default {checked.default_effect} refuse EFFECT`, EFFECT being what an "
        f"invalid request gets ({' or '.join(checked.effects)})",
    )


def _describe(err: Exception) -> str:
    """The error as the refusal's reason. A `ContextError` or `EvaluationError` says it all; any
    other exception came from the caller's objects, whose `str` may itself raise."""
    from policydsl.entity_data import EntityDataError  # a store of other declarations

    if isinstance(err, ContextError | EvaluationError | EntityDataError):
        return str(err)
    return f"invalid context: reading it raised {type(err).__name__}"


def _paths(path: PolicyPath | Sequence[PolicyPath]) -> list[PolicyPath]:
    return [path] if isinstance(path, str | Path) else list(path)


def load(
    path: PolicyPath | Sequence[PolicyPath],
    *,
    backend: str = DEFAULT_BACKEND,
    fail_closed: bool = False,
) -> Policy:
    """Compile a `.policy` file, a folder of them, or a list of both; `PolicyError` on errors."""
    from policydsl.loader import load_checked

    with collection_paused():  # the generated code too: see `loader`
        return _policy(load_checked(_paths(path)), backend=backend, fail_closed=fail_closed)


def loads(text: str, *, name: str = "<string>", **options: Any) -> Policy:
    """Compile a policy held in a string."""
    from policydsl.loader import check_sources

    with collection_paused():
        return _policy(check_sources([Source(name, text)]), **options)


def _policy(loaded: Loaded, **options: Any) -> Policy:
    if loaded.checked is None:
        from policydsl.diagnostics import PolicyError

        raise PolicyError(loaded.diagnostics)
    return Policy(
        loaded.checked,
        warnings=loaded.diagnostics,
        sources=loaded.sources,
        lowered=loaded.lowered,
        **options,
    )


_UNPICKLED: collections.OrderedDict[tuple[str, str, bool, str], Policy] = collections.OrderedDict()
_UNPICKLED_MAX = 8  # policies a process keeps for the next unpickling of the same one
_unpickled_lock = threading.Lock()


def _rebuild(
    texts: tuple[tuple[str, str], ...],
    backend: str,
    fail_closed: bool,
    entities: EntityStore | None = None,
) -> Policy:
    """Unpickle: the policy of these sources, compiled once per process. A worker that receives
    the same policy again (a task per partition) gets the one it built, found by fingerprint
    (computed here from the texts, never taken on trust); policies are safe to share. A policy
    pickled with entity data is kept with that store, found by the store's token (which its
    pickles keep): the same policy with other entity data is another policy."""
    from policydsl.fingerprint import of
    from policydsl.loader import check_sources

    sources = [Source(name, text) for name, text in texts]
    key = (of(sources), backend, fail_closed, "" if entities is None else entities.token)
    with _unpickled_lock:
        found = _UNPICKLED.get(key)
        if found is not None:
            _UNPICKLED.move_to_end(key)
            return found
    with collection_paused():
        policy = _policy(check_sources(sources), backend=backend, fail_closed=fail_closed)
    if entities is not None:
        policy.use_entities(entities)
    with _unpickled_lock:
        _UNPICKLED[key] = policy
        while len(_UNPICKLED) > _UNPICKLED_MAX:
            _UNPICKLED.popitem(last=False)
    return policy


def compile_policy(
    path: PolicyPath | Sequence[PolicyPath], *, emit: str = "ir", naive: bool = False
) -> str:
    """`policyc compile`: the IR dump or the generated Python of a policy set, indexed or (with
    `naive`) the unindexed baseline."""
    return load(path, backend="naive" if naive else "compiled").compiled(emit)


def load_stdlib(*, backend: str = DEFAULT_BACKEND, fail_closed: bool = False) -> Policy:
    """The standard library: the Usage Policy as shipped in `stdlib_rules/`.

    On a compiled backend, from the artifact of an earlier load when the sources and the
    compiler are unchanged (see `artifact`): no parsing, checking or lowering, the same policy.
    """
    folder = resources.stdlib_path()
    if backend == "interpreted":  # it reads the checked model, which the artifact does not hold
        return load(folder, backend=backend, fail_closed=fail_closed)
    from policydsl import artifact

    with collection_paused():
        found = artifact.read_set(folder)
        stored = artifact.load(found) if found is not None else None
        if found is not None and stored is not None:
            try:
                return Policy._prebuilt(
                    stored.lowered,
                    stored.refuse_effect,
                    backend=backend,
                    fail_closed=fail_closed,
                    warnings=stored.warnings,
                    sources=found.sources,
                    version=stored.version,
                    program=stored.program,
                )
            except Exception:  # whatever an artifact makes fail, compiling afresh decides
                pass
        policy = load(folder, backend=backend, fail_closed=fail_closed)
        if found is not None:
            refuse = policy.checked.refuse_effect
            lowered = policy.lowered()
            program = policy.evaluator.program if policy.evaluator is not None else None
            artifact.store(
                found,
                lowered,
                policy.warnings,
                refuse,
                policy.sources,
                version=policy.version,
                program=program if program is not None and program.indexed else None,
            )
        return policy


def check(paths: Sequence[PolicyPath], *, max_cost: int | None = None) -> list[Diagnostic]:
    """Every diagnostic for a policy set (errors and warnings); never raises for policy problems.

    Rules whose static cost bound is past `max_cost` steps (default `cost.DEFAULT_MAX_COST`) are
    warnings (W501; W502 for the whole decision).
    """
    return check_with_cost(paths, max_cost=max_cost)[0]


def check_with_cost(
    paths: Sequence[PolicyPath], *, max_cost: int | None = None
) -> tuple[list[Diagnostic], CostReport | None]:
    """`check`, with the cost bounds of the policy set (None when it has errors)."""
    from policydsl.cost import DEFAULT_MAX_COST, cost_diagnostics, policy_cost
    from policydsl.diagnostics import Diagnostic
    from policydsl.loader import load_checked

    loaded = load_checked(list(paths) or [resources.stdlib_path()])
    if loaded.checked is None:
        return loaded.diagnostics, None
    report = policy_cost(loaded.checked)
    limit = DEFAULT_MAX_COST if max_cost is None else max_cost
    found = cost_diagnostics(report, loaded.checked, limit)
    return sorted(loaded.diagnostics + found, key=Diagnostic.sort_key), report


def stdlib_path() -> Path:
    return resources.stdlib_path()
