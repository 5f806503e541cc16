"""The key-value conformance checks every backend must pass, in every runtime.

Each check is ``async def check_<name>(factory)``: ``factory(name)`` opens the store ``name``
on the backend under test, and opening the same name again must see the same data.
:class:`StoreConformance` turns them into pytest tests on CPython; in Pyodide the same
functions are awaited by :func:`webstore.testing.run_checks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from webstore.backends import PROBE_KEY
from webstore.errors import (
    IntegrityError,
    InvalidArgument,
    InvalidKey,
    KeyNotFound,
    StoreClosed,
    UnsupportedValue,
)
from webstore.kv import codec
from webstore.kv.store import MAX_KEY_LENGTH, Store
from webstore.kv.watch import KeyChange
from webstore.testing._runner import Check, StoreFactory, drive
from webstore.testing._values import every_typed_array, same, sample_values
from webstore.testing.backend import BACKEND_CHECKS

__all__ = ["STORE_CHECKS", "StoreConformance"]


async def _fresh(factory: StoreFactory, name: str) -> Store:
    store = await factory(name)
    await store.clear()
    return store


def _raises(exc_type: type[BaseException]) -> Callable[..., Any]:
    """Assert helper usable without pytest (it must run inside Pyodide too)."""

    class _Ctx:
        def __enter__(self) -> None:
            return None

        def __exit__(self, et: Any, ev: Any, tb: Any) -> bool:
            if et is None:
                raise AssertionError(f"expected {exc_type.__name__}, nothing was raised")
            return issubclass(et, exc_type)

    return _Ctx


def _assert_same(got: Any, want: Any, what: str) -> None:
    if not same(got, want):
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


async def check_set_get_roundtrip(factory: StoreFactory) -> None:
    """Every supported plain value comes back equal and of the same type."""
    store = await _fresh(factory, "conf.roundtrip")
    for i, value in enumerate(sample_values()):
        await store.set(f"k{i}", value)
        _assert_same(await store.get(f"k{i}"), value, f"value #{i}")
    await store.set("k0", "overwritten")
    assert await store.get("k0") == "overwritten"
    await store.close()


async def check_typed_arrays_bit_exact(factory: StoreFactory) -> None:
    """Every typed-array kind and Python form round-trips with kind, shape and bits."""
    store = await _fresh(factory, "conf.typed")
    arrays = every_typed_array()
    for i, value in enumerate(arrays):
        await store.set(f"a{i}", value)
    await store.set("nested", {"arrays": arrays[:3], "t": (arrays[4],)})
    for i, value in enumerate(arrays):
        _assert_same(await store.get(f"a{i}"), value, f"typed array #{i} ({type(value)})")
    nested = await store.get("nested")
    _assert_same(nested["arrays"], arrays[:3], "arrays inside a dict")
    _assert_same(nested["t"], (arrays[4],), "array inside a tuple")
    await store.close()


async def check_missing_keys(factory: StoreFactory) -> None:
    """``get`` returns the default, ``require`` raises KeyNotFound, ``delete`` is idempotent."""
    store = await _fresh(factory, "conf.missing")
    assert await store.get("nope") is None
    assert await store.get("nope", 42) == 42
    assert not await store.has("nope")
    with _raises(KeyNotFound)():
        await store.require("nope")
    with _raises(KeyError)():
        await store.require("nope")
    await store.delete("nope")
    await store.set("yes", None)
    assert await store.has("yes"), "a stored None is a present key"
    assert await store.require("yes") is None
    await store.delete("yes")
    assert not await store.has("yes")
    await store.close()


async def check_keys_sorted_by_code_point(factory: StoreFactory) -> None:
    """``keys``/``items`` are sorted by code point and filtered by prefix."""
    store = await _fresh(factory, "conf.keys")
    keys = ["b", "a", "a/b", "a/a", "ab", "\U0001f600", "\uffff", "é", "A", "a\x00", "~", "0"]
    await store.set_many({k: k for k in keys})
    assert await store.keys() == sorted(keys), await store.keys()
    assert await store.keys("a") == sorted(k for k in keys if k.startswith("a"))
    assert await store.keys("a/") == ["a/a", "a/b"]
    assert await store.keys("zz") == []
    assert await store.items("a/") == [("a/a", "a/a"), ("a/b", "a/b")]
    assert PROBE_KEY not in await store.keys()
    await store.close()


async def check_batches(factory: StoreFactory) -> None:
    """``set_many``/``get_many``/``delete_many`` on a thousand keys, in order, last wins."""
    store = await _fresh(factory, "conf.batch")
    items = [(f"key-{i:04d}", {"i": i, "pad": "x" * (i % 50)}) for i in range(1000)]
    await store.set_many(items)
    await store.set_many([("dup", 1), ("dup", 2)])
    assert await store.get("dup") == 2
    got = await store.get_many([k for k, _ in items] + ["missing"])
    assert got[:-1] == [v for _, v in items] and got[-1] is None
    assert await store.get_many(("key-0001", "missing"), default=0) == [
        {"i": 1, "pad": "x"}, 0]
    await store.delete_many([k for k, _ in items[:500]] + ["missing"])
    assert len(await store.keys("key-")) == 500
    await store.set_many({})
    await store.delete_many([])
    assert await store.get_many([]) == []
    await store.close()


async def check_set_many_is_all_or_nothing(factory: StoreFactory) -> None:
    """One unsupported value fails the whole batch, names the value and changes nothing."""
    store = await _fresh(factory, "conf.atomic")
    await store.set_many({"a": 1, "b": 2})
    try:
        await store.set_many([("a", 10), ("c", 3), ("bad", {"deep": [object()]})])
    except UnsupportedValue as exc:
        assert "object" in str(exc) and "bad" in str(exc), str(exc)
        assert exc.path == "value['deep'][0]", exc.path
    else:
        raise AssertionError("set_many accepted an object() value")
    with _raises(InvalidKey)():
        await store.set_many([("a", 11), ("", 1)])
    assert await store.items() == [("a", 1), ("b", 2)]
    await store.close()


async def check_invalid_keys(factory: StoreFactory) -> None:
    """Non-str, empty, too long and lone-surrogate keys raise InvalidKey (a ValueError)."""
    store = await _fresh(factory, "conf.badkeys")
    bad: list[Any] = [1, None, b"bytes", "", "x" * (MAX_KEY_LENGTH + 1), "a\ud800"]
    for key in bad:
        with _raises(InvalidKey)():
            await store.set(key, 1)
        with _raises(ValueError)():
            await store.get(key)
    with _raises(InvalidArgument)():
        await store.get_many("abc")
    with _raises(InvalidArgument)():
        await store.keys(1)  # type: ignore[arg-type]
    assert await store.keys() == []
    long_key = "k" * MAX_KEY_LENGTH
    await store.set(long_key, "ok")
    assert await store.get(long_key) == "ok"
    await store.close()


async def check_unsupported_values(factory: StoreFactory) -> None:
    """Unsupported types, big ints, cycles and non-str dict keys raise UnsupportedValue."""
    store = await _fresh(factory, "conf.badvalues")
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    deep: Any = []
    for _ in range(codec.MAX_DEPTH + 5):
        deep = [deep]
    for value in [object(), {1: "int key"}, 2**64, -(2**63) - 1, cyclic, deep, {"s": {1, 2}},
                  "lone \udc00 surrogate", 1j]:
        with _raises(UnsupportedValue)():
            await store.set("k", value)
        with _raises(TypeError)():
            await store.set("k", value)
    assert await store.keys() == []
    await store.close()


async def check_namespaces_isolated(factory: StoreFactory) -> None:
    """Stores with different names never see each other's keys, whatever the characters."""
    names = ["ns", "ns:", "2:ns", "n", "ns:x", "", "\U0001f600"]
    stores = [await _fresh(factory, f"conf.ns.{n}") for n in names]
    for n, s in zip(names, stores, strict=True):
        await s.set_many({"k": n, f"x:{n}": n})
    for n, s in zip(names, stores, strict=True):
        assert await s.keys() == sorted(["k", f"x:{n}"]), (n, await s.keys())
        assert await s.get("k") == n
    await stores[0].clear()
    assert await stores[0].keys() == []
    assert await stores[1].get("k") == names[1]
    for s in stores:
        await s.close()


