"""Backend-level conformance: a :class:`~webstore.Backend` tested through its five primitives.

The store-level checks (:mod:`webstore.testing.store`) go through codec and namespaces, so a
backend bug shows up there as a wrong value somewhere. These checks call ``get_many``,
``set_many``, ``delete_many``, ``keys`` and ``set_if_equals`` (and the defaults built on them)
directly, so a third-party backend author gets the precise primitive and input that failed
(zarr's ``testing/store.py`` does the same for its stores).

Each check takes the usual store factory and works on ``store.backend`` under a key prefix of
its own, so it runs wherever the store checks run (CPython, Pyodide under Node, every browser
engine) and leaves the rest of the backend alone.
"""

from __future__ import annotations

from webstore.backends import Backend
from webstore.testing._runner import Check, StoreFactory

__all__ = ["BACKEND_CHECKS"]

_BINARY = bytes(range(256))


async def _backend(factory: StoreFactory, name: str) -> tuple[Backend, str, object]:
    store = await factory(name)
    prefix = f"~backend-check:{name}:"
    await store.backend.delete_prefix(prefix)
    return store.backend, prefix, store


async def _done(backend: Backend, prefix: str, store: object) -> None:
    await backend.delete_prefix(prefix)
    close = getattr(store, "close", None)
    if close is not None:
        await close()


def _same(got: list[bytes | None], want: list[bytes | None], what: str) -> None:
    plain = [None if g is None else bytes(g) for g in got]
    assert plain == want, f"{what}: got {plain!r:.300}, want {want!r:.300}"
    for g in got:
        assert g is None or isinstance(g, (bytes, bytearray, memoryview)), \
            f"{what}: a value came back as {type(g).__name__}, not bytes"


async def check_backend_get_many_order_and_missing(factory: StoreFactory) -> None:
    """``get_many`` answers in request order, ``None`` for a missing key, empty list for none."""
    b, p, s = await _backend(factory, "bget")
    await b.set_many([(p + "b", b"2"), (p + "a", b"1")])
    _same(await b.get_many([p + "b", p + "nope", p + "a", p + "b"]),
          [b"2", None, b"1", b"2"], "get_many([b, nope, a, b])")
    assert await b.get_many([]) == [], "get_many([]) must be []"
    _same([await b.get(p + "a")], [b"1"], "get(a)")
    await _done(b, p, s)


async def check_backend_values_are_bytes_exactly(factory: StoreFactory) -> None:
    """Empty, all 256 byte values, and 1 MiB come back byte for byte."""
    b, p, s = await _backend(factory, "bbytes")
    big = bytes(range(251)) * ((1 << 20) // 251)
    pairs = [(p + "empty", b""), (p + "binary", _BINARY), (p + "big", big)]
    await b.set_many(pairs)
    _same(await b.get_many([k for k, _ in pairs]), [v for _, v in pairs], "set_many/get_many")
    await _done(b, p, s)


async def check_backend_set_many_later_pairs_win(factory: StoreFactory) -> None:
    """One batch that names a key twice keeps the later value; an empty batch is a no-op."""
    b, p, s = await _backend(factory, "bwin")
    await b.set_many([(p + "k", b"first"), (p + "k", b"second")])
    _same(await b.get_many([p + "k"]), [b"second"], "set_many with a repeated key")
    await b.set_many([])
    _same(await b.get_many([p + "k"]), [b"second"], "after set_many([])")
    await _done(b, p, s)


async def check_backend_delete_many_ignores_missing(factory: StoreFactory) -> None:
    """``delete_many`` removes what exists, ignores what does not, and touches nothing else."""
    b, p, s = await _backend(factory, "bdel")
    await b.set_many([(p + "a", b"1"), (p + "b", b"2"), (p + "c", b"3")])
    await b.delete_many([p + "a", p + "missing", p + "c"])
    _same(await b.get_many([p + "a", p + "b", p + "c"]), [None, b"2", None], "delete_many")
    await b.delete_many([])
    await _done(b, p, s)


async def check_backend_keys_sorted_by_code_point(factory: StoreFactory) -> None:
    """``keys(prefix)`` lists exactly the prefix, sorted by code point (not UTF-16 units)."""
    b, p, s = await _backend(factory, "bkeys")
    names = ["a", "b", "ab", "\uffff", "\U0001f600", "\ue000", "z/1", "z/2"]
    await b.set_many([(p + n, n.encode()) for n in names])
    await b.set_many([(p[:-1] + "~other", b"x")])  # shares all but the last char
    got = await b.keys(p)
    assert got == sorted(p + n for n in names), f"keys(prefix) returned {got!r}"
    assert await b.keys(p + "z/") == [p + "z/1", p + "z/2"]
    items = await b.items(p + "z/")
    assert [(k, bytes(v)) for k, v in items] == [(p + "z/1", b"z/1"), (p + "z/2", b"z/2")]
    await b.delete_prefix(p + "z/")
    assert await b.keys(p + "z/") == []
    await b.delete_many([p[:-1] + "~other"])
    await _done(b, p, s)


async def check_backend_set_if_equals(factory: StoreFactory) -> None:
    """Compare-and-set: create when absent, move on a match, delete with ``None``."""
    b, p, s = await _backend(factory, "bcas")
    k = p + "ref"
    assert await b.set_if_equals(k, None, b"c1") is True, "create when absent"
    assert await b.set_if_equals(k, None, b"c2") is False, "create when present must fail"
    assert await b.set_if_equals(k, b"c0", b"c2") is False, "a wrong expected value must fail"
    _same(await b.get_many([k]), [b"c1"], "after failed compare-and-sets")
    assert await b.set_if_equals(k, b"c1", b"c2") is True, "move on a match"
    assert await b.set_if_equals(k, b"c2", None) is True, "delete on a match"
    _same(await b.get_many([k]), [None], "after the delete")
    assert await b.set_if_equals(k, b"c2", None) is False, "delete of an absent key must fail"
    assert await b.set_if_equals(k, None, b"") is True, "empty bytes is a value, not absent"
    assert await b.set_if_equals(k, None, b"x") is False, "b'' must not compare equal to None"
    await _done(b, p, s)


async def check_backend_capabilities_declared(factory: StoreFactory) -> None:
    """``capabilities`` is declared with the documented types, and ``name`` is a str."""
    b, p, s = await _backend(factory, "bcaps")
    caps = b.capabilities
    for field in ("persistent", "atomic_batches", "binary_safe", "shared", "storage_events"):
        assert isinstance(getattr(caps, field), bool), f"capabilities.{field} is not a bool"
    assert caps.max_value_bytes is None or caps.max_value_bytes > 0
    assert isinstance(b.name, str) and b.name
    await _done(b, p, s)


BACKEND_CHECKS: dict[str, Check] = {
    name.removeprefix("check_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("check_backend_") and callable(fn)
}
