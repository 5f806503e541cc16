"""fsck: verify every ref, every object reachable from them, and (``full``) every other object.

Each object is read without the parse cache, so its bytes are re-hashed; a missing object is
reported with the object that referenced it, a corrupt one with the integrity error's message.
A ref holding garbage is reported, not raised. With ``full`` (the default) the objects no ref
reaches (left by an interrupted commit, or dropped branches) are verified too, like
``git fsck``, so a flipped byte anywhere in the object store is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from webstore.errors import IntegrityError
from webstore.kv import codec
from webstore.versioned.ids import ID_LENGTH, ObjectId, to_hex
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Commit, GitObject, Tree, parse_object

if TYPE_CHECKING:
    from webstore.kv.store import Store
    from webstore.versioned.repo import Repo

__all__ = ["FsckReport", "fsck", "fsck_store", "reachable"]

_BATCH = 256


@dataclass
class FsckReport:
    """What fsck found: counts, and the missing / corrupt objects (hex ids)."""

    checked: int = 0
    missing: dict[str, str] = field(default_factory=dict)
    """Missing object -> what referenced it (a ref name or an object id)."""
    corrupt: dict[str, str] = field(default_factory=dict)
    """Corrupt object -> the reason."""
    refs: int = 0
    bad_refs: dict[str, str] = field(default_factory=dict)
    """Ref name -> why its value is not a commit id."""
    dangling: int = 0
    """Intact objects no ref reaches (only counted with ``full``)."""

    @property
    def ok(self) -> bool:
        """Whether nothing is missing or corrupt."""
        return not self.missing and not self.corrupt and not self.bad_refs


def _children(obj: GitObject) -> list[ObjectId]:
    if isinstance(obj, Commit):
        return [obj.tree, *obj.parents]
    if isinstance(obj, Tree):
        return [e.id for e in obj.entries.values()]
    return []


async def _walk(objects: ObjectStore, roots: dict[ObjectId, str],
                report: FsckReport | None) -> list[ObjectId]:
    """Breadth-first over the object graph, reading each object's bytes once (batched)."""
    seen: set[ObjectId] = set(roots)
    frontier = list(roots.items())
    order: list[ObjectId] = []
    while frontier:
        ids = [oid for oid, _ in frontier]
        try:
            raws = await objects.backend.get_many([objects.key(o) for o in ids])
        except IntegrityError:
            raise
        nxt: list[tuple[ObjectId, str]] = []
        for (oid, parent), raw in zip(frontier, raws, strict=True):
            if raw is None:
                if report is None:
                    raise IntegrityError(f"object {to_hex(oid)} is missing", key=to_hex(oid))
                report.missing[to_hex(oid)] = parent
                continue
            try:
                objects._verify(oid, bytes(raw))
                obj = parse_object(bytes(raw), oid)
            except IntegrityError as exc:
                if report is None:
                    raise
                report.corrupt[to_hex(oid)] = str(exc)
                continue
            order.append(oid)
            if report is not None:
                report.checked += 1
            for child in _children(obj):
                if child not in seen:
                    seen.add(child)
                    nxt.append((child, to_hex(oid)))
        frontier = nxt
    return order


async def reachable(objects: ObjectStore, heads: list[ObjectId]) -> list[ObjectId]:
    """Every object reachable from ``heads`` (verified; raises on missing or corrupt)."""
    return await _walk(objects, {h: "head" for h in heads}, None)


async def _scan_rest(objects: ObjectStore, reached: set[ObjectId], report: FsckReport) -> None:
    """Verify every stored object the walk did not reach, in batches."""
    cut = len(objects.prefix)
    keys = await objects.backend.keys(objects.prefix)
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start:start + _BATCH]
        todo: list[tuple[str, ObjectId]] = []
        for key in chunk:
            name = key[cut:]
            try:
                oid = ObjectId(bytes.fromhex(name))
            except ValueError:
                oid = ObjectId(b"")
            if len(oid) != ID_LENGTH or to_hex(oid) != name:
                report.corrupt[name] = f"stored under a malformed object name {name!r}"
            elif oid not in reached:
                todo.append((key, oid))
        raws = await objects.backend.get_many([k for k, _ in todo])
        for (_, oid), raw in zip(todo, raws, strict=True):
            if raw is None:
                continue  # deleted meanwhile
            try:
                objects._verify(oid, bytes(raw))
                parse_object(bytes(raw), oid)
            except IntegrityError as exc:
                report.corrupt[to_hex(oid)] = str(exc)
                continue
            report.checked += 1
            report.dangling += 1


async def fsck(repo: Repo, *, full: bool = True) -> FsckReport:
    """Check every ref's closure and, with ``full``, every stored object.

    Never raises for bad data: reports it instead.
    """
    report = FsckReport()
    roots: dict[ObjectId, str] = {}
    for key, raw in await repo.refs.backend.items(repo.refs.prefix):
        name = key[len(repo.refs.prefix):]
        try:
            oid = repo.refs._decode(name, raw)
        except IntegrityError as exc:
            report.bad_refs[name] = str(exc)
            continue
        assert oid is not None
        report.refs += 1
        roots.setdefault(oid, name)
    reached = await _walk(repo.objects, roots, report)
    if full:
        await _scan_rest(repo.objects, {*reached, *map(_unhex, report.corrupt)}, report)
    return report


def _unhex(name: str) -> ObjectId:
    try:
        return ObjectId(bytes.fromhex(name))
    except ValueError:
        return ObjectId(b"")


async def fsck_store(store: Store) -> dict[str, str]:
    """Decode every value of a key-value :class:`~webstore.Store`; return key -> why corrupt.

    Empty when every value's checksum and body are intact.
    """
    bad: dict[str, str] = {}
    keys = await store.keys()
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start:start + _BATCH]
        raws = await store.backend.get_many([store._key(k) for k in chunk])
        for key, raw in zip(chunk, raws, strict=True):
            if raw is None:
                continue  # deleted meanwhile
            try:
                codec.decode(raw, key)
            except IntegrityError as exc:
                bad[key] = str(exc)
    return bad
