"""Objects from an untrusted peer (another repo, a Git server), checked before anything is stored.

Every received object is at most ``max_object_bytes`` long (default :data:`MAX_OBJECT_BYTES`),
hashes to its name in the repo's object format, is well-formed, of the type its referrer says
(a ref or a parent names a commit, a commit's tree is a tree, a tree entry is a tree or a
blob as its mode says), trees are in Git's canonical form with valid entry names, and every
referenced object is present. One failure raises :class:`~webstore.errors.IntegrityError`
naming the object. The walk stops at objects the target already has: every writer stores an
object no later than the objects it references, so a present object implies its closure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from webstore.errors import IntegrityError, InvalidArgument
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex
from webstore.versioned.objects import Commit, GitObject, Tree, parse_object
from webstore.versioned.trees import split_path

if TYPE_CHECKING:
    from webstore.versioned.repo import Repo

__all__ = ["MAX_OBJECT_BYTES", "Lookup", "Wanted", "check_present", "check_received",
           "receive", "wanted_children"]

#: Largest serialised object accepted from a peer (64 MiB); pass ``max_object_bytes`` to
#: sync larger values. A bigger object is refused before it is hashed or stored.
MAX_OBJECT_BYTES = 64 * 1024 * 1024


def _refuse(message: str, oid: ObjectId, **fields: str) -> IntegrityError:
    return IntegrityError(f"{message}; nothing was stored", key=to_hex(oid), **fields)


_COMMIT, _TREE, _BLOB = b"commit", b"tree", b"blob"
Wanted = tuple[ObjectId, bytes, str]
"""``(id, expected type, who referenced it)``."""
Lookup = Callable[[list[ObjectId]], Awaitable[list[bytes | None]]]


def check_received(oid: ObjectId, raw: bytes, expected: bytes, referrer: str,
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


def wanted_children(oid: ObjectId, obj: GitObject) -> list[Wanted]:
    """What ``obj`` refers to, each with the type it must have and who refers to it."""
    ref = to_hex(oid)
    if isinstance(obj, Commit):
        return [(obj.tree, _TREE, f"commit {ref}"),
                *((p, _COMMIT, f"commit {ref}") for p in obj.parents)]
    if isinstance(obj, Tree):
        return [(e.id, _TREE if e.is_tree else _BLOB, f"tree {ref}")
                for e in obj.entries.values()]
    return []


async def check_present(dst: Repo, wanted: Wanted) -> None:
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


async def receive(dst: Repo, lookup: Lookup, heads: Mapping[ObjectId, str], *,
                  max_object_bytes: int = MAX_OBJECT_BYTES, fmt: ObjectFormat = SHA256,
                  source: str = "the source") -> list[tuple[ObjectId, bytes]]:
    """Every object reachable from ``heads`` (id -> ref name) that ``dst`` lacks, checked.

    ``lookup(ids)`` gives the peer's raw bytes of objects (``None``: it does not have one):
    another repo's store, or a pack a Git server sent. Nothing is stored: the caller stores
    the returned pairs in one batch, then moves refs. ``source`` names the peer in errors.
    """
    if type(max_object_bytes) is not int or max_object_bytes < 1:
        raise InvalidArgument(f"max_object_bytes must be a positive int, not "
                              f"{max_object_bytes!r}", argument="max_object_bytes")
    kinds: dict[ObjectId, bytes] = {}
    frontier: list[Wanted] = []
    for oid, ref in heads.items():
        kinds[oid] = _COMMIT
        frontier.append((oid, _COMMIT, f"ref {ref}"))
    received: list[tuple[ObjectId, bytes]] = []
    while frontier:
        have = await dst.objects.has_many([w[0] for w in frontier])
        need: list[Wanted] = []
        for wanted, present in zip(frontier, have, strict=True):
            if present:
                await check_present(dst, wanted)
            else:
                need.append(wanted)
        if not need:
            break
        raws = await lookup([w[0] for w in need])
        nxt: list[Wanted] = []
        for (oid, expected, referrer), raw in zip(need, raws, strict=True):
            if raw is None:
                raise _refuse(f"object {to_hex(oid)} (referenced by {referrer}) is missing "
                              f"from {source}", oid)
            obj = check_received(oid, raw, expected, referrer, max_object_bytes, fmt=fmt)
            received.append((oid, raw))
            for child in wanted_children(oid, obj):
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
