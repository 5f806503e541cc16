"""The shipped conformance suite and state machine against memory and SQLite on CPython."""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import webstore
from webstore.backends._memory import MemoryBackend
from webstore.kv.store import Store
from webstore.testing import StoreConformance, StoreStateMachine, drive, run_stateful

EXAMPLES = int(os.environ.get("WEBSTORE_STATEFUL_EXAMPLES", "200"))
_ids = itertools.count()


class TestMemoryConformance(StoreConformance):
    """ids: test_conformance.py::TestMemoryConformance::test_<check> (cpython-memory)."""

    @pytest.fixture(autouse=True)
    def _location(self) -> None:
        self.location = f"conformance-{next(_ids)}"

    async def open_store(self, name: str) -> Store:
        return await webstore.open(name, backend="memory", path=self.location)


class TestSQLiteConformance(StoreConformance):
    """ids: test_conformance.py::TestSQLiteConformance::test_<check> (cpython-sqlite)."""

    @pytest.fixture(autouse=True)
    def _location(self, tmp_path: Path) -> None:
        self.location = str(tmp_path / "conformance.sqlite3")

    async def open_store(self, name: str) -> Store:
        return await webstore.open(name, backend="sqlite", path=self.location)


def _memory_factory(location: str):  # type: ignore[no-untyped-def]
    async def factory(name: str) -> Store:
        return await webstore.open(name, backend="memory", path=location)

    return factory


def _sqlite_factory(path: str):  # type: ignore[no-untyped-def]
    async def factory(name: str) -> Store:
        return await webstore.open(name, backend="sqlite", path=path)

    return factory


_machine_settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MemoryMachine = StoreStateMachine(_memory_factory("machine-memory"))
TestMemoryStateMachine = MemoryMachine.TestCase
TestMemoryStateMachine.settings = _machine_settings

_sqlite_dir = tempfile.mkdtemp(prefix="webstore-machine-")
SQLiteMachine = StoreStateMachine(_sqlite_factory(os.path.join(_sqlite_dir, "m.sqlite3")))
TestSQLiteStateMachine = SQLiteMachine.TestCase
TestSQLiteStateMachine.settings = _machine_settings


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_async_replay_of_generated_programs(backend: str, tmp_path: Path) -> None:
    """The replay path used inside Pyodide, exercised on CPython too."""
    factory = (_memory_factory(f"replay-{next(_ids)}") if backend == "memory"
               else _sqlite_factory(str(tmp_path / "replay.sqlite3")))
    result = drive(run_stateful(factory, examples=50, seed=1))
    assert result["ok"], result
    assert result["examples"] == 50 and result["operations"] > 100


def test_replay_detects_a_lying_backend() -> None:
    """The state machine must be able to fail: a backend that drops deletes is caught."""

    class Forgetful(MemoryBackend):
        async def delete_many(self, keys):  # type: ignore[no-untyped-def]
            return None

    location = f"forgetful-{next(_ids)}"

    async def factory(name: str) -> Store:
        return Store(Forgetful(location), name)

    result = drive(run_stateful(factory, examples=200, seed=3))
    assert not result["ok"]
    assert "delete" in result["program"]
