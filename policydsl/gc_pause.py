"""Pausing the cycle collector while a policy set loads, in a module of its own so that loading
a compiled artifact (`artifact`) can pause it without importing the parser.

Loading builds millions of short-lived objects and frees them by reference counting; Python's
cycle collector meanwhile rescans every object still alive, again and again as the heap grows,
which cost 25-50% of loading a 10,000-rule policy. So the collector is paused while a policy
set loads and resumed, as it was, when the last load in the process ends. Nothing a load makes
is freed later for it: its garbage is acyclic, and peak memory is the same.

A large load (`AGE_AFTER` objects the collector tracks, or more: a 10,000-rule policy leaves
about 460,000) ages what it made as the collector resumes (`age_everything`): else the first
young collection, at the end of the load, scans them all (0.15 s, a tenth of the load), and a
middle-aged one scans them again later, in the middle of some request. What the host made just
before is aged with them, a few hundred objects beside the load's; a host that froze objects
(before forking, say) keeps them frozen, and then nothing is aged.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

AGE_AFTER = 100_000  # young objects at the end of a load from which it ages them
_GC_LOCK = threading.Lock()
_gc_pauses = 0  # loads under way in this process
_gc_was_enabled = False  # the collector's state when the first of them began


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cycle collector for the block (nested and concurrent loads included)."""
    global _gc_pauses, _gc_was_enabled
    with _GC_LOCK:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                if gc.get_count()[0] >= AGE_AFTER and not gc.get_freeze_count():
                    age_everything()
                gc.enable()


def age_everything() -> None:
    """Move every object the collector tracks to its oldest generation, unscanned.

    For a process that owns its heap and works in bursts (the language server): the objects a
    paused burst made (a checked model, an index: millions) are all in the youngest generation
    when the collector resumes, so its next young collections scan them all, 0.1-0.4 s each, at
    whatever moment they fall (the next keystroke). Aged, they wait for a full collection, which
    the collector runs only as the old generation grows by a quarter. Not for a library load:
    it would age the host program's objects too.
    """
    gc.freeze()
    gc.unfreeze()  # the permanent generation goes back to the oldest one


def freeze_policy() -> None:
    """For a server that owns its process (`policyc serve`), after each policy it loads: collect
    what the previous one left (a compiled policy holds cycles: its functions and their
    namespace), then move everything alive to the collector's permanent generation. No
    collection rescans the policy while requests run: a batch of 500 allocates thousands of
    objects, and each full collection they set off scanned the policy's too (a fifth of the
    batch endpoint's CPU). Every load collects before it freezes, so a replaced policy is freed,
    and what is frozen stays one policy's worth."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
