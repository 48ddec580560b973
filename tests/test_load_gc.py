"""Loading pauses the cycle collector and gives it back as it found it, whatever happens."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

import policydsl
from policydsl.loader import collection_paused

POLICY = """\
context { n: int = 0 }
effects deny > allow default allow
rule r: deny { when n > 1 cite "c" reason "r" }
"""


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_resumed_after() -> None:
    gc.enable()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer load is still under way
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled() -> None:
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()
    policydsl.loads(POLICY)
    assert not gc.isenabled()


def test_a_failed_load_resumes_the_collector() -> None:
    gc.enable()
    with pytest.raises(policydsl.PolicyError):
        policydsl.loads("rule r: deny {")
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collection_paused():
        1 // 0  # noqa: B018
    assert gc.isenabled()


def test_the_collector_is_paused_while_a_policy_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.enable()
    seen: list[bool] = []
    from policydsl import loader

    real = loader.check_files

    def spy(*args: object) -> object:
        seen.append(gc.isenabled())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "check_files", spy)
    assert policydsl.loads(POLICY).decide({"n": 2}).decision == "deny"
    assert seen == [False]
    assert gc.isenabled()


def test_concurrent_loads_resume_the_collector_once_all_are_done() -> None:
    gc.enable()
    inside, release = threading.Barrier(2), threading.Event()

    def load() -> None:
        with collection_paused():
            inside.wait()
            release.wait()

    worker = threading.Thread(target=load)
    worker.start()
    with collection_paused():
        inside.wait()
    assert not gc.isenabled()  # the worker's load is still under way
    release.set()
    worker.join()
    assert gc.isenabled()


def test_aging_moves_every_object_to_the_oldest_generation() -> None:
    """What the language server does after each burst of work: the objects it made leave the
    young generations unscanned, and nothing stays frozen."""
    from policydsl.gc_pause import age_everything

    made = [[i] for i in range(1_000)]  # lists: tracked by the collector
    age_everything()
    assert gc.get_freeze_count() == 0
    young = {id(o) for g in (0, 1) for o in gc.get_objects(generation=g)}
    assert not any(id(item) in young for item in made)
    assert any(o is made[0] for o in gc.get_objects(generation=2))


def test_a_server_freezes_its_policy_and_frees_the_one_it_replaced() -> None:
    """`freeze_policy` (after each load of `policyc serve`): the replaced policy, whose compiled
    code holds cycles, is collected first; what is alive then is frozen (no collection rescans
    it), and freezing again after the next load does not keep the previous one."""
    import weakref

    from policydsl.gc_pause import freeze_policy

    try:
        first = policydsl.loads(POLICY)
        gone = weakref.ref(first)
        freeze_policy()
        assert gc.get_freeze_count() > 0
        del first
        second = policydsl.loads(POLICY)  # the reload
        freeze_policy()
        assert gone() is None, "the replaced policy is still alive"
        assert second.decide({}).decision == "allow"
    finally:
        gc.unfreeze()


def _generation_of(obj: object) -> int | None:
    for generation in (0, 1, 2):
        if any(o is obj for o in gc.get_objects(generation=generation)):
            return generation
    return None


@pytest.mark.parametrize("large", [True, False], ids=["large-load", "small-load"])
def test_a_large_load_ages_what_it_made(monkeypatch: pytest.MonkeyPatch, large: bool) -> None:
    """Past `AGE_AFTER` young objects, the collector resumes with the load's objects in its
    oldest generation (no young collection scans them all); a small load leaves them young."""
    from policydsl import gc_pause

    gc.enable()
    gc.collect()
    monkeypatch.setattr(gc_pause, "AGE_AFTER", 1 if large else 10**9)
    policy = policydsl.loads(POLICY)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert (_generation_of(policy) == 2) == large


def test_a_load_never_unfreezes_what_the_host_froze(monkeypatch: pytest.MonkeyPatch) -> None:
    from policydsl import gc_pause

    gc.enable()
    monkeypatch.setattr(gc_pause, "AGE_AFTER", 1)
    kept = [[i] for i in range(100)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        policy = policydsl.loads(POLICY)
        assert gc.get_freeze_count() == frozen  # nothing thawed, nothing aged
        assert _generation_of(policy) != 2 and _generation_of(kept) is None
    finally:
        gc.unfreeze()
