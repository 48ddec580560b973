"""`PolicyHolder`: the library's reload API. A good version is swapped in whole, a broken one is
rejected with its diagnostics while the last good one decides, and reloads come from a call,
a signal or the files changing (watchfiles, or polling without it)."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import policydsl
from policydsl.reload import PolicyHolder, Reload


def text(version: str, limit: int, *, refuse: bool = True) -> str:
    return (
        f'version "{version}"\ncontext {{ amount: int = 0 }}\n'
        f"effects deny > allow default allow{' refuse deny' if refuse else ''}\n"
        f'rule big: deny {{ when amount > {limit} cite "1" reason "big" }}\n'
    )


BROKEN = (
    "context { amount: int = 0 }\neffects deny > allow default allow\n"
    'rule r: deny { when x cite "1" reason "r" }\n'
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "p.policy").write_text(text("1", 10))
    return tmp_path


def effect(holder: PolicyHolder, amount: int) -> str:
    assert holder.current is not None
    return holder.current.decide({"amount": amount}).to_dict()["decision"]


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_it_loads_at_once_and_reports_how(folder: Path) -> None:
    holder = PolicyHolder([folder])
    assert holder.last is not None and holder.last.outcome == "loaded"
    assert holder.last.trigger == "start" and holder.last.version == "1"
    assert holder.current is not None and holder.current.fingerprint == holder.last.fingerprint
    assert holder.loaded_at is not None and effect(holder, 11) == "deny"
    assert holder.files() == [folder / "p.policy"]


def test_the_default_is_the_standard_library() -> None:
    holder = PolicyHolder()
    assert holder.paths == (policydsl.stdlib_path(),)
    assert holder.current is not None
    assert holder.current.fingerprint == policydsl.load_stdlib().fingerprint


def test_a_good_version_replaces_the_policy_and_the_same_files_change_nothing(
    folder: Path,
) -> None:
    holder = PolicyHolder([folder])
    first = holder.current
    assert holder.reload().outcome == "unchanged" and holder.current is first
    (folder / "p.policy").write_text(text("2", 100))
    outcome = holder.reload()
    assert (outcome.outcome, outcome.version, outcome.ok) == ("loaded", "2", True)
    assert holder.current is not first and effect(holder, 11) == "allow"


def test_a_broken_version_is_rejected_with_diagnostics_and_the_old_one_decides(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = PolicyHolder([folder])
    good, loaded_at = holder.current, holder.loaded_at
    (folder / "p.policy").write_text(BROKEN)
    with caplog.at_level(logging.WARNING, "policydsl.reload"):
        outcome = holder.reload()
    logged = [r.getMessage() for r in caplog.records]
    assert logged[0].startswith("policy rejected (") and logged[0].endswith("1 error(s)")
    assert logged[1] == f"  {folder / 'p.policy'}:3:21: unknown name `x`"
    assert outcome.outcome == "rejected" and not outcome.ok
    assert [d.code for d in outcome.diagnostics] == ["P201"]
    assert outcome.to_dict()["diagnostics"][0]["code"] == "P201"
    assert holder.current is good and holder.loaded_at == loaded_at
    assert holder.last is outcome and effect(holder, 11) == "deny"


def test_unreadable_files_are_a_rejection_too(folder: Path) -> None:
    holder = PolicyHolder([folder])
    (folder / "p.policy").write_bytes(b"\xff\xfe not text")
    outcome = holder.reload()
    assert outcome.outcome == "rejected" and outcome.fingerprint is None
    assert [d.code for d in outcome.diagnostics] == ["P003"]
    (folder / "p.policy").unlink()
    assert [d.code for d in holder.reload().diagnostics] == ["P006"]  # an empty folder


def test_a_first_load_that_fails_leaves_no_policy(tmp_path: Path) -> None:
    (tmp_path / "p.policy").write_text(BROKEN)
    holder = PolicyHolder([tmp_path])
    assert holder.current is None and holder.last is not None
    assert holder.last.outcome == "rejected"
    (tmp_path / "p.policy").write_text(text("1", 1))
    assert holder.reload().outcome == "loaded" and holder.current is not None


def test_fail_closed_needs_a_refusal(folder: Path) -> None:
    (folder / "p.policy").write_text(text("1", 10, refuse=False))
    holder = PolicyHolder([folder], fail_closed=True)
    assert holder.current is None
    assert holder.last is not None and [d.code for d in holder.last.diagnostics] == ["P403"]
    (folder / "p.policy").write_text(text("1", 10))
    assert holder.reload().ok and holder.current is not None
    assert holder.current.decide({"amount": "x"}).to_dict()["decision"] == "deny"


def test_callbacks_see_every_reload_and_cannot_break_it(folder: Path) -> None:
    holder = PolicyHolder([folder])
    seen: list[Reload] = []
    holder.on_reload.append(seen.append)
    holder.on_reload.append(lambda _r: 1 / 0)
    holder.reload()
    (folder / "p.policy").write_text(BROKEN)
    holder.reload()
    assert [r.outcome for r in seen] == ["unchanged", "rejected"]


def test_a_signal_reloads(folder: Path) -> None:
    holder = PolicyHolder([folder])
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        holder.reload_on_signal(signal.SIGUSR1)
        (folder / "p.policy").write_text(text("2", 100))
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_for(lambda: holder.last is not None and holder.last.trigger == "signal")
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert holder.current is not None and holder.current.version == "2"


@pytest.mark.parametrize("poll", [None, 0.05], ids=["watchfiles", "polling"])
def test_watching_reloads_on_change(folder: Path, poll: float | None) -> None:
    if poll is None:
        pytest.importorskip("watchfiles")
    holder = PolicyHolder([folder])
    holder.watch(debounce=0.05, poll=poll)
    try:
        time.sleep(0.2)  # the watcher is watching
        (folder / "p.policy").write_text(text("2", 100))
        wait_for(lambda: holder.current is not None and holder.current.version == "2")
        assert holder.last is not None and holder.last.trigger == "watch"
        (folder / "p.policy").write_text(BROKEN)
        wait_for(lambda: holder.last is not None and holder.last.outcome == "rejected")
        assert holder.current is not None and holder.current.version == "2"
        (folder / "q.policy").write_text("# a new file joins the set\n")
        (folder / "p.policy").write_text(text("3", 100))
        wait_for(lambda: holder.current is not None and holder.current.version == "3")
    finally:
        holder.stop_watching()
    assert holder._watcher is None
