"""The Python half of the JavaScript API (``wasm/js/``): stores, repos and sync for JS.

``JsStore`` and ``JsRepo`` wrap a :class:`~webstore.Store` and a
:class:`~webstore.versioned.Repo`; ``call(op, *args)`` runs one operation and answers with
an envelope. How values and errors cross the boundary is :mod:`webstore.platform.jsvalues`.
"""

from __future__ import annotations

import contextlib
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
    hex_id,
    plain_typed,
    started,
    to_js,
)
from webstore.versioned import (
    Added,
    MergeResult,
    Removed,
    Repo,
    WatchHandle,
    clone,
    fetch,
    pull,
    push,
)
from webstore.versioned.history import HistoryPage
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.merge import ABSENT, SUBTREE

__all__ = ["JsRepo", "JsStore", "clone_repo", "from_js", "open_repo", "open_kv", "to_js"]

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


# -- versioned repos ------------------------------------------------------------------------

def _marker(value: Any) -> dict[str, Any]:
    if value is ABSENT:
        return {"kind": "absent"}
    if value is SUBTREE:
        return {"kind": "subtree"}
    return {"kind": "value", "value": value}


def _merge_result(result: MergeResult) -> dict[str, Any]:
    return {
        "commit": hex_id(result.commit), "fastForward": result.fast_forward,
        "changed": result.changed, "ok": result.ok,
        "conflicts": [
            {"path": c.path, "base": _marker(c.base), "ours": _marker(c.ours),
             "theirs": _marker(c.theirs)} for c in result.conflicts
        ],
    }


