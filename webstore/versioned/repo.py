"""``Repo(objects, refs)``: an object store and a ref store composed into the versioned store.

The shape is dulwich's ``BaseRepo`` and Irmin's ``Store.Make``.

``await Repo.open(...)`` accepts a :class:`~webstore.Store` (the repo lives beside it under its
name), a :class:`~webstore.Backend`, or a store name opened with :func:`webstore.open`.
:meth:`Repo.memory` is a ready-wired in-memory repo for tests.

A repo names its objects in one format for its whole life, SHA-256 (the default) or SHA-1
(what GitHub accepts): ``object_format=`` when it is created, stored beside its refs and
objects under ``repo_prefix(name) + "format"`` (see :mod:`~webstore.versioned.formats`).
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from webstore._runtime import Channel
from webstore.backends import Backend
from webstore.errors import InvalidArgument, KeyNotFound, RefMoved
from webstore.keys import namespace_prefix
from webstore.kv.store import Store
from webstore.versioned.branch import Branch, View
from webstore.versioned.diff import Change, diff_roots
from webstore.versioned.formats import StoredFormat
from webstore.versioned.history import HistoryPage, history, is_ancestor, merge_bases
from webstore.versioned.ids import ObjectFormat, ObjectId, to_hex
from webstore.versioned.ids import object_format as format_named
from webstore.versioned.merge import MergeFunction, MergeFunctions, MergeResult, merge_trees
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Commit, GitObject, Signature
from webstore.versioned.refs import RefStore, check_ref_name
from webstore.versioned.trees import Path, split_path, write_changes
from webstore.versioned.watch import WatchCallback, WatchHandle, call_back

__all__ = ["Author", "Repo", "repo_prefix"]

Author = tuple[str, str] | Signature
"""``(name, email)`` (time taken from the repo's clock) or a full :class:`Signature`."""

_DEFAULT_AUTHOR = ("webstore", "webstore@localhost")
_memory_ids = itertools.count()


def repo_prefix(name: str) -> str:
    """Backend key prefix of the repo named ``name`` (beside, not inside, the Store ``name``)."""
    return "~v" + namespace_prefix(name)


class Repo:
    """Branches, tags, history, diff and merge over ``objects`` and ``refs``."""

    def __init__(self, objects: ObjectStore, refs: RefStore, *, author: Author | None = None,
                 clock: Callable[[], float] | None = None,
                 on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        if objects.object_format != refs.object_format:
            raise InvalidArgument(
                f"objects are {objects.object_format.name} but refs are "
                f"{refs.object_format.name}: a repo keeps one object format", argument="refs")
        self.objects = objects
        self.refs = refs
        self.author = author or _DEFAULT_AUTHOR
        self.clock = clock or time.time
        self.merge_functions = MergeFunctions()
        self._on_close = on_close

    @property
    def store_id(self) -> str:
        """Names the storage: repos on the same storage, in any tab, share it."""
        return self.refs.store_id

    @property
    def channel(self) -> Channel | None:
        """Carries this repo's ref moves to other tabs/processes (``None``: in-process only)."""
        return self.refs.channel

    @property
    def object_format(self) -> str:
        """``"sha256"`` or ``"sha1"``: how this repo names its objects.

        Known once the repo is opened by :meth:`open`; a repo from :meth:`on_backend` or
        :meth:`memory` reads its stored format on its first read or write (or
        :meth:`resolve_format`), until then this is the requested format (default SHA-256).
        """
        return self.objects.object_format.name

    async def resolve_format(self) -> ObjectFormat:
        """The repo's object format, read (or, for a new repo, stored) first if need be.

        Raises :class:`InvalidArgument` when the repo was created with another format than
        the one asked for, :class:`IntegrityError` when its format key holds garbage.
        """
        fmt = await self.objects.resolve_format()
        await self.refs.resolve_format()
        return fmt

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def on_backend(cls, backend: Backend, name: str = "default", *,
                   object_format: str | ObjectFormat | None = None, **options: Any) -> Repo:
        """The repo ``name`` on an open backend.

        ``object_format`` (``"sha256"`` or ``"sha1"``) is chosen when the repo is created and
        stored with it; ``None`` means the stored one (SHA-256 for a new repo). The stored
        format is read on the first read or write (see :meth:`resolve_format`); a mismatch
        raises :class:`InvalidArgument` there.
        """
        if not isinstance(backend, Backend):
            raise InvalidArgument(f"backend must be a Backend, not {type(backend).__name__}",
                                  argument="backend")
        requested = None if object_format is None else format_named(object_format)
        base = repo_prefix(name)
        stored = StoredFormat(backend, base + "format", requested, (base + "r/", base + "o/"))
        return cls(ObjectStore(backend, base + "o/", object_format=stored),
                   RefStore(backend, base + "r/", object_format=stored), **options)

    @classmethod
    async def open(cls, target: Store | Backend | str = "default", *,
                   backend: str | Backend | None = None, path: str | None = None,
                   name: str | None = None, **options: Any) -> Repo:
        """Open a repo on a Store (same name), a Backend (``name``) or a named store.

        ``object_format`` (``"sha256"`` or ``"sha1"``, an option) is chosen when the repo is
        created and stored with it; without it an existing repo opens in its own format, a
        new one as SHA-256. Another format than the stored one raises
        :class:`InvalidArgument` naming both. A store opened here from a name is closed by
        :meth:`close`.
        """
        if isinstance(target, Store):
            repo = cls.on_backend(target.backend, name or target.name, **options)
        elif isinstance(target, Backend):
            repo = cls.on_backend(target, name or "default", **options)
        elif type(target) is not str:
            raise InvalidArgument("target must be a Store, a Backend or a store name, not "
                                  f"{type(target).__name__}", argument="target")
        else:
            from webstore._open import open as open_store

            if options.get("object_format") is not None:
                format_named(options["object_format"])  # a bad argument opens nothing
            store = await open_store(target, backend, path=path)
            try:
                repo = cls.on_backend(store.backend, name or target, on_close=store.close,
                                      **options)
            except BaseException:
                await store.close()
                raise
        try:
            await repo.resolve_format()
        except BaseException:
            await repo.close()
            raise
        return repo

    @classmethod
    def memory(cls, name: str | None = None, *, object_format: str | ObjectFormat | None = None,
               **options: Any) -> Repo:
        """A fresh in-memory repo (shared by name within the process when ``name`` is given)."""
        from webstore.backends._memory import MemoryBackend

        location = name if name is not None else f"repo-{next(_memory_ids)}-{id(cls)}"
        return cls.on_backend(MemoryBackend(location), "repo", object_format=object_format,
                              **options)

    async def close(self) -> None:
        """Close the underlying store if this repo opened it."""
        if self._on_close is not None:
            await self._on_close()
            self._on_close = None

    async def __aenter__(self) -> Repo:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- building commits ---------------------------------------------------------------------

    def signature(self, author: Author | None = None, not_before: int = 0) -> Signature:
        """A signature for ``author`` (default: the repo's) at the clock's current time."""
        who = author or self.author
        if isinstance(who, Signature):
            return who
        if not (isinstance(who, tuple) and len(who) == 2):
            raise InvalidArgument("author must be (name, email) or a Signature",
                                  argument="author")
        return Signature(who[0], who[1], max(int(self.clock()), not_before))

    async def make_commit(self, tree: ObjectId, parents: list[ObjectId], message: str,
                          author: Author | None = None) -> Commit:
        """A commit object (not stored); its time never precedes its parents'."""
        if type(message) is not str:
            raise InvalidArgument("message must be a str", argument="message")
        floor = 0
        for p in parents:
            floor = max(floor, (await self.objects.read_commit(p)).committer.time)
        sig = self.signature(author, floor)
        text = message if message.endswith("\n") else message + "\n"
        return Commit(tree, tuple(parents), sig, sig, text)

    async def write_tree_changes(self, root: ObjectId | None,
                                 changes: Mapping[Path, ObjectId | None]
                                 ) -> tuple[ObjectId, list[GitObject]]:
        """New root tree and the trees to store (see :func:`write_changes`)."""
        return await write_changes(self.objects, root, changes)

    # -- refs ---------------------------------------------------------------------------------

    def branch(self, name: str = "main") -> Branch:
        """The branch ``name`` (it need not exist yet: its first write creates it)."""
        return Branch(self, check_ref_name(name))

    async def branches(self) -> list[str]:
        """Names of all branches."""
        return [r[len("heads/"):] for r in await self.refs.list("heads/")]

    async def tags(self) -> dict[str, ObjectId]:
        """Tag name -> commit."""
        return {r[len("tags/"):]: oid for r, oid in (await self.refs.list("tags/")).items()}

    async def resolve(self, rev: str | ObjectId, argument: str = "rev") -> ObjectId:
        """Commit of a branch name, ``tags/<name>``, tag name, or commit id (bytes / hex)."""
        fmt = await self.resolve_format()
        if isinstance(rev, bytes):
            oid = fmt.parse_id(rev, argument)
        elif type(rev) is str:
            found = await self.refs.get("heads/" + rev) if not rev.startswith("tags/") else None
            if found is None:
                found = await self.refs.get(rev if rev.startswith("tags/") else "tags/" + rev)
            if found is not None:
                return found
            if len(rev) != fmt.hex_length:
                raise KeyNotFound(rev, where="branches and tags")
            oid = fmt.parse_id(rev, argument)
        else:
            raise InvalidArgument(f"{argument} must be a branch, tag or commit id, not "
                                  f"{type(rev).__name__}", argument=argument)
        await self.objects.read_commit(oid)
        return oid

    async def create_branch(self, name: str, start: str | ObjectId | None = None) -> Branch:
        """Create ``name`` at ``start`` (a rev); raise :class:`RefMoved` if it exists."""
        branch = self.branch(name)
        target = None if start is None else await self.resolve(start, "start")
        if target is None:
            return branch
        if not await self.refs.set_if_equals(branch.ref, None, target):
            raise RefMoved(f"branch {name!r} already exists", ref=branch.ref)
        return branch

    async def fork(self, source: str, name: str) -> Branch:
        """A new branch ``name`` at the head of ``source`` (deprecated spelling).

        Its arguments run opposite to :meth:`create_branch` (and ``git branch NAME START``),
        which is the one to use: ``create_branch(name, source)``.
        """
        warnings.warn("Repo.fork(source, name) is deprecated; use "
                      "Repo.create_branch(name, source)", DeprecationWarning, stacklevel=2)
        return await self.create_branch(name, source)

    async def delete_branch(self, name: str) -> None:
        """Delete a branch (its commits stay in the object store)."""
        ref = self.branch(name).ref
        old = await self.refs.get(ref)
        if old is None:
            raise KeyNotFound(name, where="branches")
        if not await self.refs.set_if_equals(ref, old, None):
            raise RefMoved(f"branch {name!r} moved while being deleted", ref=ref)

    async def tag(self, name: str, rev: str | ObjectId) -> ObjectId:
        """Name a commit as a snapshot; tags never move (existing tag: :class:`RefMoved`)."""
        oid = await self.resolve(rev)
        if not await self.refs.set_if_equals("tags/" + check_ref_name(name), None, oid):
            raise RefMoved(f"tag {name!r} already exists", ref="tags/" + name)
        return oid

    async def delete_tag(self, name: str) -> None:
        """Remove a tag."""
        await self.refs.set("tags/" + check_ref_name(name), None)

    # -- reading ------------------------------------------------------------------------------

    async def at(self, rev: str | ObjectId | None) -> View:
        """Read-only view of a commit (time travel); ``None`` is the empty tree."""
        if rev is None:
            return View(self, None, None)
        oid = await self.resolve(rev)
        return View(self, oid, (await self.objects.read_commit(oid)).tree)

    async def commit(self, rev: str | ObjectId) -> Commit:
        """The parsed commit of a rev."""
        return await self.objects.read_commit(await self.resolve(rev))

    async def history(self, rev: str | ObjectId = "main", *, limit: int = 50,
                      cursor: str | None = None) -> HistoryPage:
        """Commits reachable from ``rev``, newest first, in pages of ``limit``."""
        heads = [] if cursor is not None else [await self.resolve(rev)]
        return await history(self.objects, heads, limit=limit, cursor=cursor)

    async def diff(self, old: str | ObjectId | None, new: str | ObjectId | None, *,
                   prefix: str = "") -> list[Change]:
        """Added / Removed / Updated from ``old`` to ``new`` (``None``: empty)."""
        parts = split_path(prefix, "prefix", allow_root=True)
        a = None if old is None else (await self.commit(old)).tree
        b = None if new is None else (await self.commit(new)).tree
        return await diff_roots(self.objects, a, b, parts)

    # -- merging ------------------------------------------------------------------------------

    def register_merge(self, prefix: str, fn: MergeFunction) -> None:
        """Use ``fn(path, base, ours, theirs)`` for values at and below ``prefix``."""
        self.merge_functions.register(prefix, fn)

    async def merge_base_tree(self, ours: ObjectId, theirs: ObjectId, *,
                              _memo: dict[tuple[ObjectId, ObjectId], ObjectId | None] | None
                              = None) -> ObjectId | None:
        """Tree of the lowest common ancestor(s); several are merged into a virtual base.

        Criss-cross histories (branches that merged each other) have several bases whose own
        bases are merged recursively; each pair is computed once per call (``_memo``), so the
        recursion stays polynomial instead of repeating shared sub-merges.
        """
        memo: dict[tuple[ObjectId, ObjectId], ObjectId | None] = {} if _memo is None else _memo
        key = (ours, theirs) if ours <= theirs else (theirs, ours)
        if key in memo:
            return memo[key]
        bases = await merge_bases(self.objects, ours, theirs)
        tree: ObjectId | None = None
        if bases:
            tree = (await self.objects.read_commit(bases[0])).tree
            for other in bases[1:]:
                deeper = await self.merge_base_tree(bases[0], other, _memo=memo)
                other_tree = (await self.objects.read_commit(other)).tree
                tree, objs, _ = await merge_trees(self.objects, deeper, tree, other_tree,
                                                  self.merge_functions)
                await self.objects.add(objs)
        memo[key] = tree
        return tree

    async def merge(self, into: str, source: str | ObjectId, *, message: str | None = None,
                    author: Author | None = None) -> MergeResult:
        """Three-way merge of ``source`` into branch ``into``; fast-forward when possible.

        Conflicts come back in the result and nothing is committed. Raises :class:`RefMoved`
        if ``into`` moved while merging.
        """
        branch = self.branch(into)
        ours = await branch.head()
        theirs = await self.resolve(source, "source")
        if ours is not None and await is_ancestor(self.objects, theirs, ours):
            return MergeResult(ours, changed=False)
        if ours is None or await is_ancestor(self.objects, ours, theirs):
            if not await self.refs.set_if_equals(branch.ref, ours, theirs):
                raise RefMoved(f"branch {into!r} moved during the merge", ref=branch.ref)
            return MergeResult(theirs, fast_forward=True)
        base = await self.merge_base_tree(ours, theirs)
        ours_tree = (await self.objects.read_commit(ours)).tree
        theirs_tree = (await self.objects.read_commit(theirs)).tree
        tree, objs, conflicts = await merge_trees(self.objects, base, ours_tree, theirs_tree,
                                                  self.merge_functions)
        if conflicts:
            return MergeResult(None, conflicts)
        name = source if isinstance(source, str) else to_hex(source)[:12]
        commit = await self.make_commit(tree, [ours, theirs],
                                        message or f"Merge {name} into {into}", author)
        commit_id = (await self.objects.add([*objs, commit]))[-1]
        if not await self.refs.set_if_equals(branch.ref, ours, commit_id):
            raise RefMoved(f"branch {into!r} moved during the merge", ref=branch.ref)
        return MergeResult(commit_id)

    # -- watches ------------------------------------------------------------------------------

    def watch_ref(self, ref: str, callback: WatchCallback, prefix: Path = ()) -> WatchHandle:
        """Watch a ref; see :meth:`Branch.watch`."""
        if not callable(callback):
            raise InvalidArgument("callback must be callable", argument="callback")

        async def deliver(old: ObjectId | None, new: ObjectId | None) -> None:
            a = None if old is None else (await self.objects.read_commit(old)).tree
            b = None if new is None else (await self.objects.read_commit(new)).tree
            changes = await diff_roots(self.objects, a, b, prefix)
            if changes or not prefix:
                await call_back(callback, old, new, changes)

        return self.refs.watch(ref, deliver)
