"""Reading and writing paths: :class:`View` (a commit, read-only), :class:`Branch`, transactions.

Writes stage encoded values, build the new blob, the trees along the changed paths and the
commit, store them in one atomic batch, and only then move the branch by compare-and-set; a
crash at any point leaves the branch on a complete commit.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from webstore.errors import InvalidArgument, KeyNotFound, RefMoved
from webstore.versioned.diff import Change
from webstore.versioned.history import HistoryPage
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.objects import Blob
from webstore.versioned.trees import Path, join, lookup, split_path, walk
from webstore.versioned.values import decode_value, encode_value
from webstore.versioned.watch import WatchCallback, WatchHandle

if TYPE_CHECKING:
    from webstore.versioned.merge import MergeResult
    from webstore.versioned.repo import Author, Repo

__all__ = ["Branch", "Children", "Transaction", "View"]

Children = list[tuple[str, str]]
"""``(name, "value" | "tree")`` pairs returned by ``list``."""
Items = list[tuple[str, Any]]
Changes = list[Change]

_RETRIES = 32


class View:
    """Read-only contents of one commit (``repo.at(commit)``): time travel, snapshots."""

    def __init__(self, repo: Repo, commit: ObjectId | None, root: ObjectId | None) -> None:
        self.repo = repo
        self.commit = commit
        self.root = root

    async def find(self, path: str) -> Any:
        """Value at ``path``, ``None`` when there is none (or a subtree is there)."""
        parts = split_path(path)
        if self.root is None:
            return None
        entry = await lookup(self.repo.objects, self.root, parts)
        if entry is None or entry.is_tree:
            return None
        return decode_value((await self.repo.objects.read_blob(entry.id)).data, path)

    async def get(self, path: str, default: Any = None) -> Any:
        """Value at ``path``, or ``default`` when missing (like ``Store.get``)."""
        value = await self.find(path)
        if value is None and default is not None and not await self.has(path):
            return default
        return value

    async def require(self, path: str) -> Any:
        """Value at ``path``; raises :class:`KeyNotFound` when missing."""
        if not await self.has(path):
            raise KeyNotFound(path, where=self._where())
        return await self.find(path)

    async def has(self, path: str) -> bool:
        """Whether a value (not a subtree) is stored at ``path``."""
        parts = split_path(path)
        if self.root is None:
            return False
        entry = await lookup(self.repo.objects, self.root, parts)
        return entry is not None and not entry.is_tree

    async def list(self, path: str = "") -> Children:
        """Children of ``path`` as ``(name, "value" | "tree")``, sorted; ``[]`` if none."""
        parts = split_path(path, allow_root=True)
        if self.root is None:
            return []
        entry = await lookup(self.repo.objects, self.root, parts)
        if entry is None or not entry.is_tree:
            return []
        tree = await self.repo.objects.read_tree(entry.id)
        return [(n, "tree" if e.is_tree else "value") for n, e in sorted(tree.entries.items())]

    async def items(self, prefix: str = "") -> Items:
        """Every ``(path, value)`` under ``prefix`` (a subtree path), in path order."""
        parts = split_path(prefix, "prefix", allow_root=True)
        if self.root is None:
            return []
        entry = await lookup(self.repo.objects, self.root, parts)
        if entry is None:
            return []
        if not entry.is_tree:
            return [(prefix, await self.find(prefix))]
        out = []
        async for p, blob in walk(self.repo.objects, entry.id, parts):
            out.append((join(p), decode_value((await self.repo.objects.read_blob(blob)).data)))
        return out

    def _where(self) -> str:
        return "empty repo" if self.commit is None else f"commit {to_hex(self.commit)[:12]}"


class Branch:
    """A named, movable head with path reads and committing writes."""

    def __init__(self, repo: Repo, name: str) -> None:
        self.repo = repo
        self.name = name
        self.ref = "heads/" + name

    def __repr__(self) -> str:
        return f"<Branch {self.name!r}>"

    async def head(self) -> ObjectId | None:
        """Commit the branch points at, ``None`` while it has no commit."""
        return await self.repo.refs.get(self.ref)

    async def view(self) -> View:
        """Read-only view of the current head."""
        return await self.repo.at(await self.head())

    # -- reads (one head lookup each) ---------------------------------------------------------

    async def find(self, path: str) -> Any:
        """Value at ``path`` on the head, ``None`` when missing."""
        return await (await self.view()).find(path)

    async def get(self, path: str, default: Any = None) -> Any:
        """Value at ``path``, or ``default`` when missing."""
        return await (await self.view()).get(path, default)

    async def require(self, path: str) -> Any:
        """Value at ``path``; raises :class:`KeyNotFound` when missing."""
        view = await self.view()
        if not await view.has(path):
            raise KeyNotFound(path, where=f"branch {self.name!r}")
        return await view.find(path)

    async def has(self, path: str) -> bool:
        """Whether a value is stored at ``path``."""
        return await (await self.view()).has(path)

    async def list(self, path: str = "") -> Children:
        """Children of ``path``: ``(name, "value" | "tree")``."""
        return await (await self.view()).list(path)

    async def items(self, prefix: str = "") -> Items:
        """Every ``(path, value)`` under ``prefix``."""
        return await (await self.view()).items(prefix)

    # -- writes -------------------------------------------------------------------------------

    async def set(self, path: str, value: Any, *, message: str | None = None,
                  author: Author | None = None) -> ObjectId:
        """Commit ``value`` at ``path``; returns the new head.

        If another writer moves the branch meanwhile, the change is re-applied on top of its
        commit (so concurrent sets of different paths both survive).
        """
        parts = split_path(path)
        staged: dict[Path, bytes | None] = {parts: encode_value(value)}
        return await self.commit_staged(staged, message or f"set {path}", author, retry=True)

    async def remove(self, path: str, *, message: str | None = None,
                     author: Author | None = None) -> ObjectId | None:
        """Commit the removal of ``path`` (a value or a whole subtree)."""
        staged: dict[Path, bytes | None] = {split_path(path): None}
        return await self.commit_staged(staged, message or f"remove {path}", author, retry=True)

    def transaction(self, message: str | None = None, *, author: Author | None = None
                    ) -> Transaction:
        """``async with branch.transaction("msg") as tx:`` stages changes; one commit on exit."""
        return Transaction(self, message, author)

    async def commit_staged(self, staged: dict[Path, bytes | None], message: str,
                            author: Author | None = None, *, retry: bool = True,
                            expected: ObjectId | bool | None = False) -> ObjectId:
        """Commit encoded changes (path -> blob data, ``None`` = remove); the new head.

        ``expected`` is the head the changes were made against (``False``: whatever the head
        is). With ``retry``, a branch that moved meanwhile gets the changes re-applied on its
        new head; without, :class:`RefMoved` is raised and nothing changes. The ref's lock is
        held throughout (writers in other tabs take turns, FIFO, so a fast tab cannot make
        this one lose every compare-and-set); compare-and-set stays the guarantee.
        """
        repo = self.repo
        fmt = await repo.resolve_format()
        blobs = {p: Blob(d) for p, d in staged.items() if d is not None}
        changes = {p: (blobs[p].id_in(fmt) if p in blobs else None) for p in staged}
        async with repo.refs.update(self.ref) as move:
            for _ in range(_RETRIES):
                head = await self.head() if expected is False else expected
                assert head is None or isinstance(head, bytes)
                old_root = None if head is None else (await repo.objects.read_commit(head)).tree
                root, trees = await repo.write_tree_changes(old_root, changes)
                if head is not None and root == old_root:
                    return head  # nothing changed: no empty commit
                commit = await repo.make_commit(root, [] if head is None else [head], message,
                                                author)
                commit_id = (await repo.objects.add([*blobs.values(), *trees, commit]))[-1]
                if await move.set_if_equals(head, commit_id):
                    return commit_id
                if not retry:
                    raise RefMoved(f"branch {self.name!r} moved while committing; nothing "
                                   "changed", ref=self.ref, expected=head, got=await self.head())
                expected = False
        raise RefMoved(f"branch {self.name!r} kept moving; gave up after {_RETRIES} tries",
                       ref=self.ref)

    # -- history, merge, watch, tags -------------------------------------------------------

    async def history(self, *, limit: int = 50, cursor: str | None = None) -> HistoryPage:
        """Commits of the branch, newest first, ``limit`` per page."""
        return await self.repo.history(self.name, limit=limit, cursor=cursor)

    async def merge(self, source: str | ObjectId, *, message: str | None = None,
                    author: Author | None = None) -> MergeResult:
        """Merge a branch, tag or commit into this branch (see :meth:`Repo.merge`)."""
        return await self.repo.merge(self.name, source, message=message, author=author)

    async def tag(self, name: str) -> ObjectId:
        """Name the current head as a snapshot (a tag)."""
        head = await self.head()
        if head is None:
            raise InvalidArgument(f"branch {self.name!r} has no commit to tag", argument="name")
        await self.repo.tag(name, head)
        return head

    def watch(self, callback: WatchCallback, *, prefix: str = "") -> WatchHandle:
        """Call ``callback(old, new, diff)`` after each durable move of this branch.

        With ``prefix``, only changes under that path are reported, and moves that change
        nothing there are not.
        """
        parts = split_path(prefix, "prefix", allow_root=True)
        return self.repo.watch_ref(self.ref, callback, parts)

    def unwatch(self, handle: WatchHandle) -> None:
        """Stop a watch."""
        handle.unwatch()

    async def diff(self, other: str | ObjectId, prefix: str = "") -> Changes:
        """Changes from ``other`` to this branch's head."""
        return await self.repo.diff(other, self.name, prefix=prefix)


