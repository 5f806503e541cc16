"""fsck: verify every object reachable from the refs and that the reference closure is whole.

Each object is read without the parse cache, so its bytes are re-hashed; a missing object is
reported with the object that referenced it, a corrupt one with the integrity error's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from webstore.errors import IntegrityError
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Commit, GitObject, Tree, parse_object

if TYPE_CHECKING:
    from webstore.versioned.repo import Repo

__all__ = ["FsckReport", "fsck", "reachable"]


@dataclass
class FsckReport:
    """What fsck found: counts, and the missing / corrupt objects (hex ids)."""

    checked: int = 0
    missing: dict[str, str] = field(default_factory=dict)
    """Missing object -> what referenced it (a ref name or an object id)."""
    corrupt: dict[str, str] = field(default_factory=dict)
    """Corrupt object -> the reason."""
    refs: int = 0

    @property
    def ok(self) -> bool:
        """Whether nothing is missing or corrupt."""
        return not self.missing and not self.corrupt


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


async def fsck(repo: Repo) -> FsckReport:
    """Check every ref's closure; never raises for bad data, reports it instead."""
    report = FsckReport()
    refs = await repo.refs.list()
    report.refs = len(refs)
    roots: dict[ObjectId, str] = {}
    for name, oid in refs.items():
        roots.setdefault(oid, name)
    await _walk(repo.objects, roots, report)
    return report