async def check_reopen_sees_data(factory: StoreFactory) -> None:
    """Closing and reopening a store by name returns what was written."""
    store = await _fresh(factory, "conf.reopen")
    await store.set_many({"a": [1, 2], "b": b"\x00\x01"})
    await store.close()
    again = await factory("conf.reopen")
    assert await again.items() == [("a", [1, 2]), ("b", b"\x00\x01")]
    await again.close()


async def check_closed_store_raises(factory: StoreFactory) -> None:
    """Every call on a closed store raises StoreClosed; close is idempotent."""
    store = await factory("conf.closed")
    await store.close()
    await store.close()
    assert store.closed
    calls = [store.get("k"), store.set("k", 1), store.delete("k"), store.has("k"),
             store.keys(), store.items(), store.set_many({"a": 1}), store.get_many(["a"]),
             store.delete_many(["a"]), store.clear()]
    for call in calls:
        with _raises(StoreClosed)():
            await call


async def check_compare_and_set(factory: StoreFactory) -> None:
    """``set_if_equals`` writes only when the current value matches (None: absent)."""
    store = await _fresh(factory, "conf.cas")
    assert await store.set_if_equals("ref", None, "c1")
    assert not await store.set_if_equals("ref", None, "c2")
    assert not await store.set_if_equals("ref", "c0", "c2")
    assert await store.get("ref") == "c1"
    assert await store.set_if_equals("ref", "c1", "c2")
    assert await store.set_if_equals("ref", "c2", None)
    assert not await store.has("ref")
    await store.close()


