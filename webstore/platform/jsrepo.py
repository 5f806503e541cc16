"""The Python half of the JavaScript API (``wasm/js/``): versioned repos and Git sync for JS.

``JsRepo`` wraps a :class:`~webstore.versioned.Repo`; ``call(op, *args)`` runs one operation
and answers with an envelope (:mod:`webstore.platform.jsvalues`). Loaded by
:mod:`webstore.platform.jsapi` on the first ``openRepo``/``cloneRepo``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from webstore.platform.jsvalues import envelope, error_envelope, from_js, started, to_js
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

__all__ = ["JsRepo", "clone_repo", "hex_id", "open_repo"]


def hex_id(oid: ObjectId | None) -> str | None:
    """An object id as Git shows it (``None`` stays ``None``)."""
    return None if oid is None else to_hex(oid)


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

