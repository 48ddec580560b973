"""Shared test options and fixtures: the backend every semantic test runs on, and golden files.

Campaign sizes (quick locally, full in CI) live in `campaigns.py`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import policydsl

Golden = Callable[[Path, str], None]  # what the `golden` fixture returns


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite the golden files under tests/goldens/ from the current output.",
    )


@pytest.fixture(scope="module", params=policydsl.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: a semantic test holds for all of them or fails naming one."""
    return str(request.param)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """`golden(path, actual)`: assert `actual` equals the golden file, or rewrite the file when
    pytest runs with `--update-goldens`. Goldens are UTF-8 with `\\n` line ends, as written."""
    update = bool(request.config.getoption("--update-goldens"))

    def check(path: Path, actual: str) -> None:
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="")
            return
        assert path.exists(), f"missing {path.name}: run pytest with --update-goldens"
        assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs"

    return check
