"""Walking commit graphs: paginated history, ancestry tests and lowest common ancestors.

Commits are visited newest first by committer time (ties by id), like ``git log``; lowest
common ancestors use Git's "paint down to common" walk, which stops as soon as every pending
commit is known to be below a common ancestor, so it rarely reads the whole history.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from webstore.errors import InvalidArgument
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Commit

__all__ = ["HistoryPage", "LogEntry", "history", "is_ancestor", "merge_bases"]


@dataclass(frozen=True)
class LogEntry:
    """One commit of a history: its id and the parsed commit."""

    id: ObjectId
    commit: Commit

    @property
    def message(self) -> str:
        """The commit message (without the trailing newline Git convention adds)."""
        return self.commit.message.removesuffix("\n")

    @property
    def hex(self) -> str:
        """The hex object name (64 digits SHA-256, 40 SHA-1)."""
        return to_hex(self.id)


@dataclass(frozen=True)
class HistoryPage:
    """Up to ``limit`` commits; pass ``cursor`` back to :func:`history` for the next page."""

    entries: list[LogEntry]
    cursor: str | None


async def _push(objects: ObjectStore, heap: list[tuple[int, bytes, ObjectId]],
                oid: ObjectId) -> Commit:
    commit = await objects.read_commit(oid)
    heapq.heappush(heap, (-commit.committer.time, bytes(x ^ 0xFF for x in oid), oid))
    return commit


async def history(objects: ObjectStore, heads: list[ObjectId], *, limit: int = 50,
                  cursor: str | None = None) -> HistoryPage:
    """Commits reachable from ``heads`` (or from ``cursor``), newest first."""
    if type(limit) is not int or limit < 1:
        raise InvalidArgument(f"limit must be a positive int, not {limit!r}", argument="limit")
    if cursor is not None:
        if type(cursor) is not str:
            raise InvalidArgument("cursor must be a str from a previous page", argument="cursor")
        fmt = await objects.resolve_format()
        heads = [fmt.parse_id(h, "cursor") for h in cursor.split(",") if h]
    heap: list[tuple[int, bytes, ObjectId]] = []
    queued: set[ObjectId] = set()
    for h in heads:
        if h not in queued:
            queued.add(h)
            await _push(objects, heap, h)
    entries: list[LogEntry] = []
    while heap and len(entries) < limit:
        _, _, oid = heapq.heappop(heap)
        commit = await objects.read_commit(oid)
        entries.append(LogEntry(oid, commit))
        for p in commit.parents:
            if p not in queued:
                queued.add(p)
                await _push(objects, heap, p)
    rest = sorted(heap)
    return HistoryPage(entries, ",".join(to_hex(o) for _, _, o in rest) if rest else None)


_P1, _P2, _STALE = 1, 2, 4


async def _paint(objects: ObjectStore, one: ObjectId, others: list[ObjectId]) -> list[ObjectId]:
    flags: dict[ObjectId, int] = {}
    heap: list[tuple[int, bytes, ObjectId]] = []
    pending: set[ObjectId] = set()
    for oid, flag in [(one, _P1), *((o, _P2) for o in others)]:
        if oid not in pending:
            pending.add(oid)
            await _push(objects, heap, oid)
        flags[oid] = flags.get(oid, 0) | flag
    found: list[ObjectId] = []
    while any(not flags[o] & _STALE for o in pending):
        _, _, oid = heapq.heappop(heap)
        pending.discard(oid)
        f = flags[oid] & (_P1 | _P2 | _STALE)
        if f & (_P1 | _P2) == _P1 | _P2:
            if not f & _STALE:
                found.append(oid)
            f |= _STALE
            flags[oid] |= _STALE
        for p in (await objects.read_commit(oid)).parents:
            if flags.get(p, 0) & f == f:
                continue
            flags[p] = flags.get(p, 0) | f
            if p not in pending:
                pending.add(p)
                await _push(objects, heap, p)
    return found


async def merge_bases(objects: ObjectStore, a: ObjectId, b: ObjectId) -> list[ObjectId]:
    """Lowest common ancestors of two commits (several after criss-cross merges)."""
    if a == b:
        return [a]
    found = await _paint(objects, a, [b])
    if len(found) <= 1:
        return found
    # Drop any candidate that is an ancestor of another candidate.
    keep: list[ObjectId] = []
    for c in found:
        redundant = False
        for o in found:
            if o != c and c in await _paint(objects, c, [o]):
                redundant = True
        if not redundant:
            keep.append(c)
    return keep


async def is_ancestor(objects: ObjectStore, ancestor: ObjectId, descendant: ObjectId) -> bool:
    """Whether ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor)."""
    return ancestor == descendant or ancestor in await _paint(objects, ancestor, [descendant])