async def check_watch_fires_once_per_batch(factory: StoreFactory) -> None:
    """A watch fires once per durable batch, with the keys under its prefix, until unwatched."""
    store = await _fresh(factory, "conf.watch")
    events: list[tuple[str, list[tuple[str, str]]]] = []
    values: list[list[Any]] = []

    async def everything(changes: list[KeyChange]) -> None:
        events.append(("all", [(c.key, c.kind) for c in changes]))
        values.append([await store.get(key) for key, _ in changes])  # durable: readable now

    def inside(changes: list[KeyChange]) -> None:
        events.append(("in", [(c.key, c.kind) for c in changes]))

    handles = [store.watch(everything), store.watch(inside, prefix="in/")]
    await store.set_many({"in/a": 1, "out": 2})
    await store.set("out", 3)
    with _raises(UnsupportedValue)():
        await store.set_many([("in/a", 4), ("bad", object())])
    await store.delete_many(["in/a", "out"])
    assert await store.set_if_equals("in/b", None, 5)
    assert not await store.set_if_equals("in/b", None, 6)
    await store.clear()
    for handle in handles:
        store.unwatch(handle)
    await store.set("in/c", 7)
    want = [
        ("all", [("in/a", "set"), ("out", "set")]), ("in", [("in/a", "set")]),
        ("all", [("out", "set")]),
        ("all", [("in/a", "delete"), ("out", "delete")]), ("in", [("in/a", "delete")]),
        ("all", [("in/b", "set")]), ("in", [("in/b", "set")]),
        ("all", [("in/b", "delete")]), ("in", [("in/b", "delete")]),
    ]
    assert events == want, events
    assert values == [[1, 2], [3], [None, None], [5], [None]], values
    assert [h.errors for h in handles] == [[], []]
    await store.close()


async def check_corruption_detected(factory: StoreFactory) -> None:
    """A flipped byte in a stored value raises IntegrityError naming the key."""
    store = await _fresh(factory, "conf.corrupt")
    await store.set("victim", {"payload": "x" * 100})
    raw_key = next(k for k in await store.backend.keys() if k.endswith(":victim"))
    raw = bytearray(await store.backend.get(raw_key) or b"")
    raw[-5] ^= 0x40
    await store.backend.set_many([(raw_key, bytes(raw))])
    try:
        await store.get("victim")
    except IntegrityError as exc:
        assert exc.key == "victim", exc.key
    else:
        raise AssertionError("a corrupt value was returned instead of raising")
    await store.backend.set_many([(raw_key, b"\x00")])
    with _raises(IntegrityError)():
        await store.get("victim")
    await store.close()


async def check_large_value(factory: StoreFactory) -> None:
    """A value near the backend's declared limit (capped at 1 MiB) round-trips."""
    store = await _fresh(factory, "conf.large")
    limit = store.backend.capabilities.max_value_bytes or 2**20
    size = min(limit // 2, 2**20)
    blob = bytes(range(256)) * (size // 256)
    await store.set("big", blob)
    assert await store.get("big") == blob
    # Deleted again: in localStorage the origin's quota is shared by every later test.
    await store.delete("big")
    assert not await store.has("big")
    await store.close()


async def check_capabilities_declared(factory: StoreFactory) -> None:
    """A backend declares its capabilities and the store says how it was chosen."""
    store = await factory("conf.caps")
    caps = store.backend.capabilities
    for field in ("persistent", "atomic_batches", "binary_safe"):
        assert isinstance(getattr(caps, field), bool), field
    assert store.selection is not None and store.selection.backend == store.backend.name
    await store.close()


STORE_CHECKS: dict[str, Check] = {
    name.removeprefix("check_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("check_") and callable(fn)
}


class StoreConformance:
    """Pytest base class: subclass it and implement :meth:`open_store` for your backend.

    Every check in :data:`STORE_CHECKS` and the backend-level
    :data:`~webstore.testing.backend.BACKEND_CHECKS` becomes a ``test_<name>`` method.
    """

    async def open_store(self, name: str) -> Store:
        """Open the store ``name`` on the backend under test."""
        raise NotImplementedError

    def run_check(self, name: str) -> None:
        """Run one check synchronously (works where the backend never truly suspends)."""
        drive(_CONFORMANCE[name](self.open_store))


def _make_test(name: str) -> Callable[[StoreConformance], None]:
    def test(self: StoreConformance) -> None:
        self.run_check(name)

    test.__name__ = f"test_{name}"
    test.__doc__ = _CONFORMANCE[name].__doc__
    return test


_CONFORMANCE = {**STORE_CHECKS, **BACKEND_CHECKS}
for _name in _CONFORMANCE:
    setattr(StoreConformance, f"test_{_name}", _make_test(_name))