def _changes(changes: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in changes:
        if isinstance(c, Added):
            out.append({"type": "added", "path": c.path, "value": c.value})
        elif isinstance(c, Removed):
            out.append({"type": "removed", "path": c.path, "value": c.value})
        else:
            out.append({"type": "updated", "path": c.path, "old": c.old, "new": c.new})
    return out


def _page(page: HistoryPage) -> dict[str, Any]:
    return {
        "cursor": page.cursor,
        "entries": [
            {"id": e.hex, "message": e.message, "time": e.commit.committer.time * 1000,
             "author": {"name": e.commit.author.name, "email": e.commit.author.email},
             "parents": [to_hex(p) for p in e.commit.parents]} for e in page.entries
        ],
    }


class JsRepo:
    """A :class:`Repo` seen from JavaScript: ``call(op, *args)`` returns an envelope."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def call(self, op: str, *args: Any) -> Any:
        """Run operation ``op`` and return its envelope (a JS Promise)."""
        return envelope(getattr(self, "_" + op)(*args))

    async def _branches(self) -> list[str]:
        return await self.repo.branches()

    async def _head(self, branch: str) -> str | None:
        return hex_id(await self.repo.branch(branch).head())

    async def _set(self, branch: str, path: str, value: Any, message: Any) -> str:
        oid = await self.repo.branch(branch).set(path, from_js(value), message=message)
        return to_hex(oid)

    async def _remove(self, branch: str, path: str, message: Any) -> str | None:
        return hex_id(await self.repo.branch(branch).remove(path, message=message))

    async def _set_many(self, branch: str, pairs: Any, message: Any) -> str | None:
        b = self.repo.branch(branch)
        async with b.transaction(message) as tx:
            for path, value in from_js(pairs):
                if value is None:
                    tx.remove(path)
                else:
                    tx.set(path, value)
        return hex_id(tx.commit) if tx.commit is not None else hex_id(await b.head())

    async def _view(self, rev: str | None, is_branch: bool) -> Any:
        if is_branch and rev is not None:
            return await self.repo.branch(rev).view()
        return await self.repo.at(rev)

    async def _get(self, rev: str, is_branch: bool, path: str) -> list[Any]:
        view = await self._view(rev, is_branch)
        found = await view.has(path)
        return [found, await view.find(path) if found else None]

    async def _items(self, rev: str, is_branch: bool, prefix: str) -> list[Any]:
        view = await self._view(rev, is_branch)
        return [list(p) for p in await view.items(prefix)]

    async def _list(self, rev: str, is_branch: bool, path: str) -> list[Any]:
        view = await self._view(rev, is_branch)
        return [list(p) for p in await view.list(path)]

    async def _history(self, rev: str, limit: int, cursor: str | None) -> dict[str, Any]:
        if cursor is None and len(rev) != 64 and await self.repo.branch(rev).head() is None \
                and rev not in await self.repo.tags():
            return {"entries": [], "cursor": None}  # a branch with no commit yet
        return _page(await self.repo.history(rev, limit=int(limit), cursor=cursor))

    async def _diff(self, old: str | None, new: str | None, prefix: str) -> list[Any]:
        return _changes(await self.repo.diff(old, new, prefix=prefix))

    async def _merge(self, into: str, source: str, message: Any) -> dict[str, Any]:
        return _merge_result(await self.repo.merge(into, source, message=message))

    async def _create_branch(self, name: str, start: str | None) -> None:
        await self.repo.create_branch(name, start)

    async def _delete_branch(self, name: str) -> None:
        await self.repo.delete_branch(name)

    async def _close(self) -> None:
        await self.repo.close()

    async def _push(self, branch: str, to: str | None, remote: Any) -> dict[str, Any]:
        server, progress = _remote(remote)
        return _merge_result(await push(self.repo, server, branch, to=to, progress=progress))

    async def _pull(self, branch: str, source: str | None, remote: Any) -> dict[str, Any]:
        server, progress = _remote(remote)
        return _merge_result(await pull(self.repo, server, branch, source=source,
                                        progress=progress))

    async def _fetch(self, remote: Any) -> dict[str, Any]:
        server, progress = _remote(remote)
        refs = await fetch(self.repo, server, progress=progress)
        assert isinstance(refs, dict)  # a remote answers with its refs
        return {"refs": {name: to_hex(oid) for name, oid in refs.items()}}

    def watch(self, branch: str, callback: Callable[..., Any], prefix: str) -> Any:
        """Watch ``branch``; ``callback(oldHex, newHex, changes)`` gets JS values."""
        def deliver(old: ObjectId | None, new: ObjectId | None, changes: list[Any]) -> None:
            callback(to_js(hex_id(old)), to_js(hex_id(new)), to_js(_changes(changes)))

        return started(lambda: self.repo.branch(branch).watch(deliver, prefix=prefix))

    unwatch = staticmethod(WatchHandle.unwatch)
    """Stop a watch started by :meth:`watch`."""


def open_repo(name: Any, backend: Any, path: Any, object_format: Any = None) -> Any:
    """Open a repo: a :class:`JsRepo` (a PyProxy in JS), or an error envelope."""
    async def work() -> Any:
        try:
            repo = await Repo.open(name, backend=backend, path=path,
                                   object_format=object_format)
        except Exception as exc:
            return to_js(error_envelope(exc))
        return JsRepo(repo)

    return work()


# -- Git servers ----------------------------------------------------------------------------

def _remote(remote: Any) -> tuple[Any, Callable[[str, int], None] | None]:
    """A ``GitRemote`` for one call (credentials live only in it) and the progress callback.

    ``remote`` is ``[url, username, password, headers, corsProxy, onProgress]`` from
    ``index.js``: ``headers`` as ``[[name, value], ...]``, ``onProgress`` a JS function called
    with ``{phase, objects}``.
    """
    from webstore.remote import GitRemote  # loaded on first sync: cold start of other pages

    url, username, password, headers, cors_proxy, on_progress = remote
    extra = None if headers is None else {str(k): str(v) for k, v in headers}
    server = GitRemote(url, username=username, password=password, headers=extra,
                       cors_proxy=cors_proxy)
    if on_progress is None:
        return server, None

    def progress(phase: str, objects: int) -> None:
        on_progress(to_js({"phase": phase, "objects": objects}))

    return server, progress


def clone_repo(remote: Any, name: Any, backend: Any, path: Any, object_format: Any) -> Any:
    """Clone a Git server repo into the repo ``name``: a :class:`JsRepo`, or an error envelope.

    Without ``object_format`` the repo takes the server's (a clone cannot use another).
    """
    async def work() -> Any:
        repo = None
        try:
            server, progress = _remote(remote)
            fmt = object_format or (await server.capabilities()).get(
                "object-format", "sha1").split()[0]
            repo = await Repo.open(name, backend=backend, path=path, object_format=fmt)
            await clone(server, repo, progress=progress)
        except Exception as exc:
            if repo is not None:
                with contextlib.suppress(Exception):
                    await repo.close()
            return to_js(error_envelope(exc))
        return JsRepo(repo)

    return work()

