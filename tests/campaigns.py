"""How large a randomised campaign is: quick on a laptop, full in CI (`CI=true`), or as asked."""

from __future__ import annotations

import os


def running_in_ci() -> bool:
    """CI services and `.ci/run` set `CI=true`: campaigns run at full size there."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def campaign_size(variable: str, *, full: int, quick: int) -> int:
    """`variable` from the environment when set, else `full` in CI and `quick` elsewhere."""
    value = os.environ.get(variable)
    if value is not None:
        return int(value)
    return full if running_in_ci() else quick
