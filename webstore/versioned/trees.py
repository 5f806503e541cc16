"""Paths and tree editing: reads and writes touch only the trees along the changed paths.

A commit of one change rewrites one blob and ``depth`` trees, whatever the store's size.
Setting a value where a subtree was replaces the subtree; setting below a value replaces the
value by a tree (as Irmin does). Emptied subtrees disappear.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from webstore.errors import InvalidKey
from webstore.keys import validate_key
from webstore.versioned.ids import ObjectFormat, ObjectId
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import GitObject, Tree, TreeEntry

__all__ = ["Path", "join", "lookup", "split_path", "walk", "write_changes"]

Path = tuple[str, ...]
_RESERVED = {".", "..", ".git", "git~1", ".gitmodules"}


def split_path(path: object, argument: str = "path", *, allow_root: bool = False) -> Path:
    """``"a/b/c"`` -> ``("a", "b", "c")``; raise :class:`InvalidKey` naming a bad step.

    Steps must be non-empty, without NUL, and not one Git refuses (``.``, ``..``, ``.git``).
    """
    if allow_root and path in ("", "/"):
        return ()
    # A non-empty str of valid Unicode within MAX_KEY_LENGTH, as keys of the KV store are.
    checked = validate_key(path, argument)
    parts = tuple(checked.strip("/").split("/"))
    for step in parts:
        if not step or "\x00" in step or step.lower() in _RESERVED:
            raise InvalidKey(f"{argument} has an invalid step {step!r} in {path!r} (steps are "
                             "non-empty, without NUL, not '.', '..' or '.git')", key=path)
    return parts


def join(parts: Path) -> str:
    """Inverse of :func:`split_path`."""
    return "/".join(parts)


async def lookup(objects: ObjectStore, root: ObjectId, parts: Path) -> TreeEntry | None:
    """Entry at ``parts`` below ``root`` (root itself for ``()``), ``None`` when absent."""
    entry = TreeEntry(True, root)
    for step in parts:
        if not entry.is_tree:
            return None
        found = (await objects.read_tree(entry.id)).entries.get(step)
        if found is None:
            return None
        entry = found
    return entry


async def walk(objects: ObjectStore, tree: ObjectId, prefix: Path = ()
               ) -> AsyncIterator[tuple[Path, ObjectId]]:
    """Every ``(path, blob id)`` below a tree, in path order."""
    node = await objects.read_tree(tree)
    for name in sorted(node.entries):
        entry = node.entries[name]
        if entry.is_tree:
            async for item in walk(objects, entry.id, (*prefix, name)):
                yield item
        else:
            yield (*prefix, name), entry.id


async def write_changes(objects: ObjectStore, root: ObjectId | None,
                        changes: Mapping[Path, ObjectId | None],
                        ) -> tuple[ObjectId, list[GitObject]]:
    """New root after setting (blob id) / removing (``None``) paths; plus the new trees.

    ``changes`` must be normalised: no path is a prefix of another, except a removal that
    precedes settings below it. Nothing is written; the caller batches the returned objects.
    """
    fmt = await objects.resolve_format()
    out: list[GitObject] = []
    new_root = await _edit(objects, fmt, root, changes, out)
    if new_root is None:
        empty = Tree({})
        out.append(empty)
        new_root = empty.id_in(fmt)
    return new_root, out


async def _edit(objects: ObjectStore, fmt: ObjectFormat, tree_id: ObjectId | None,
                changes: Mapping[Path, ObjectId | None], out: list[GitObject]) -> ObjectId | None:
    base = (await objects.read_tree(tree_id)).entries if tree_id is not None else {}
    entries = dict(base)
    leaves: dict[str, ObjectId | None] = {}
    groups: dict[str, dict[Path, ObjectId | None]] = {}
    for parts, blob in changes.items():
        if len(parts) == 1:
            leaves[parts[0]] = blob
        else:
            groups.setdefault(parts[0], {})[parts[1:]] = blob
    for name, blob in leaves.items():
        if blob is None:
            entries.pop(name, None)
        else:
            entries[name] = TreeEntry(False, blob)
    for name, sub in groups.items():
        child = entries.get(name)
        new_sub = await _edit(objects, fmt, child.id if child and child.is_tree else None, sub,
                              out)
        if new_sub is None:
            if child is not None and child.is_tree:
                entries.pop(name)  # a value at ``name`` is untouched by removals below it
        else:
            entries[name] = TreeEntry(True, new_sub)
    if not entries:
        return None
    if entries == base and tree_id is not None:
        return tree_id
    tree = Tree(entries)
    out.append(tree)
    return tree.id_in(fmt)
