"""push / pull / fetch / clone between any two repos, whatever backends they live on.

Only missing objects travel: the walk stops at the first object the target already has,
because every writer stores an object no later than the objects it references (one atomic
batch per commit), so a present object implies its whole closure is present.

The source is untrusted. Every received object is checked *before anything is stored*: at
most ``max_object_bytes`` long (default :data:`MAX_OBJECT_BYTES`), hashing to its name,
well-formed, of the type its referrer says (a ref or a parent names a commit, a commit's tree
is a tree, a tree entry is a tree or a blob as its mode says), trees in Git's canonical form
with valid entry names, and every referenced object present. One failure raises
:class:`~webstore.errors.IntegrityError` naming the object and stores nothing; all received
objects are stored in one batch before any ref moves. Refs move by compare-and-set: a target
that moved concurrently is refused with :class:`~webstore.errors.RefMoved`.

Both repos must name objects in one format: syncing a SHA-1 repo with a SHA-256 one raises
:class:`~webstore.errors.InvalidArgument` naming both formats before anything is stored.

Where a function takes a repo, a :class:`Remote` also does: a repository this process cannot
read directly, such as a Git server (``webstore.remote.GitRemote``, also importable as
``webstore.versioned.GitRemote``). The remote implements the same operation over its network;
``progress(phase, objects)`` reports how the transfer goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from webstore.errors import Conflict, InvalidArgument, KeyNotFound, RefMoved
from webstore.versioned.history import is_ancestor
from webstore.versioned.ids import ObjectFormat, ObjectId, to_hex
from webstore.versioned.merge import MergeResult
from webstore.versioned.receive import MAX_OBJECT_BYTES, receive
from webstore.versioned.refs import check_ref_name
from webstore.versioned.repo import Repo

__all__ = ["MAX_OBJECT_BYTES", "Progress", "Remote", "clone", "fetch", "pull", "push"]

Progress = Callable[[str, int], object]
"""``progress(phase, objects)``; the phases are the remote's (see ``webstore.remote.sync``)."""


@runtime_checkable
class Remote(Protocol):
    """A repository elsewhere that sync reaches over a network (a Git server)."""

    async def push_from(self, repo: Repo, branch: str = "main", *, to: str | None = None,
                        progress: Progress | None = None) -> MergeResult:
        """Make this remote's branch ``to`` (default ``branch``) ``repo``'s ``branch``."""

    async def pull_into(self, repo: Repo, branch: str = "main", *, source: str | None = None,
                        max_object_bytes: int = ..., progress: Progress | None = None
                        ) -> MergeResult:
        """Bring this remote's ``source`` into ``repo``'s ``branch`` (fast-forward or merge)."""

    async def fetch_into(self, repo: Repo, *, max_object_bytes: int = ...,
                         progress: Progress | None = None) -> dict[str, ObjectId]:
        """Store in ``repo`` what this remote's refs need; return those refs."""

    async def clone_into(self, repo: Repo, *, max_object_bytes: int = ...,
                         progress: Progress | None = None) -> dict[str, ObjectId]:
        """Copy every branch and tag of this remote into ``repo``."""

def _repo(value: object, argument: str) -> Repo:
    if not isinstance(value, Repo):
        raise InvalidArgument(f"{argument} must be a Repo or a Remote (webstore.remote."
                              f"GitRemote), not {type(value).__name__}", argument=argument)
    return value


async def _same_format(src: Repo, dst: Repo) -> ObjectFormat:
    """The format both repos use; two formats raise InvalidArgument naming both."""
    a, b = await src.resolve_format(), await dst.resolve_format()
    if a != b:
        raise InvalidArgument(
            f"cannot sync a {a.name} repo (source) with a {b.name} repo (target): they name "
            "objects differently; nothing was stored", argument="dst")
    return a


async def _receive(src: Repo, dst: Repo, heads: dict[ObjectId, str],
                   max_object_bytes: int) -> list[tuple[ObjectId, bytes]]:
    """Every object reachable from ``heads`` that ``dst`` lacks, fully verified, unstored."""
    fmt = await _same_format(src, dst)

    async def lookup(oids: list[ObjectId]) -> list[bytes | None]:
        return await src.objects.get_raw_many(oids, verify=False)

    return await receive(dst, lookup, heads, max_object_bytes=max_object_bytes, fmt=fmt,
                         source="the source")


