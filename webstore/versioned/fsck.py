"""fsck: verify every ref, every object reachable from them, and (``full``) every other object.

Each object is read without the parse cache, so its bytes are re-hashed; a missing object is
reported with the object that referenced it, a corrupt one with the integrity error's message.
A ref holding garbage is reported, not raised. With ``full`` (the default) the objects no ref
reaches (left by an interrupted commit, or dropped branches) are verified too, like
``git fsck``, so a flipped byte anywhere in the object store is found. Objects and refs are
checked in the repo's object format (SHA-256 or SHA-1); a repo whose stored format key holds
garbage is reported (``bad_format``) and nothing else is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from webstore.errors import IntegrityError
from webstore.versioned.ids import ObjectId, to_hex
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import parse_object

if TYPE_CHECKING:
    from webstore.versioned.repo import Repo

__all__ = ["FsckReport", "fsck"]

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
    bad_format: str | None = None
    """Why the repo's stored object format cannot be read (then nothing else was checked)."""

    @property
    def ok(self) -> bool:
        """Whether nothing is missing or corrupt."""
        return not self.missing and not self.corrupt and not self.bad_refs \
            and self.bad_format is None


async def _scan_rest(objects: ObjectStore, reached: set[ObjectId], report: FsckReport) -> None:
    """Verify every stored object the walk did not reach, in batches."""
    names = await objects.names()
    id_length = objects.object_format.id_length
    for start in range(0, len(names), _BATCH):
        todo: list[ObjectId] = []
        for name in names[start:start + _BATCH]:
            oid = _unhex(name)
            if len(oid) != id_length or to_hex(oid) != name:
                report.corrupt[name] = f"stored under a malformed object name {name!r}"
            elif oid not in reached:
                todo.append(oid)
        raws = await objects.get_raw_many(todo, verify=False)
        for oid, raw in zip(todo, raws, strict=True):
            if raw is None:
                continue  # deleted meanwhile
            try:
                parse_object(objects.verify(oid, raw), oid, objects.object_format)
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
    try:
        await repo.resolve_format()
    except IntegrityError as exc:
        report.bad_format = str(exc)
        return report
    refs, report.bad_refs = await repo.refs.scan()
    roots: dict[ObjectId, str] = {}
    for name, oid in refs.items():
        report.refs += 1
        roots.setdefault(oid, name)
    reached: list[ObjectId] = []
    async for oid, referrer, found in repo.objects.walk(roots):
        if found is None:
            report.missing[to_hex(oid)] = referrer
        elif isinstance(found, IntegrityError):
            report.corrupt[to_hex(oid)] = str(found)
        else:
            reached.append(oid)
            report.checked += 1
    if full:
        await _scan_rest(repo.objects, {*reached, *map(_unhex, report.corrupt)}, report)
    return report


def _unhex(name: str) -> ObjectId:
    try:
        return ObjectId(bytes.fromhex(name))
    except ValueError:
        return ObjectId(b"")
