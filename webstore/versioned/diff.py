"""Diffs as values: :class:`Added`, :class:`Removed`, :class:`Updated` with paths and values.

Computed by walking two trees in step and skipping every subtree whose hash is equal on both
sides, so the cost follows the number of changes, not the size of the store (Irmin's diff).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webstore.versioned.ids import ObjectId
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Blob, Tree, TreeEntry
from webstore.versioned.trees import Path, join, lookup, walk
from webstore.versioned.values import decode_value

__all__ = ["Added", "Change", "Removed", "Updated", "diff_roots"]


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


_Found = tuple[Path, type, ObjectId | None, ObjectId | None]
"""``(path, Added | Removed | Updated, old blob, new blob)`` before values are read."""


async def _side(objects: ObjectStore, entry: TreeEntry, path: Path, added: bool,
                found: list[_Found]) -> None:
    """Everything below ``entry`` as added (or removed)."""
    kind = Added if added else Removed
    if not entry.is_tree:
        found.append((path, kind, None if added else entry.id, entry.id if added else None))
        return
    async for p, blob in walk(objects, entry.id, path):
        found.append((p, kind, None if added else blob, blob if added else None))


async def _diff(objects: ObjectStore, a: TreeEntry | None, b: TreeEntry | None, path: Path,
                out: list[Change]) -> None:
    # Breadth-first: the changed subtrees of one level are read in one batch, the values of
    # all changes in one more, so a diff costs ~depth + 1 reads and follows the changes.
    found: list[_Found] = []
    level = [(a, b, path)]
    while level:
        pairs: list[tuple[ObjectId, ObjectId, Path]] = []
        for x, y, p in level:
            if x == y:
                continue
            if x is not None and y is not None and x.is_tree and y.is_tree:
                pairs.append((x.id, y.id, p))
            elif x is not None and y is not None and not x.is_tree and not y.is_tree:
                found.append((p, Updated, x.id, y.id))
            else:  # one side absent, or a value replaced by a subtree (or the reverse)
                if x is not None:
                    await _side(objects, x, p, False, found)
                if y is not None:
                    await _side(objects, y, p, True, found)
        trees = await objects.read_many([t for x, y, _ in pairs for t in (x, y)], Tree)
        level = []
        for i, (_, _, p) in enumerate(pairs):
            ta, tb = trees[2 * i], trees[2 * i + 1]
            assert isinstance(ta, Tree) and isinstance(tb, Tree)
            ea, eb = ta.delta(tb)
            level.extend((ea.get(n), eb.get(n), (*p, n)) for n in ea.keys() | eb.keys())
    ids = list(dict.fromkeys(o for f in found for o in f[2:] if o is not None))
    data = {o: blob.body() for o, blob in zip(ids, await objects.read_many(ids, Blob),
                                               strict=True)}
    found.sort(key=lambda f: f[0])
    for p, kind, old, new in found:
        where = join(p)
        if kind is Updated:
            assert old is not None and new is not None
            out.append(Updated(where, decode_value(data[old], where),
                               decode_value(data[new], where)))
        else:
            blob = old if kind is Removed else new
            assert blob is not None
            out.append(kind(where, decode_value(data[blob], where)))


async def diff_roots(objects: ObjectStore, old_root: ObjectId | None,
                     new_root: ObjectId | None, prefix: Path = ()) -> list[Change]:
    """Changes between two root trees restricted to the subtree (or value) at ``prefix``."""
    a = None if old_root is None else await lookup(objects, old_root, prefix)
    b = None if new_root is None else await lookup(objects, new_root, prefix)
    out: list[Change] = []
    await _diff(objects, a, b, prefix, out)
    return out
