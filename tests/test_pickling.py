"""Errors cross process boundaries: `ContextError`, `PolicyError`, `EvaluationError` and
`Diagnostic` round-trip through pickle with their attributes, so one invalid request cannot kill
a `multiprocessing` pool."""

from __future__ import annotations

import multiprocessing
import pickle
from typing import Any

import pytest

import policydsl
from policydsl import Diagnostic, EvaluationError

BROKEN = "effects allow default allow\ncontext { n: int }\nrule r: allow { when m > 1 }\n"


def policy_error() -> policydsl.PolicyError:
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(BROKEN, name="broken.policy")
    return info.value


def test_context_error_round_trips() -> None:
    err = policydsl.ContextError("content.categoris", "is not a declared attribute")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is policydsl.ContextError
    assert (copy.attribute, copy.detail, str(copy)) == (err.attribute, err.detail, str(err))


def test_policy_error_round_trips_with_its_diagnostics() -> None:
    err = policy_error()
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is policydsl.PolicyError
    assert str(copy) == str(err)
    assert copy.render() == err.render()
    assert [d.to_dict() for d in copy.diagnostics] == [d.to_dict() for d in err.diagnostics]
    assert copy.diagnostics[0].line == 3


def test_diagnostic_and_evaluation_error_round_trip() -> None:
    diagnostic = policy_error().diagnostics[0]
    copy: Diagnostic = pickle.loads(pickle.dumps(diagnostic))
    assert copy.to_dict() == diagnostic.to_dict()
    assert copy.render() == diagnostic.render()
    err = pickle.loads(pickle.dumps(EvaluationError("cannot evaluate the policy")))
    assert type(err) is EvaluationError and str(err) == "cannot evaluate the policy"


_POLICY: Any = None


def _start(policy: policydsl.Policy) -> None:
    global _POLICY
    _POLICY = policy


def _decide(context: Any) -> str:
    return str(_POLICY.decide(context).decision)


def _load_broken(_: int) -> None:
    policydsl.loads(BROKEN, name="broken.policy")


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
def test_a_pool_survives_an_invalid_context(backend: str) -> None:
    """The worker's `ContextError` reaches the parent with its attribute; the pool goes on."""
    policy = policydsl.load_stdlib(backend=backend)
    valid = {"user": {"age": 30}, "content": {"categories": ["spam"]}}
    invalid = {"user": {"age": 30}, "content": {"categoris": ["spam"]}}
    with multiprocessing.Pool(2, initializer=_start, initargs=(policy,)) as pool:
        results = [pool.apply_async(_decide, (c,)) for c in (valid, invalid, valid)]
        assert results[0].get(timeout=60) == "deny"
        with pytest.raises(policydsl.ContextError) as info:
            results[1].get(timeout=60)
        assert info.value.attribute == "content.categoris"
        assert results[2].get(timeout=60) == "deny"
        assert pool.map(_decide, [valid, {"user": {"age": 30}}], chunksize=1) == ["deny", "allow"]
        with pytest.raises(policydsl.PolicyError) as broken:
            pool.apply_async(_load_broken, (0,)).get(timeout=60)
        assert broken.value.diagnostics[0].file == "broken.policy"