async def fetch(src: Repo | Remote, dst: Repo | Remote, heads: list[ObjectId] | None = None,
                *, max_object_bytes: int = MAX_OBJECT_BYTES,
                progress: Progress | None = None) -> int | dict[str, ObjectId]:
    """Copy into ``dst`` every object reachable from the commits ``heads`` that it lacks.

    Returns how many objects were stored. Any bad object raises :class:`IntegrityError`
    and nothing at all is stored. With a :class:`Remote` (either argument; the other is the
    local repo) the remote's branches and tags are fetched and returned, no ref moves.
    """
    if isinstance(dst, Remote) and isinstance(src, Repo):
        src, dst = dst, src
    if isinstance(src, Remote):
        local = _repo(dst, "dst")
        return await src.fetch_into(local, max_object_bytes=max_object_bytes,
                                    progress=progress)
    src, dst = _repo(src, "src"), _repo(dst, "dst")
    if heads is None:
        raise InvalidArgument("heads must name the commits to fetch from a repo",
                              argument="heads")
    await _same_format(src, dst)
    received = await _receive(src, dst, {h: to_hex(h) for h in heads}, max_object_bytes)
    await dst.objects.add_raw_verified(received)
    return len(received)


async def _update(dst: Repo, ref: str, old: ObjectId | None, new: ObjectId) -> None:
    if not await dst.refs.set_if_equals(ref, old, new):
        raise RefMoved(f"{ref} moved concurrently on the target; nothing was updated",
                       ref=ref, expected=old, got=await dst.refs.get(ref))


async def push(src: Repo, dst: Repo | Remote, branch: str = "main", *, to: str | None = None,
               merge: bool = False, max_object_bytes: int = MAX_OBJECT_BYTES,
               progress: Progress | None = None) -> MergeResult:
    """Send ``branch`` of ``src`` to ``dst`` (branch ``to``, default the same name).

    Fast-forwards the target; a diverged target raises :class:`Conflict` unless ``merge``,
    which merges in ``dst`` (conflicts are returned, nothing committed). A :class:`Remote`
    target only fast-forwards (a Git server does not merge): one that moved raises
    :class:`RefMoved`, and ``pull`` then ``push`` again is the way on.
    """
    src = _repo(src, "src")
    if isinstance(dst, Remote):
        if merge:
            raise InvalidArgument("merge=True needs a repo as the target; a Git server only "
                                  "fast-forwards: pull, then push", argument="merge")
        return await dst.push_from(src, branch, to=to, progress=progress)
    dst = _repo(dst, "dst")
    await _same_format(src, dst)
    source = src.branch(branch)
    head = await source.head()
    if head is None:
        raise KeyNotFound(branch, where="source branches")
    target = dst.branch(to or branch)
    old = await target.head()
    received = await _receive(src, dst, {head: source.ref}, max_object_bytes)
    await dst.objects.add_raw_verified(received)
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


async def pull(dst: Repo, src: Repo | Remote, branch: str = "main", *,
               source: str | None = None, merge: bool = True,
               max_object_bytes: int = MAX_OBJECT_BYTES,
               progress: Progress | None = None) -> MergeResult:
    """Bring ``source`` (default ``branch``) of ``src`` into ``branch`` of ``dst``."""
    dst = _repo(dst, "dst")
    if isinstance(src, Remote):
        return await src.pull_into(dst, branch, source=source,
                                   max_object_bytes=max_object_bytes, progress=progress)
    return await push(_repo(src, "src"), dst, source or branch, to=branch, merge=merge,
                      max_object_bytes=max_object_bytes)


def _check_peer_ref(ref: str) -> str:
    kind, _, name = ref.partition("/")
    if kind not in ("heads", "tags"):
        raise InvalidArgument(f"the source has a ref {ref!r} outside heads/ and tags/; "
                              "nothing was stored", argument="src")
    check_ref_name(name, f"source ref {ref!r}")
    return ref


async def clone(src: Repo | Remote, dst: Repo, *, max_object_bytes: int = MAX_OBJECT_BYTES,
                progress: Progress | None = None) -> dict[str, ObjectId]:
    """Copy every branch and tag of ``src`` into ``dst`` (refs must be absent or equal there).

    Every ref is checked before any object is stored or any ref moves; if a ref moves
    concurrently while they are being set, the refs already set are put back.
    """
    dst = _repo(dst, "dst")
    if isinstance(src, Remote):
        return await src.clone_into(dst, max_object_bytes=max_object_bytes, progress=progress)
    src = _repo(src, "src")
    await _same_format(src, dst)
    refs = {_check_peer_ref(r): oid for r, oid in (await src.refs.list()).items()}
    current = {ref: await dst.refs.get(ref) for ref in refs}
    for ref, oid in refs.items():
        if current[ref] not in (None, oid):
            raise RefMoved(f"{ref} already exists on the target at another commit; nothing "
                           "was stored", ref=ref, expected=oid, got=current[ref])
    heads: dict[ObjectId, str] = {}
    for ref, oid in refs.items():
        heads.setdefault(oid, ref)
    received = await _receive(src, dst, heads, max_object_bytes)
    await dst.objects.add_raw_verified(received)
    moved: list[str] = []
    try:
        for ref, oid in refs.items():
            if current[ref] is None:
                await _update(dst, ref, None, oid)
                moved.append(ref)
    except RefMoved:
        for ref in moved:  # put back what this clone set, unless someone moved it since
            await dst.refs.set_if_equals(ref, refs[ref], None)
        raise
    return refs

