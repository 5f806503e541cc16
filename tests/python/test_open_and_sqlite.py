"""Opening stores, backend selection, the registry, and SQLite across processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import webstore
from webstore.backends import Backend, open_backend, register_backend
from webstore.backends._memory import MemoryBackend
from webstore.errors import InvalidArgument, StorageUnavailable
from webstore.testing import drive


def test_default_is_sqlite_at_env_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSTORE_PATH", str(tmp_path / "env.sqlite3"))

    async def go() -> None:
        async with webstore.open("n") as store:
            assert store.backend.name == "sqlite"
            assert store.selection is not None
            assert store.selection.backend == "sqlite" and store.selection.refused == {}
            await store.set("k", 1)
        assert (tmp_path / "env.sqlite3").exists()
        store = await webstore.open("n", path=tmp_path / "env.sqlite3")
        assert await store.get("k") == 1
        await store.close()

    drive(go())


def test_auto_selection_on_cpython_never_falls_back_to_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unusable SQLite file is an error with the reason, not silent non-persistence."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("WEBSTORE_PATH", str(blocker / "sub" / "x.sqlite3"))
    with pytest.raises(StorageUnavailable, match="sqlite") as info:
        drive(_open())
    assert "sqlite" in info.value.reason


def test_explicit_backend_that_fails_raises_with_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(StorageUnavailable) as info:
        drive(_open(backend="sqlite", path=blocker / "x" / "db"))
    assert info.value.backend == "sqlite" and info.value.reason
    with pytest.raises(StorageUnavailable, match="indexeddb"):
        drive(_open(backend="indexeddb"))
    with pytest.raises(InvalidArgument, match="unknown backend"):
        drive(_open(backend="nope"))
    with pytest.raises(InvalidArgument):
        drive(_open(backend=42))


async def _open(**kw: object) -> None:
    store = await webstore.open("x", **kw)  # type: ignore[arg-type]
    await store.close()


def test_third_party_backend_registration() -> None:
    class Custom(MemoryBackend):
        name = "custom"

    register_backend("custom", Custom)
    store = drive(_open_store("custom"))
    assert isinstance(store.backend, Custom)
    drive(store.close())
    register_backend("lazy-custom", "tests_missing_module:Thing", install_hint="pip install it")
    with pytest.raises(StorageUnavailable, match="pip install it"):
        drive(_open(backend="lazy-custom"))
    with pytest.raises(InvalidArgument):
        register_backend("bad", "no-colon")


async def _open_store(name: str) -> webstore.Store:
    return await webstore.open("x", backend=name)


def test_backend_instance_is_used_and_not_closed_by_store() -> None:
    backend = MemoryBackend("shared-instance")

    async def go() -> None:
        a = await webstore.open("a", backend=backend)
        b = await webstore.open("b", backend=backend)
        await a.set("k", "a")
        await a.close()
        assert not backend.closed
        assert await b.get("k") is None
        await b.close()
        opened = await open_backend(backend)
        assert isinstance(opened, Backend)

    drive(go())


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    """Concurrent set_many from two processes: every batch lands whole."""
    db = tmp_path / "shared.sqlite3"
    script = textwrap.dedent(f"""
        import sys, webstore
        from webstore.testing import drive
        async def go(tag):
            store = await webstore.open("shared", backend="sqlite", path={str(db)!r})
            for i in range(200):
                await store.set_many({{f"{{tag}}-{{i}}-{{j}}": i for j in range(5)}})
                await store.set("last", tag)
            await store.close()
        drive(go(sys.argv[1]))
    """)
    # Both processes create the file at once: the case that once failed with "locked".
    procs = [subprocess.Popen([sys.executable, "-c", script, tag]) for tag in ("p", "q")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]

    async def check() -> None:
        store = await webstore.open("shared", path=db)
        keys = await store.keys()
        assert len(keys) == 2 * 200 * 5 + 1
        assert await store.get("last") in ("p", "q")
        await store.close()

    drive(check())


def test_sqlite_failed_batch_leaves_previous_state(tmp_path: Path) -> None:
    from webstore.backends._sqlite import SQLiteBackend

    async def go() -> None:
        backend = SQLiteBackend(tmp_path / "b.sqlite3")
        await backend.set_many([("a", b"1")])
        with pytest.raises(sqlite3.ProgrammingError):
            await backend.set_many([("b", b"2"), ("c", object())])  # type: ignore[list-item]
        assert await backend.keys() == ["a"]
        await backend.close()

    drive(go())


def test_storage_full_maps_to_storage_full(tmp_path: Path) -> None:
    """SQLite's max_page_count simulates a full disk: StorageFull, nothing written."""
    from webstore.backends._sqlite import SQLiteBackend
    from webstore.errors import StorageFull

    async def go() -> None:
        backend = SQLiteBackend(tmp_path / "full.sqlite3")
        backend._db.execute("PRAGMA max_page_count=20")
        await backend.set_many([("small", b"x")])
        with pytest.raises(StorageFull):
            await backend.set_many([(f"k{i}", os.urandom(4000)) for i in range(50)])
        assert await backend.keys() == ["small"]
        await backend.set_many([("after", b"y")])
        await backend.close()

    drive(go())