class Transaction:
    """Staged changes committed atomically as one commit when the ``async with`` block exits.

    Reads see staged writes. If the branch moved since the transaction began, nothing is
    committed and :class:`RefMoved` is raised (the block may have read stale data).
    """

    def __init__(self, branch: Branch, message: str | None, author: Author | None) -> None:
        self.branch = branch
        self.message = message
        self.author = author
        self.staged: dict[Path, bytes | None] = {}
        self._dirs: set[Path] = set()
        self.start: ObjectId | None = None
        self.view: View | None = None
        self.commit: ObjectId | None = None

    def _stage(self, parts: Path, data: bytes | None) -> None:
        n = len(parts)
        for k in range(1, n):  # a value staged above becomes a tree: drop it
            if self.staged.get(parts[:k], None) is not None:
                del self.staged[parts[:k]]
        if parts in self._dirs:  # everything staged below is overwritten
            for p in [p for p in self.staged if len(p) > n and p[:n] == parts]:
                del self.staged[p]
        self.staged.pop(parts, None)
        self.staged[parts] = data
        self._dirs.update(parts[:k] for k in range(1, n))

    def set(self, path: str, value: Any) -> None:
        """Stage ``value`` at ``path`` (encoded now: a bad value fails here)."""
        self._stage(split_path(path), encode_value(value))

    def remove(self, path: str) -> None:
        """Stage the removal of ``path``."""
        self._stage(split_path(path), None)

    async def find(self, path: str) -> Any:
        """Value at ``path`` as this transaction would commit it."""
        parts = split_path(path)
        for n in range(len(parts), 0, -1):
            if parts[:n] in self.staged:
                data = self.staged[parts[:n]]
                if n == len(parts) and data is not None:
                    return decode_value(data, path)
                if data is None or n < len(parts):
                    return None
        assert self.view is not None
        return await self.view.find(path)

    async def __aenter__(self) -> Transaction:
        self.start = await self.branch.head()
        self.view = await self.branch.repo.at(self.start)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None or (not self.staged and self.start is not None):
            return
        message = self.message or f"transaction: {len(self.staged)} change(s)"
        self.commit = await self.branch.commit_staged(self.staged, message, self.author,
                                                      retry=False, expected=self.start)
