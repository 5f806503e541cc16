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
"""

from __future__ import annotations

from webstore.errors import Conflict, IntegrityError, InvalidArgument, KeyNotFound, RefMoved
from webstore.versioned.history import is_ancestor
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex
from webstore.versioned.merge import MergeResult
from webstore.versioned.objects import Commit, GitObject, Tree, parse_object
from webstore.versioned.refs import check_ref_name
from webstore.versioned.repo import Repo
from webstore.versioned.trees import split_path

__all__ = ["MAX_OBJECT_BYTES", "clone", "fetch", "pull", "push"]

#: Largest serialised object accepted from a peer (64 MiB); pass ``max_object_bytes`` to
#: sync larger values. A bigger object is refused before it is hashed or stored.
MAX_OBJECT_BYTES = 64 * 1024 * 1024

_COMMIT, _TREE, _BLOB = b"commit", b"tree", b"blob"
_Wanted = tuple[ObjectId, bytes, str]  # (id, expected type, who referenced it)


def _refuse(message: str, oid: ObjectId, **fields: str) -> IntegrityError:
    return IntegrityError(f"{message}; nothing was stored", key=to_hex(oid), **fields)


async def _same_format(src: Repo, dst: Repo) -> ObjectFormat:
    """The format both repos use; two formats raise InvalidArgument naming both."""
    a, b = await src.resolve_format(), await dst.resolve_format()
    if a != b:
        raise InvalidArgument(
            f"cannot sync a {a.name} repo (source) with a {b.name} repo (target): they name "
            "objects differently; nothing was stored", argument="dst")
    return a


def _check_received(oid: ObjectId, raw: bytes, expected: bytes, referrer: str,
                    limit: int, *, fmt: ObjectFormat = SHA256) -> GitObject:
    """Parse one object from the peer after checking its size, hash, type and form."""
    name = to_hex(oid)
    if len(raw) > limit:
        raise _refuse(f"object {name} (referenced by {referrer}) is {len(raw)} bytes, over "
                      f"the sync limit max_object_bytes={limit}", oid)
    got = fmt.hash_object(raw)
    if got != oid:
        raise _refuse(f"object {name} (referenced by {referrer}) hashes to {to_hex(got)}",
                      oid, expected=name, got=to_hex(got))
    try:
        obj = parse_object(raw, oid, fmt)
    except IntegrityError as exc:
        raise _refuse(f"{exc} (referenced by {referrer})", oid) from None
    if obj.type_name != expected:
        raise _refuse(f"object {name} is a {obj.type_name.decode()} but {referrer} refers to "
                      f"it as a {expected.decode()}", oid)
    if isinstance(obj, Tree):
        for entry_name in obj.entries:
            try:
                split_path(entry_name, "tree entry")
                if "/" in entry_name:
                    raise ValueError(entry_name)
            except (ValueError, TypeError):
                raise _refuse(f"tree {name} has an invalid entry name {entry_name!r}",
                              oid) from None
        if Tree(dict(obj.entries)).raw() != raw:  # rebuilt from its entries, sorted
            raise _refuse(f"tree {name} is not in Git's canonical form (duplicate or "
                          "unsorted entries)", oid)
    return obj


def _wanted_children(oid: ObjectId, obj: GitObject) -> list[_Wanted]:
    ref = to_hex(oid)
    if isinstance(obj, Commit):
        return [(obj.tree, _TREE, f"commit {ref}"),
                *((p, _COMMIT, f"commit {ref}") for p in obj.parents)]
    if isinstance(obj, Tree):
        return [(e.id, _TREE if e.is_tree else _BLOB, f"tree {ref}")
                for e in obj.entries.values()]
    return []


async def _check_present(dst: Repo, wanted: _Wanted) -> None:
    """A referenced object the target already has must be of the referenced type.

    Blobs are not read back (they may be large); a tree entry naming an existing non-blob as
    a blob fails later, on read, with an IntegrityError rather than wrong data.
    """
    oid, expected, referrer = wanted
    if expected == _BLOB:
        return
    obj = await dst.objects.read(oid)
    if obj.type_name != expected:
        raise _refuse(f"object {to_hex(oid)} is a {obj.type_name.decode()} but {referrer} "
                      f"refers to it as a {expected.decode()}", oid)


async def _receive(src: Repo, dst: Repo, heads: dict[ObjectId, str],
                   max_object_bytes: int) -> list[tuple[ObjectId, bytes]]:
    """Every object reachable from ``heads`` that ``dst`` lacks, fully verified, unstored."""
    if type(max_object_bytes) is not int or max_object_bytes < 1:
        raise InvalidArgument(f"max_object_bytes must be a positive int, not "
                              f"{max_object_bytes!r}", argument="max_object_bytes")
    fmt = await _same_format(src, dst)
    kinds: dict[ObjectId, bytes] = {}
    frontier: list[_Wanted] = []
    for oid, ref in heads.items():
        kinds[oid] = _COMMIT
        frontier.append((oid, _COMMIT, f"ref {ref}"))
    received: list[tuple[ObjectId, bytes]] = []
    while frontier:
        have = await dst.objects.has_many([w[0] for w in frontier])
        need: list[_Wanted] = []
        for wanted, present in zip(frontier, have, strict=True):
            if present:
                await _check_present(dst, wanted)
            else:
                need.append(wanted)
        if not need:
            break
        raws = await src.objects.get_raw_many([w[0] for w in need], verify=False)
        nxt: list[_Wanted] = []
        for (oid, expected, referrer), raw in zip(need, raws, strict=True):
            if raw is None:
                raise _refuse(f"object {to_hex(oid)} (referenced by {referrer}) is missing "
                              "from the source", oid)
            data = raw
            obj = _check_received(oid, data, expected, referrer, max_object_bytes, fmt=fmt)
            received.append((oid, data))
            for child in _wanted_children(oid, obj):
                seen = kinds.get(child[0])
                if seen is None:
                    kinds[child[0]] = child[1]
                    nxt.append(child)
                elif seen != child[1]:
                    raise _refuse(f"object {to_hex(child[0])} is referenced both as a "
                                  f"{seen.decode()} and, by {child[2]}, as a "
                                  f"{child[1].decode()}", child[0])
        frontier = nxt
    return received


async def fetch(src: Repo, dst: Repo, heads: list[ObjectId], *,
                max_object_bytes: int = MAX_OBJECT_BYTES) -> int:
    """Copy into ``dst`` every object reachable from the commits ``heads`` that it lacks.

    Returns how many objects were stored. Any bad object raises :class:`IntegrityError`
    and nothing at all is stored.
    """
    await _same_format(src, dst)
    received = await _receive(src, dst, {h: to_hex(h) for h in heads}, max_object_bytes)
    await dst.objects.add_raw_verified(received)
    return len(received)


async def _update(dst: Repo, ref: str, old: ObjectId | None, new: ObjectId) -> None:
    if not await dst.refs.set_if_equals(ref, old, new):
        raise RefMoved(f"{ref} moved concurrently on the target; nothing was updated",
                       ref=ref, expected=old, got=await dst.refs.get(ref))


async def push(src: Repo, dst: Repo, branch: str = "main", *, to: str | None = None,
               merge: bool = False, max_object_bytes: int = MAX_OBJECT_BYTES) -> MergeResult:
    """Send ``branch`` of ``src`` to ``dst`` (branch ``to``, default the same name).

    Fast-forwards the target; a diverged target raises :class:`Conflict` unless ``merge``,
    which merges in ``dst`` (conflicts are returned, nothing committed).
    """
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


async def pull(dst: Repo, src: Repo, branch: str = "main", *, source: str | None = None,
               merge: bool = True, max_object_bytes: int = MAX_OBJECT_BYTES) -> MergeResult:
    """Bring ``source`` (default ``branch``) of ``src`` into ``branch`` of ``dst``."""
    return await push(src, dst, source or branch, to=branch, merge=merge,
                      max_object_bytes=max_object_bytes)


def _check_peer_ref(ref: str) -> str:
    kind, _, name = ref.partition("/")
    if kind not in ("heads", "tags"):
        raise InvalidArgument(f"the source has a ref {ref!r} outside heads/ and tags/; "
                              "nothing was stored", argument="src")
    check_ref_name(name, f"source ref {ref!r}")
    return ref


async def clone(src: Repo, dst: Repo, *,
                max_object_bytes: int = MAX_OBJECT_BYTES) -> dict[str, ObjectId]:
    """Copy every branch and tag of ``src`` into ``dst`` (refs must be absent or equal there).

    Every ref is checked before any object is stored or any ref moves; if a ref moves
    concurrently while they are being set, the refs already set are put back.
    """
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

