"""push / fetch / pull / clone between a webstore :class:`Repo` and a Git server.

Received objects are untrusted: every one is checked exactly like a peer's objects in
:mod:`webstore.versioned.sync` (size limit, hash, form, the type its referrer expects,
canonical trees, completeness) *before anything is stored*, then stored in one batch before
any ref moves. A push sends only what the server lacks: commits are painted from the local
head and from every server ref this repo knows, newest first, until only server-known commits
remain; a commit's tree is sent where it differs from all its parents' trees. The server's
check of the old id makes a push a compare-and-set: a branch that moved meanwhile raises
:class:`~webstore.errors.RefMoved` and nothing changes locally.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from webstore.errors import IntegrityError, InvalidArgument, KeyNotFound, RefMoved
from webstore.remote.remote import GitEndpoint
from webstore.versioned.history import is_ancestor
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.objects import Commit
from webstore.versioned.receive import MAX_OBJECT_BYTES, receive
from webstore.versioned.refs import check_ref_name

if TYPE_CHECKING:
    from webstore.versioned.merge import MergeResult
    from webstore.versioned.object_store import ObjectStore
    from webstore.versioned.repo import Repo

__all__ = ["Progress", "clone", "fetch", "pull", "push", "push_update"]

Progress = Callable[[str, int], object]
"""``progress(phase, objects)`` during a transfer: ``"wanted"`` (commits asked for),
``"received"`` (objects in the server's pack), ``"stored"`` (checked and stored), or for a
push ``"counted"`` (objects the server lacks) and ``"sent"``. A failing callback is logged and
never stops the transfer."""

_log = logging.getLogger("webstore.remote")


def _report(progress: Progress | None, phase: str, count: int) -> None:
    if progress is None:
        return
    try:
        progress(phase, count)
    except Exception:  # a progress bar must not break a sync
        _log.exception("progress callback failed in phase %s", phase)

_COMMIT = b"commit"
_LOCAL, _REMOTE = 1, 2
#: How many local commits a fetch names as ``have`` (heads first, then their ancestors).
_MAX_HAVES = 256


def _local_ref(git_ref: str) -> str | None:
    """``refs/heads/x`` -> ``heads/x`` (``refs/tags/x`` likewise); other refs -> ``None``."""
    for kind in ("heads/", "tags/"):
        if git_ref.startswith("refs/" + kind):
            name = git_ref[len("refs/" + kind):]
            check_ref_name(name, f"remote ref {git_ref!r}")
            return kind + name
    return None


async def _remote_refs(repo: Repo, remote: GitEndpoint) -> dict[str, ObjectId]:
    """Branches and tags of the server under webstore's names, tags peeled to commits."""
    out: dict[str, ObjectId] = {}
    fmt = await repo.resolve_format()
    for git_ref, oid in (await remote.ls_refs(peel=True, fmt=fmt)).items():
        ref = _local_ref(git_ref)
        if ref is not None:
            out[ref] = oid
    return out


async def _haves(repo: Repo) -> list[ObjectId]:
    """Local heads and their recent ancestors: the server leaves out what they reach."""
    queue = list(dict.fromkeys((await repo.refs.list()).values()))
    seen: set[ObjectId] = set()
    haves: list[ObjectId] = []
    while queue and len(haves) < _MAX_HAVES:
        oid = queue.pop(0)
        if oid in seen:
            continue
        seen.add(oid)
        obj = await repo.objects.get(oid)
        if isinstance(obj, Commit):
            haves.append(oid)
            queue.extend(obj.parents)
    return haves


async def _download(repo: Repo, remote: GitEndpoint, refs: dict[str, ObjectId],
                    limit: int, progress: Progress | None) -> int:
    """Fetch, verify and store everything ``refs`` need; returns how many objects."""
    if type(limit) is not int or limit < 1:
        raise InvalidArgument(f"max_object_bytes must be a positive int, not {limit!r}",
                              argument="max_object_bytes")
    heads: dict[ObjectId, str] = {}
    for ref, oid in refs.items():
        heads.setdefault(oid, ref)
    present = await repo.objects.has_many(list(heads))
    wants = [oid for oid, p in zip(heads, present, strict=True) if not p]
    fmt = await repo.resolve_format()
    _report(progress, "wanted", len(wants))
    pairs = await remote.fetch_pack(wants, await _haves(repo), max_object_bytes=limit,
                                    fmt=fmt) if wants else []
    _report(progress, "received", len(pairs))
    pack = dict(pairs)

    async def lookup(oids: list[ObjectId]) -> list[bytes | None]:
        return [pack.get(oid) for oid in oids]

    received = await receive(repo, lookup, heads, max_object_bytes=limit, fmt=fmt,
                             source=f"the pack {remote.url} sent")
    await repo.objects.add_raw_verified(received)
    _report(progress, "stored", len(received))
    return len(received)


async def fetch(repo: Repo, remote: GitEndpoint, *,
                max_object_bytes: int = MAX_OBJECT_BYTES,
                progress: Progress | None = None) -> dict[str, ObjectId]:
    """Store every object the server's branches and tags need; move no ref.

    Returns the server's refs under webstore's names (``heads/main``, ``tags/v1``; an
    annotated tag gives its commit). A bad object raises IntegrityError and stores nothing.
    """
    refs = await _remote_refs(repo, remote)
    await _download(repo, remote, refs, max_object_bytes, progress)
    return refs


async def pull(repo: Repo, remote: GitEndpoint, branch: str = "main", *,
               source: str | None = None, max_object_bytes: int = MAX_OBJECT_BYTES,
               progress: Progress | None = None) -> MergeResult:
    """Fetch, then fast-forward or three-way merge the server's ``source`` into ``branch``.

    Conflicts come back in the result and nothing is committed (the objects stay fetched).
    """
    name = check_ref_name(source or branch, "source")
    refs = await fetch(repo, remote, max_object_bytes=max_object_bytes, progress=progress)
    theirs = refs.get("heads/" + name)
    if theirs is None:
        raise KeyNotFound(name, where=f"branches of {remote.url}")
    return await repo.merge(branch, theirs, message=f"Merge {name} of {remote.url}")


async def clone(remote: GitEndpoint, repo: Repo, *,
                max_object_bytes: int = MAX_OBJECT_BYTES,
                progress: Progress | None = None) -> dict[str, ObjectId]:
    """Copy every branch and tag of the server into ``repo`` (refs absent or equal there).

    If a ref moves locally while they are being set, the refs already set are put back.
    """
    refs = await _remote_refs(repo, remote)
    current = {ref: await repo.refs.get(ref) for ref in refs}
    for ref, oid in refs.items():
        if current[ref] not in (None, oid):
            raise RefMoved(f"{ref} already exists here at another commit; nothing was stored",
                           ref=ref, expected=oid, got=current[ref])
    await _download(repo, remote, refs, max_object_bytes, progress)
    moved: list[str] = []
    try:
        for ref, oid in refs.items():
            if current[ref] is None:
                if not await repo.refs.set_if_equals(ref, None, oid):
                    raise RefMoved(f"{ref} was created here meanwhile; the clone set nothing",
                                   ref=ref, expected=None, got=await repo.refs.get(ref))
                moved.append(ref)
    except RefMoved:
        for ref in moved:  # put back what this clone set, unless someone moved it since
            await repo.refs.set_if_equals(ref, refs[ref], None)
        raise
    return refs


async def push(repo: Repo, remote: GitEndpoint, branch: str = "main", *,
               to: str | None = None, progress: Progress | None = None) -> ObjectId:
    """The pushed head; see :func:`push_update`."""
    return (await push_update(repo, remote, branch, to=to, progress=progress))[1]


async def push_update(repo: Repo, remote: GitEndpoint, branch: str = "main", *,
                      to: str | None = None, progress: Progress | None = None
                      ) -> tuple[ObjectId | None, ObjectId]:
    """Make the server's branch ``to`` (default ``branch``) point at the local ``branch``.

    Only a fast-forward is pushed: a server branch at a commit this repo lacks, or one that is
    not an ancestor of the local head, raises :class:`RefMoved` asking to pull first; so does
    a server branch moved by someone else during the push. Returns ``(server's old head,
    pushed head)``.
    """
    local = check_ref_name(branch, "branch")
    target = check_ref_name(to or branch, "to")
    head = await repo.refs.get("heads/" + local)
    if head is None:
        raise KeyNotFound(local, where="local branches")
    git_ref = "refs/heads/" + target
    fmt = await repo.resolve_format()
    server = await remote.ls_refs(peel=True, fmt=fmt)
    old = server.get(git_ref)
    if old == head:
        return old, head
    if old is not None and not (
            (await repo.objects.has_many([old]))[0]
            and isinstance(await repo.objects.get(old), Commit)
            and await is_ancestor(repo.objects, old, head)):
        raise RefMoved(f"{git_ref} on {remote.url} is at {to_hex(old)}, which the local "
                       f"{local!r} does not contain; pull first, then push",
                       ref=git_ref, expected=None, got=old)
    known = []
    for oid, present in zip(server.values(), await repo.objects.has_many(list(server.values())),
                            strict=True):
        if present and isinstance(await repo.objects.get(oid), Commit):
            known.append(oid)
    objects = await _objects_to_send(repo.objects, head, known)
    _report(progress, "counted", len(objects))
    await remote.push_pack([(git_ref, old, head)], objects, fmt=fmt)
    _report(progress, "sent", len(objects))
    return old, head


async def _commits_to_send(objects: ObjectStore, head: ObjectId,
                           server: Sequence[ObjectId]) -> list[ObjectId]:
    """Commits reachable from ``head`` but not from ``server`` (newest first, by time).

    Clock skew can only make it send a commit the server has, never skip one it lacks.
    """
    flags: dict[ObjectId, int] = {}
    heap: list[tuple[int, int, ObjectId]] = []
    order = itertools.count()

    async def mark(oid: ObjectId, flag: int) -> None:
        old = flags.get(oid, 0)
        if old | flag != old:
            flags[oid] = old | flag
            commit = await objects.read_commit(oid)
            heapq.heappush(heap, (-commit.committer.time, next(order), oid))

    for oid in server:
        await mark(oid, _REMOTE)
    await mark(head, _LOCAL)
    send: list[ObjectId] = []
    while heap and not all(flags[o] & _REMOTE for _, _, o in heap):
        _, _, oid = heapq.heappop(heap)
        flag = _REMOTE if flags[oid] & _REMOTE else _LOCAL
        if flag == _LOCAL:
            send.append(oid)
        for parent in (await objects.read_commit(oid)).parents:
            await mark(parent, flag)
    return send


async def _objects_to_send(objects: ObjectStore, head: ObjectId,
                           server: Sequence[ObjectId]) -> list[tuple[ObjectId, bytes]]:
    """Every object the server lacks for ``head``, given it has the commits ``server``."""
    commits = await _commits_to_send(objects, head, server)
    chosen: dict[ObjectId, None] = dict.fromkeys(commits)

    async def walk(tree_id: ObjectId, bases: list[ObjectId]) -> None:
        if tree_id in chosen or tree_id in bases:
            return
        chosen[tree_id] = None
        tree = await objects.read_tree(tree_id)
        base_trees = [await objects.read_tree(b) for b in bases]
        for name, entry in tree.entries.items():
            if entry.id in chosen:
                continue
            olds = [b.entries.get(name) for b in base_trees]
            if any(o is not None and o.id == entry.id for o in olds):
                continue  # the same object at the same path in a parent: the server has it
            if entry.is_tree:
                await walk(entry.id, [o.id for o in olds if o is not None and o.is_tree])
            else:
                chosen[entry.id] = None

    for oid in commits:
        commit = await objects.read_commit(oid)
        parents = [await objects.read_commit(p) for p in commit.parents]
        await walk(commit.tree, [p.tree for p in parents])
    ids = list(chosen)
    raws = await objects.get_raw_many(ids)
    out = []
    for oid, raw in zip(ids, raws, strict=True):
        if raw is None:
            raise IntegrityError(f"object {to_hex(oid)} is missing from the local repo",
                                 key=to_hex(oid))
        out.append((oid, raw))
    return out
