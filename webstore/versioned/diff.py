"""Diffs as values: :class:`Added`, :class:`Removed`, :class:`Updated` with paths and values.

Computed by walking two trees in step and skipping every subtree whose hash is equal on both
sides, so the cost follows the number of changes, not the size of the store (Irmin's diff).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webstore.versioned.ids import ObjectId
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import TreeEntry
from webstore.versioned.trees import Path, join, lookup, walk
from webstore.versioned.values import decode_value

__all__ = ["Added", "Change", "Removed", "Updated", "diff_roots", "diff_trees"]


@dataclass(frozen=True)
class Added:
    """``path`` holds ``value`` on the new side only."""

    path: str
    value: Any


@dataclass(frozen=True)
class Removed:
    """``path`` held ``value`` on the old side only."""

    path: str
    value: Any


@dataclass(frozen=True)
class Updated:
    """``path`` changed from ``old`` to ``new``."""

    path: str
    old: Any
    new: Any


Change = Added | Removed | Updated


async def _value(objects: ObjectStore, blob: ObjectId, path: Path) -> Any:
    return decode_value((await objects.read_blob(blob)).data, join(path))


async def _side(objects: ObjectStore, entry: TreeEntry, path: Path, added: bool,
                out: list[Change]) -> None:
    """Everything below ``entry`` as added (or removed)."""
    items = walk(objects, entry.id, path) if entry.is_tree else _one(path, entry.id)
    async for p, blob in items:
        v = await _value(objects, blob, p)
        out.append(Added(join(p), v) if added else Removed(join(p), v))


async def _one(path: Path, blob: ObjectId) -> Any:
    yield path, blob


async def diff_trees(objects: ObjectStore, old: ObjectId | None, new: ObjectId | None,
                     prefix: Path = ()) -> list[Change]:
    """Changes from tree ``old`` to tree ``new`` (``None``: empty), paths under ``prefix``."""
    out: list[Change] = []
    await _diff(objects, None if old is None else TreeEntry(True, old),
                None if new is None else TreeEntry(True, new), prefix, out)
    return out


async def _diff(objects: ObjectStore, a: TreeEntry | None, b: TreeEntry | None, path: Path,
                out: list[Change]) -> None:
    if a == b:
        return
    if a is None:
        assert b is not None
        await _side(objects, b, path, True, out)
        return
    if b is None:
        await _side(objects, a, path, False, out)
        return
    if not a.is_tree and not b.is_tree:
        out.append(Updated(join(path), await _value(objects, a.id, path),
                           await _value(objects, b.id, path)))
        return
    if a.is_tree != b.is_tree:
        # A value replaced by a subtree or the reverse: report in path order.
        first, second = (a, b) if not a.is_tree else (b, a)
        await _side(objects, first, path, first is b, out)
        await _side(objects, second, path, second is b, out)
        return
    ea, eb = (await objects.read_tree(a.id)).delta(await objects.read_tree(b.id))
    for name in sorted(ea.keys() | eb.keys()):
        await _diff(objects, ea.get(name), eb.get(name), (*path, name), out)


async def diff_roots(objects: ObjectStore, old_root: ObjectId | None,
                     new_root: ObjectId | None, prefix: Path = ()) -> list[Change]:
    """Changes between two root trees restricted to the subtree (or value) at ``prefix``."""
    a = None if old_root is None else await lookup(objects, old_root, prefix)
    b = None if new_root is None else await lookup(objects, new_root, prefix)
    out: list[Change] = []
    await _diff(objects, a, b, prefix, out)
    return out
