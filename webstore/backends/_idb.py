"""IndexedDB backend: the persistent default in browsers (Pyodide only).

Layout: one database per ``location`` (default ``"webstore"``) holding one object store
``"kv"``; keys are the backend keys (the Store layer's ``"<len>:<name>:"`` prefix included),
values are ``Uint8Array`` bytes, never base64. Prefix listing is an ``IDBKeyRange``.

Each operation is one call into ``_idb.js`` that issues every request inside one transaction
and resolves when the transaction *completes*: awaiting in Python between two requests would
let IndexedDB auto-commit half a batch. So batches, ``items`` (one snapshot) and
``set_if_equals`` are atomic, and a quota failure aborts the whole transaction, leaving
nothing half-written (raised as :class:`~webstore.errors.StorageFull`).

A ``versionchange`` from another tab closes our connection so that tab's upgrade is not
blocked; the next operation reopens it. IndexedDB orders strings by UTF-16 code unit, which
differs from code-point order for astral characters, so listings are re-sorted in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from webstore.backends._base import Backend, Capabilities
from webstore.backends._jsbridge import error_name, helper, pack, to_js, unpack
from webstore.errors import StorageFull, StorageUnavailable

__all__ = ["DEFAULT_LOCATION", "IndexedDBBackend"]

DEFAULT_LOCATION = "webstore"
_QUOTA_ERRORS = frozenset({"QuotaExceededError", "NS_ERROR_DOM_QUOTA_REACHED"})


def _js() -> Any:
    return helper("_idb.js")


class IndexedDBBackend(Backend):
    """A browser IndexedDB database; every operation is one transaction."""

    name = "indexeddb"
    capabilities = Capabilities(
        persistent=True, atomic_batches=True, binary_safe=True, shared=True,
    )

    def __init__(self, location: str | None = None, *, _conn: Any = None) -> None:
        super().__init__()
        self.location = DEFAULT_LOCATION if location is None else str(location)
        self._conn = _conn

    @classmethod
    async def create(cls, **options: Any) -> Self:
        """Open (creating if needed) the database; StorageUnavailable says why it can't."""
        location = options.pop("location", None)
        if options:
            raise TypeError(f"unexpected options for indexeddb: {sorted(options)}")
        name = DEFAULT_LOCATION if location is None else str(location)
        import js
        from pyodide.ffi import JsException

        try:
            factory = getattr(js, "indexedDB", None)
        except JsException as exc:  # SecurityError on opaque origins
            raise StorageUnavailable(
                f"indexedDB is not accessible: {exc}", backend=cls.name, reason=str(exc)
            ) from exc
        if factory is None:
            raise StorageUnavailable(
                "indexedDB is not defined in this runtime", backend=cls.name,
                reason="indexedDB is not defined in this runtime",
            )
        try:
            conn = await _js().open(name)
        except JsException as exc:
            raise StorageUnavailable(
                f"cannot open IndexedDB database {name!r}: {exc}",
                backend=cls.name, reason=str(exc),
            ) from exc
        return cls(name, _conn=conn)

    async def _call(self, method: str, *args: Any) -> Any:
        """Run one helper operation, translating quota errors."""
        self._check_open()
        from pyodide.ffi import JsException

        try:
            return await getattr(_js(), method)(self._conn, *args)
        except JsException as exc:
            if error_name(exc) in _QUOTA_ERRORS or "quota" in str(exc).lower():
                raise StorageFull(
                    f"IndexedDB quota exceeded in {self.location!r}; nothing was written",
                    backend=self.name,
                ) from exc
            raise

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        # docstring inherited
        if not keys:
            self._check_open()
            return []
        lengths, blob = await self._call("getMany", to_js(list(keys)))
        return unpack(lengths, blob)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # docstring inherited
        self._check_open()
        if not items:
            return
        last: dict[str, bytes] = {}
        for key, value in items:  # later pairs win; also validates types before writing
            last[key] = bytes(value) if not isinstance(value, bytes) else value
        blob, lengths = pack(list(last.values()))
        await self._call("setMany", to_js(list(last)), blob, lengths)

    async def delete_many(self, keys: Sequence[str]) -> None:
        # docstring inherited
        self._check_open()
        if keys:
            await self._call("deleteMany", to_js(list(keys)))

    async def keys(self, prefix: str = "") -> list[str]:
        # docstring inherited
        found: list[str] = (await self._call("keys", prefix)).to_py()
        return sorted(found)  # UTF-16 order -> code-point order

    async def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        # docstring inherited
        keys, lengths, blob = await self._call("items", prefix)
        values = unpack(lengths, blob)
        pairs = [(k, v) for k, v in zip(keys.to_py(), values, strict=True) if v is not None]
        pairs.sort(key=lambda kv: kv[0])
        return pairs

    async def delete_prefix(self, prefix: str) -> None:
        # docstring inherited
        await self._call("deletePrefix", prefix)

    async def set_if_equals(self, key: str, expected: bytes | None, new: bytes | None) -> bool:
        # docstring inherited
        done = await self._call(
            "setIfEquals", key,
            None if expected is None else to_js(bytes(expected)),
            None if new is None else to_js(bytes(new)),
        )
        return bool(done)

    async def close(self) -> None:
        # docstring inherited
        if not self._closed and self._conn is not None:
            _js().close(self._conn)
        await super().close()

    async def destroy(self) -> None:
        """Close and delete the whole database (tests, "forget me" buttons)."""
        await self.close()
        await _js().destroy(self.location)
