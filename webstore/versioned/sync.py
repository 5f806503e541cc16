"""push / pull / fetch / clone between any two repos, whatever backends they live on.

Only missing objects travel: the walk stops at the first object the target already has,
because every writer stores an object no later than the objects it references (one atomic
batch per commit), so a present object implies its whole closure is present. Received bytes
are hash-verified before anything is stored, and all of them are stored in one batch before
any ref moves. Refs move by compare-and-set: a target that moved concurrently is refused with
:class:`~webstore.errors.RefMoved`.
"""

from __future__ import annotations

from webstore.errors import Conflict, IntegrityError, KeyNotFound, RefMoved
from webstore.versioned.fsck import _children
from webstore.versioned.history import is_ancestor
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.merge import MergeResult
from webstore.versioned.objects import parse_object
from webstore.versioned.repo import Repo

__all__ = ["clone", "fetch", "pull", "push"]


async def fetch(src: Repo, dst: Repo, heads: list[ObjectId]) -> int:
    """Copy into ``dst`` every object reachable from ``heads`` that it lacks; return the count."""
    seen: set[ObjectId] = set()
    frontier = list(dict.fromkeys(heads))
    received: list[tuple[ObjectId, bytes]] = []
    while frontier:
        have = await dst.objects.has_many(frontier)
        need = [o for o, h in zip(frontier, have, strict=True) if not h]
        seen.update(frontier)
        if not need:
            break
        raws = await src.objects.backend.get_many([src.objects.key(o) for o in need])
        nxt: list[ObjectId] = []
        for oid, raw in zip(need, raws, strict=True):
            if raw is None:
                raise IntegrityError(f"object {to_hex(oid)} is missing from the source",
                                     key=to_hex(oid))
            data = bytes(raw)
            received.append((oid, data))
            try:
                obj = parse_object(data, oid)
            except IntegrityError:
                obj = None  # reported with the hash check in add_raw below
            if obj is not None:
                nxt.extend(c for c in _children(obj) if c not in seen)
        frontier = list(dict.fromkeys(nxt))
    await dst.objects.add_raw(received)  # verifies every hash before writing anything
    return len(received)


async def _update(dst: Repo, ref: str, old: ObjectId | None, new: ObjectId) -> None:
    if not await dst.refs.set_if_equals(ref, old, new):
        raise RefMoved(f"{ref} moved concurrently on the target; nothing was updated",
                       ref=ref, expected=old, got=await dst.refs.get(ref))
    await dst.notify(ref, old, new)


async def push(src: Repo, dst: Repo, branch: str = "main", *, to: str | None = None,
               merge: bool = False) -> MergeResult:
    """Send ``branch`` of ``src`` to ``dst`` (branch ``to``, default the same name).

    Fast-forwards the target; a diverged target raises :class:`Conflict` unless ``merge``,
    which merges in ``dst`` (conflicts are returned, nothing committed).
    """
    head = await src.branch(branch).head()
    if head is None:
        raise KeyNotFound(branch, where="source branches")
    target = dst.branch(to or branch)
    old = await target.head()
    await fetch(src, dst, [head])
    if old is None or await is_ancestor(dst.objects, old, head):
        if old == head:
            return MergeResult(head, changed=False)
        await _update(dst, target.ref, old, head)
        return MergeResult(head, fast_forward=True)
    if await is_ancestor(dst.objects, head, old):
        return MergeResult(old, changed=False)
    if not merge:
        raise Conflict(f"push of {branch!r} is not a fast-forward of {target.name!r}; pull "
                       "first or pass merge=True", details={"ours": old, "theirs": head})
    if await target.head() != old:
        raise RefMoved(f"{target.ref} moved concurrently on the target", ref=target.ref)
    return await dst.merge(target.name, head, message=f"Merge pushed {branch}")


async def pull(dst: Repo, src: Repo, branch: str = "main", *, source: str | None = None,
               merge: bool = True) -> MergeResult:
    """Bring ``source`` (default ``branch``) of ``src`` into ``branch`` of ``dst``."""
    return await push(src, dst, source or branch, to=branch, merge=merge)


async def clone(src: Repo, dst: Repo) -> dict[str, ObjectId]:
    """Copy every branch and tag of ``src`` into ``dst`` (refs must be absent or equal there)."""
    refs = await src.refs.list()
    await fetch(src, dst, list(refs.values()))
    for ref, oid in refs.items():
        current = await dst.refs.get(ref)
        if current is None:
            await _update(dst, ref, None, oid)
        elif current != oid:
            raise RefMoved(f"{ref} already exists on the target at another commit", ref=ref,
                           expected=oid, got=current)
    return refs
