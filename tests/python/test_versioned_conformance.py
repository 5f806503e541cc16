"""The repo conformance checks (webstore.testing.repo) on memory and SQLite, SHA-256 and SHA-1."""

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


class _Factory:
    """Opens stores on one backend; the checks create repos in ``object_format``."""

    def __init__(self, backend: str, location: str, object_format: str) -> None:
        self.backend = backend
        self.location = location
        self.object_format = object_format

    async def __call__(self, name: str) -> webstore.Store:
        return await webstore.open(name, self.backend, path=self.location)


@pytest.mark.parametrize("object_format", ["sha256", "sha1"])
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize("check", sorted(REPO_CHECKS))
def test_repo_check(check: str, backend: str, object_format: str, tmp_path: Path) -> None:
    location = str(tmp_path / "repo.sqlite3") if backend == "sqlite" else f"vt-{next(_ids)}"
    drive(REPO_CHECKS[check](_Factory(backend, location, object_format)))
