"""The repo conformance checks (webstore.testing.repo) on memory and SQLite."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import webstore
from webstore.testing.repo import REPO_CHECKS

try:
    from webstore.testing import drive
except ImportError:  # pragma: no cover
    import asyncio

    drive = asyncio.run  # type: ignore[assignment]

_ids = itertools.count()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize("check", sorted(REPO_CHECKS))
def test_repo_check(check: str, backend: str, tmp_path: Path) -> None:
    location = str(tmp_path / "repo.sqlite3") if backend == "sqlite" else f"vt-{next(_ids)}"

    async def factory(name: str) -> webstore.Store:
        return await webstore.open(name, backend, path=location)

    drive(REPO_CHECKS[check](factory))
