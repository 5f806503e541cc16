"""Shared fixtures for the CPython suites."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

_counter = itertools.count()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def memory_location() -> str:
    return f"mem-{next(_counter)}"
