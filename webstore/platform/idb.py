"""IndexedDB backend: the persistent default in browsers (Pyodide only).

Layout: one database per ``location`` (default ``"webstore"``) holding one object store
``"kv"``; keys are the backend keys (the Store layer's ``"<len>:<name>:"`` prefix included),
values are ``Uint8Array`` bytes, never base64 (layout 1), or, for a typed array or
ArrayBuffer set from the JS API, ``{webstore: 2, head: Uint8Array, data: ArrayBuffer}``
(layout 2, :meth:`Store.set_parts <webstore.kv.store.Store.set_parts>`): IndexedDB clones
the buffer itself and the bytes never enter WebAssembly. Both layouts live side by side in
one database; every other operation sees a layout-2 record as head + data joined.
Prefix listing is an ``IDBKeyRange``. The database version is never pinned: we open
whatever version exists and only upgrade (version + 1) when the ``"kv"`` store is missing,
so other code may add stores and bump the version without breaking us, and a
``versionchange`` costs us no more than a reopen.

Each operation is one call into ``idb.js`` that issues every request inside one transaction
and resolves when the transaction *completes*: awaiting in Python between two requests would
let IndexedDB auto-commit half a batch. So batches, ``items`` (one snapshot) and
``set_if_equals`` are atomic, and a quota failure aborts the whole transaction, leaving
nothing half-written (raised as :class:`~webstore.errors.StorageFull`; the store works again
once data is deleted).

``versionchange`` (another tab upgrades or deletes the database): we close our connection at
once, so that tab's ``open`` is never blocked by us, and reopen lazily on the next operation
at the new version (after a delete, that recreates an empty database). If that reopen cannot
work (our upgrade to recreate ``"kv"`` is blocked by a connection that ignores
``versionchange``, or the open fails), the operation raises
:class:`~webstore.errors.StorageUnavailable` saying why; a later call tries again.
IndexedDB orders strings by UTF-16 code unit, which differs from code-point order for astral
characters, so listings are re-sorted in Python.
"""

from __future__ import annotations

from typing import Any, Self

from webstore.backends import Capabilities
from webstore.errors import StorageUnavailable
from webstore.platform.bridge import _JsBackend, error_name, helper, to_js

__all__ = ["DEFAULT_LOCATION", "IndexedDBBackend"]

DEFAULT_LOCATION = "webstore"


def _js() -> Any:
    return helper(IndexedDBBackend.helper_file)


class IndexedDBBackend(_JsBackend):
    """A browser IndexedDB database; every operation is one transaction."""

    name = "indexeddb"
    helper_file = "idb.js"
    capabilities = Capabilities(
        persistent=True, atomic_batches=True, binary_safe=True, shared=True,
        split_values=True,
    )

    def __init__(self, location: str | None = None, *, _conn: Any = None) -> None:
        super().__init__()
        self.location = DEFAULT_LOCATION if location is None else str(location)
        self._conn = _conn
        self.large_values = "in IndexedDB"
        """Where split values of many megabytes go, and why (``opfs.js`` decides per engine)."""

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
        files = await helper("opfs.js").open(name)
        try:
            conn = await _js().open(name, files)
        except JsException as exc:
            raise StorageUnavailable(
                f"cannot open IndexedDB database {name!r}: {exc}",
                backend=cls.name, reason=str(exc),
            ) from exc
        backend = cls(name, _conn=conn)
        backend.large_values = str(files.reason)
        return backend

    def _target(self) -> tuple[Any, ...]:
        return (self._conn,)

    def _translate(self, exc: Exception) -> Exception | None:
        # docstring inherited
        if error_name(exc) == "StorageUnavailableError":  # reopen after versionchange failed
            message = str(exc).removeprefix("StorageUnavailableError: ")
            return StorageUnavailable(message, backend=self.name, reason=message)
        return super()._translate(exc)

    async def set_parts(self, key: str, head: bytes, data: Any) -> None:
        """Store a layout-2 record: ``data`` (a JS buffer) is cloned by IndexedDB alone."""
        await self._call("setParts", key, to_js(bytes(head)), data)

    async def get_parts(self, key: str) -> bytes | tuple[bytes, Any] | None:
        """``(head, ArrayBuffer)`` of a layout-2 record, else bytes or ``None``."""
        found = await self._call("getParts", key)  # [], [bytes] or [head, data]
        if len(found) == 2:
            return found[0].to_bytes(), found[1]
        return found[0].to_bytes() if len(found) else None

    async def collect(self) -> int:
        """Delete OPFS files no record names any more (after deletes and overwrites).

        Returns how many were deleted. Safe while other tabs and workers write: it holds the
        exclusive Web Lock that every OPFS writer holds shared from its file to its record.
        """
        return int(await self._call("collect"))

    async def close(self) -> None:
        """Close the connection; later calls raise StoreClosed."""
        if not self._closed and self._conn is not None:
            _js().close(self._conn)
        await super().close()

    async def destroy(self) -> None:
        """Close and delete the whole database (tests, "forget me" buttons)."""
        await self.close()
        await _js().destroy(self.location)
        await helper("opfs.js").destroy(self.location)
