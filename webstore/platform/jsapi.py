"""The Python half of the JavaScript API (``wasm/js/``): key-value stores for JS.

``JsStore`` wraps a :class:`~webstore.Store`; ``call(op, *args)`` runs one operation and
answers with an envelope. How values and errors cross the boundary is
:mod:`webstore.platform.jsvalues`. Repos and sync (:mod:`webstore.platform.jsrepo`) are
imported on the first ``openRepo``/``cloneRepo``: a page that only uses the key-value store
does not load the versioned store at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from webstore._open import open as open_store
from webstore.errors import InvalidArgument
from webstore.kv.codec import parts_head
from webstore.kv.store import Parts, Store
from webstore.kv.watch import KeyChange, KeyWatchHandle
from webstore.platform import quota
from webstore.platform.jsvalues import (
    batch_to_js,
    binary_from_js,
    binary_to_js,
    envelope,
    error_envelope,
    from_js,
    plain_typed,
    started,
    to_js,
)

__all__ = ["JsStore", "clone_repo", "from_js", "open_kv", "open_repo", "to_js"]

_MISSING = object()


def _key_list(text: Any) -> list[Any]:
    """The keys of a batch, sent by index.js as JSON text (one string, not one proxy each)."""
    keys = json.loads(text) if type(text) is str else None
    if type(keys) is not list:
        raise InvalidArgument("keys must be an iterable of strings", argument="keys")
    return keys
# -- key-value stores -----------------------------------------------------------------------

class JsStore:
    """A :class:`Store` seen from JavaScript: ``call(op, *args)`` returns an envelope."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def info(self) -> Any:
        """Backend name, selection and capabilities as a JS object."""
        backend = self.store.backend
        sel = backend.selection
        caps = backend.capabilities
        return to_js({
            "backend": backend.name,
            "selection": {
                "backend": sel.backend if sel else backend.name,
                "reason": sel.reason if sel else "chosen by the caller",
                "refused": dict(sel.refused) if sel else {},
            },
            "capabilities": {
                "persistent": caps.persistent, "atomicBatches": caps.atomic_batches,
                "binarySafe": caps.binary_safe, "maxValueBytes": caps.max_value_bytes,
                "shared": caps.shared, "splitValues": caps.split_values,
            },
            "largeValues": getattr(backend, "large_values", "in the backend"),
        })

    def call(self, op: str, *args: Any) -> Any:
        """Run operation ``op`` and return its envelope (a JS Promise)."""
        return envelope(getattr(self, "_" + op)(*args))

    # Reads answer [found, batch_to_js(value)]: values.js fromPython rebuilds the value from
    # JSON text and one buffer, however many typed arrays it holds.
    async def _get(self, key: Any) -> Any:
        with plain_typed():
            value = await self.store.get(key, _MISSING)
        return [value is not _MISSING, None if value is _MISSING else batch_to_js(value)]

    async def _set(self, key: Any, value: Any) -> None:
        await self.store.set(key, from_js(value))

    async def _set_parts(self, key: Any, kind: str, digest: Any, data: Any) -> None:
        # index.js: a typed array or ArrayBuffer whose SHA-256 JS computed; ``data`` stays a
        # JS buffer all the way into IndexedDB (layout 2, webstore.kv.codec).
        head = parts_head(str(kind), int(data.byteLength), digest.to_bytes())
        await self.store.set_parts(key, head, data)

    async def _get_parts(self, key: Any) -> list[Any]:
        # [found, value] or, for a layout-2 value, [true, null, [kind, digest, length, data]]:
        # index.js checks the digest natively and wraps the buffer, no copy through Python.
        with plain_typed():
            value = await self.store.get_parts(key, _MISSING)
        if isinstance(value, Parts):
            return [True, None, [value.kind, value.digest, value.length, value.data]]
        return [value is not _MISSING, None if value is _MISSING else batch_to_js(value)]

    async def _delete(self, key: Any) -> None:
        await self.store.delete(key)

    async def _has(self, key: Any) -> bool:
        return await self.store.has(key)

    async def _keys(self, prefix: Any) -> list[str]:
        return await self.store.keys(prefix)

    async def _entries(self, prefix: Any) -> list[Any]:
        with plain_typed():
            pairs = await self.store.items(prefix)
        return batch_to_js(pairs)

    async def _set_many(self, pairs: Any) -> None:
        items = from_js(pairs)
        await self.store.set_many([tuple(p) for p in items])

    async def _set_many_binary(self, keys: Any, codes: Any, ends: Any, blob: Any) -> None:
        # index.js: every value one typed array or ArrayBuffer (values.js binaryBatch).
        values = binary_from_js(codes, ends, blob)
        names = _key_list(keys)
        if len(names) != len(values):
            raise InvalidArgument("binary batch: one value per key", argument="entries")
        await self.store.set_many(list(zip(names, values, strict=True)))

    async def _get_many(self, keys: Any) -> list[Any]:
        # A binary batch when every value is binary, else [jsonText, bytes] of
        # [[found, value], ...]: one answer, however many values.
        with plain_typed():
            values = await self.store.get_many(_key_list(keys), _MISSING)
        binary = binary_to_js(values, _MISSING)
        if binary is not None:
            return binary
        return batch_to_js([[v is not _MISSING, None if v is _MISSING else v] for v in values])

    async def _delete_many(self, keys: Any) -> None:
        await self.store.delete_many(_key_list(keys))

    async def _clear(self) -> None:
        await self.store.clear()

    async def _close(self) -> None:
        await self.store.close()

    async def _collect(self) -> int:
        return await self.store.collect()

    async def _estimate(self) -> Any:
        return {"estimate": await quota.estimate(), "persisted": await quota.persisted()}

    async def _persist(self) -> bool | None:
        return await quota.persist()

    def watch(self, callback: Callable[..., Any], prefix: str) -> Any:
        """Watch the store; ``callback([{key, type}])`` gets a JS array (a Promise is awaited)."""
        def deliver(changes: list[KeyChange]) -> Any:
            return callback(to_js([{"key": c.key, "type": c.kind} for c in changes]))

        return started(lambda: self.store.watch(deliver, prefix))

    unwatch = staticmethod(KeyWatchHandle.unwatch)
    """Stop a watch started by :meth:`watch`."""


def open_kv(name: Any, backend: Any, path: Any) -> Any:
    """Open a store: a :class:`JsStore` (a PyProxy in JS), or an error envelope."""
    async def work() -> Any:
        try:
            store = await open_store(name, backend, path=path)
        except Exception as exc:
            return to_js(error_envelope(exc))
        return JsStore(store)

    return work()


def open_repo(name: Any, backend: Any, path: Any, object_format: Any = None) -> Any:
    """:func:`webstore.platform.jsrepo.open_repo` (its module loaded on first use)."""
    from webstore.platform import jsrepo

    return jsrepo.open_repo(name, backend, path, object_format)


def clone_repo(remote: Any, name: Any, backend: Any, path: Any, object_format: Any) -> Any:
    """:func:`webstore.platform.jsrepo.clone_repo` (its module loaded on first use)."""
    from webstore.platform import jsrepo

    return jsrepo.clone_repo(remote, name, backend, path, object_format)
