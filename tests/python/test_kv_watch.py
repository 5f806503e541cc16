"""Change events on the key-value store (CPython: memory and SQLite)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import webstore
from webstore.errors import InvalidArgument, StorageFull, StoreClosed, UnsupportedValue
from webstore.kv import KeyChange, Store
from webstore.kv.watch import hub
from webstore.testing import drive

Events = list[list[tuple[str, str]]]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path, memory_location: str
          ) -> Iterator[Store]:
    if request.param == "memory":
        opened = drive(webstore.open("w", backend="memory", path=memory_location))
    else:
        opened = drive(webstore.open("w", backend="sqlite", path=tmp_path / "w.sqlite3"))
    yield opened
    drive(opened.close())


def record(store: Store, prefix: str = "") -> tuple[Events, Any]:
    events: Events = []
    handle = store.watch(lambda changes: events.append([tuple(c) for c in changes]), prefix)
    return events, handle


def test_every_write_fires_once_after_it_is_durable(store: Store) -> None:
    seen: list[Any] = []

    async def callback(changes: list[KeyChange]) -> None:
        # Durable: the value is readable when the callback runs, even from another store.
        again = await webstore.open(store.name, backend=store.backend)
        seen.append([(c.key, c.kind, await again.get(c.key)) for c in changes])

    store.watch(callback)

    async def go() -> None:
        await store.set("a", 1)
        await store.set_many({"b": 2, "c": 3})
        await store.set_many([("d", 4), ("d", 5)])
        await store.delete("a")
        await store.delete_many(["b", "nope"])
        assert await store.set_if_equals("e", None, 6)
        assert not await store.set_if_equals("e", None, 7)
        assert await store.set_if_equals("e", 6, None)
        await store.clear()
        await store.clear()  # nothing left: nothing reported

    drive(go())
    assert seen == [
        [("a", "set", 1)],
        [("b", "set", 2), ("c", "set", 3)],
        [("d", "set", 5)],
        [("a", "delete", None)],
        [("b", "delete", None), ("nope", "delete", None)],
        [("e", "set", 6)],
        [("e", "delete", None)],
        [("c", "delete", None), ("d", "delete", None)],
    ]


def test_changes_are_key_kind_pairs(store: Store) -> None:
    got: list[list[KeyChange]] = []
    store.watch(got.append)
    drive(store.set("k", {"big": "value"}))
    [[change]] = got
    assert change == KeyChange("k", "set") and change.key == "k" and change.kind == "set"
    key, kind = change
    assert (key, kind) == ("k", "set")


def test_prefix_filters_keys_and_skips_batches_outside(store: Store) -> None:
    inside, _ = record(store, "user/")
    everything, _ = record(store)

    async def go() -> None:
        await store.set_many({"user/1": 1, "other": 2, "user/2": 3})
        await store.set("other", 4)
        await store.delete_many(["other", "user/1"])
        await store.clear()

    drive(go())
    assert inside == [[("user/1", "set"), ("user/2", "set")], [("user/1", "delete")],
                      [("user/2", "delete")]]
    assert len(everything) == 4


def test_failed_batches_fire_nothing(store: Store) -> None:
    events, _ = record(store)

    async def go() -> None:
        await store.set("a", 1)
        with pytest.raises(UnsupportedValue):
            await store.set_many([("a", 2), ("bad", object())])
        with pytest.raises(UnsupportedValue):
            await store.set("a", object())
        with pytest.raises(InvalidArgument):
            await store.delete_many("ab")
        await store.set_many({})
        await store.delete_many([])

    drive(go())
    assert events == [[("a", "set")]]


def test_backend_failure_fires_nothing(memory_location: str) -> None:
    store = drive(webstore.open("w", backend="memory", path=memory_location))
    events, _ = record(store)

    async def refuse(items: Any) -> None:
        raise StorageFull("full", backend="memory")

    store.backend.set_many = refuse  # type: ignore[method-assign]
    with pytest.raises(StorageFull):
        drive(store.set_many({"a": 1}))
    assert events == []


def test_other_store_objects_on_the_same_storage_see_the_writes(store: Store) -> None:
    writer = drive(webstore.open(store.name, backend=store.backend))
    other_name = drive(webstore.open("not-w", backend=store.backend))
    assert writer.store_id == store.store_id != other_name.store_id
    events, _ = record(store)
    drive(writer.set("k", 1))
    drive(other_name.set("k", 1))
    assert events == [[("k", "set")]]


def test_async_callbacks_are_awaited_in_order(store: Store) -> None:
    order: list[str] = []

    async def slow(changes: list[KeyChange]) -> None:
        order.append("async:" + changes[0].key)

    store.watch(slow)
    store.watch(lambda changes: order.append("sync:" + changes[0].key))
    drive(store.set("x", 1))
    order.append("returned")
    assert order == ["async:x", "sync:x", "returned"]


def test_errors_are_kept_on_the_handle_and_logged(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    def broken(changes: list[KeyChange]) -> None:
        raise ValueError("callback bug")

    async def broken_async(changes: list[KeyChange]) -> None:
        raise KeyError("async bug")

    bad = store.watch(broken)
    bad_async = store.watch(broken_async)
    events, _ = record(store)
    with caplog.at_level(logging.ERROR, logger="webstore.watch"):
        drive(store.set("k", 1))
    assert drive(store.get("k")) == 1, "the write stands"
    assert events == [[("k", "set")]], "later watchers still run"
    assert [type(e) for e in bad.errors] == [ValueError]
    assert [type(e) for e in bad_async.errors] == [KeyError]
    assert sum("raised" in r.getMessage() for r in caplog.records) == 2


def test_unwatch_stops_and_leaves_nothing_behind(store: Store) -> None:
    events, handle = record(store)
    drive(store.set("a", 1))
    store.unwatch(handle)
    handle.unwatch()  # idempotent
    drive(store.set("b", 2))
    assert events == [[("a", "set")]]
    assert store.store_id not in hub.watched, "unwatched stores cost one failed lookup"


def test_close_ends_the_stores_watches(store: Store) -> None:
    backend = store.backend
    where = getattr(backend, "location", None) or getattr(backend, "path", None)
    writer = drive(webstore.open(store.name, backend=backend.name, path=where))
    events, handle = record(store)
    drive(store.close())
    drive(writer.set("a", 1))
    assert events == [] and not handle.active
    drive(writer.close())
    with pytest.raises(StoreClosed):
        store.watch(print)


def test_bad_arguments() -> None:
    store = drive(webstore.open("w", backend="memory", path="bad-args"))
    with pytest.raises(InvalidArgument, match="callback"):
        store.watch(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="prefix"):
        store.watch(print, 1)  # type: ignore[arg-type]
