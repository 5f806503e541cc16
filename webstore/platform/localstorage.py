"""localStorage backend: the persistent fallback where IndexedDB is missing (Pyodide only).

Layout: every key is stored as ``location + NUL + key`` (default location ``"webstore"``),
so stores never collide with each other or with other code on the page. Values are bytes
packed 15 bits per UTF-16 code unit into U+0800..U+87FF (no surrogates or control characters,
which some engines mangle), after one marker character. The quota counts UTF-16 code units
(about 5 million per origin), so density matters. Measured with V8 (Node 20, the engine of
Chromium), 1 MiB of pseudo-random bytes, encode + decode in JS, best of 7:

==============  ======================  ==========================
encoding        bytes per stored unit   encode + decode, 1 MiB
==============  ======================  ==========================
15-bit packing  1.875                   6.9 ms
latin-1 chars   1.0                     7.5 ms
base64          0.75                    9.4 ms (btoa/atob)
==============  ======================  ==========================

Atomicity: each operation is one synchronous JavaScript call, which no other script in the
tab can interleave with; ``set_many`` puts back the previous values if the quota stops it
midway (all or nothing). Across tabs, writes and ``set_if_equals`` hold a Web Lock named
after the location where ``navigator.locks`` exists, so tabs take turns. Taking turns is not
seeing each other's writes: Chromium gives each tab its own copy that other tabs' writes reach
asynchronously, so two tabs can still lose updates (4 of 1,000 commits, 18 torn reads in
docs/RELIABILITY.md; Firefox showed none). Prefer IndexedDB for state that several tabs update
concurrently (that backend is transactional across tabs).
"""

from __future__ import annotations

from typing import Any, Self

from webstore.backends import Capabilities
from webstore.errors import InvalidArgument, StorageUnavailable
from webstore.platform.bridge import _JsBackend

__all__ = ["DEFAULT_LOCATION", "LocalStorageBackend"]

DEFAULT_LOCATION = "webstore"

def _storage(name: str) -> Any:
    """``window.localStorage``; raises StorageUnavailable saying why it can't be used."""
    import js
    from pyodide import ffi
    from pyodide.ffi import JsException

    try:
        storage = getattr(js, "localStorage", None)
    except JsException as exc:  # SecurityError: disabled storage, opaque origins
        raise StorageUnavailable(f"localStorage is not accessible: {exc}", backend=name,
                                 reason=f"localStorage is not accessible: {exc}") from exc
    if storage is None:
        reason = "localStorage is not defined in this runtime"
        raise StorageUnavailable(reason, backend=name, reason=reason)
    if storage is getattr(ffi, "jsnull", None):  # e.g. Firefox with dom.storage.enabled=false
        reason = "localStorage is null: the browser has storage disabled"
        raise StorageUnavailable(reason, backend=name, reason=reason)
    if not hasattr(storage, "getItem"):  # Node >= 25 without --localstorage-file
        reason = "localStorage is not a Storage object (no getItem)"
        raise StorageUnavailable(reason, backend=name, reason=reason)
    return storage


class LocalStorageBackend(_JsBackend):
    """Window ``localStorage`` under a per-location key prefix."""

    name = "localstorage"
    helper_file = "localstorage.js"
    capabilities = Capabilities(
        persistent=True, atomic_batches=True, binary_safe=False,
        max_value_bytes=4_000_000, shared=True, storage_events=True,
    )

    def __init__(self, location: str | None = None, *, _storage_object: Any = None) -> None:
        super().__init__()
        self.location = DEFAULT_LOCATION if location is None else str(location)
        if "\0" in self.location:
            raise InvalidArgument("a localStorage location cannot contain NUL",
                                  argument="location")
        self._storage = _storage_object if _storage_object is not None else _storage(self.name)

    @classmethod
    async def create(cls, **options: Any) -> Self:
        """Find ``localStorage``; the probe then proves it really stores (private modes)."""
        location = options.pop("location", None)
        if options:
            raise TypeError(f"unexpected options for localstorage: {sorted(options)}")
        return cls(None if location is None else str(location))

    def _target(self) -> tuple[Any, ...]:
        return (self._storage, self.location)

    async def destroy(self) -> None:
        """Remove every key of this location and close."""
        await self.delete_prefix("")
        await self.close()
