"""Three-way merge of trees and values; conflicts are values, never half-applied commits.

Trees merge by hash: a subtree equal on two sides is taken without being read. Values merge by
type (Irmin's ``Merge``): plain values conflict unless one side kept the ancestor's value or
both agree; :class:`Counter` adds increments; :class:`LastWriterWins` keeps the latest write;
:class:`AddWinsSet` keeps additions from both sides; plain dicts merge key by key recursively.
Custom functions registered for a path prefix take precedence. A side is "unchanged" when its
blob id, or failing that its value, equals the ancestor's: one value in two encodings (a 0.1.0
framed blob and today's JSON, see :mod:`~webstore.versioned.values`) never conflicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from webstore.errors import InvalidArgument, WebstoreError
from webstore.versioned.ids import ObjectFormat, ObjectId
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Blob, GitObject, Tree, TreeEntry
from webstore.versioned.trees import Path, join, split_path
from webstore.versioned.values import (
    AddWinsSet,
    Counter,
    LastWriterWins,
    decode_value,
    encode_value,
)

__all__ = [
    "ABSENT",
    "CONFLICT",
    "SUBTREE",
    "MergeConflict",
    "MergeFunction",
    "MergeFunctions",
    "MergeResult",
    "merge_trees",
    "merge_values",
]


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


ABSENT: Final = _Marker("ABSENT")
"""No value at the path on that side (also: return it from a merge function to delete)."""
CONFLICT: Final = _Marker("CONFLICT")
"""Returned by a merge function that cannot reconcile the three versions."""
SUBTREE: Final = _Marker("SUBTREE")
"""Stands for a whole subtree in a conflict between a value and a subtree."""

MergeFunction = Callable[[str, Any, Any, Any], Any]
"""``fn(path, base, ours, theirs)`` -> merged value, :data:`ABSENT` or :data:`CONFLICT`."""


@dataclass(frozen=True)
class MergeConflict:
    """A path both sides changed irreconcilably, with its three versions."""

    path: str
    base: Any
    ours: Any
    theirs: Any


@dataclass(frozen=True)
class MergeResult:
    """Outcome of a merge: the new head, or the conflicts (and then nothing was committed)."""

    commit: ObjectId | None
    conflicts: list[MergeConflict] = field(default_factory=list)
    fast_forward: bool = False
    changed: bool = True

    @property
    def ok(self) -> bool:
        """Whether the merge succeeded."""
        return not self.conflicts


class MergeFunctions:
    """Custom merge functions by path prefix; the longest registered prefix wins."""

    def __init__(self) -> None:
        self._by_prefix: dict[Path, MergeFunction] = {}

    def register(self, prefix: str, fn: MergeFunction) -> None:
        """Merge values at ``prefix`` and below with ``fn``."""
        if not callable(fn):
            raise InvalidArgument("merge function must be callable", argument="fn")
        self._by_prefix[split_path(prefix, "prefix", allow_root=True)] = fn

    def find(self, path: Path) -> MergeFunction:
        """The function for ``path``: custom if registered, else :func:`merge_values`."""
        for n in range(len(path), -1, -1):
            fn = self._by_prefix.get(path[:n])
            if fn is not None:
                return fn
        return merge_values


def _merge_dicts(base: Any, ours: dict[str, Any], theirs: dict[str, Any]) -> Any:
    b = base if type(base) is dict else {}
    out: dict[str, Any] = {}
    for k in [*ours, *(k for k in theirs if k not in ours)]:
        v = _merge(b.get(k, ABSENT), ours.get(k, ABSENT), theirs.get(k, ABSENT))
        if v is CONFLICT:
            return CONFLICT
        if v is not ABSENT:
            out[k] = v
    return out


def _merge(base: Any, ours: Any, theirs: Any) -> Any:
    if ours == theirs:
        return ours
    if base == ours:
        return theirs
    if base == theirs:
        return ours
    if isinstance(ours, Counter) and isinstance(theirs, Counter):
        start = base.value if isinstance(base, Counter) else 0
        return Counter(ours.value + theirs.value - start)
    if isinstance(ours, LastWriterWins) and isinstance(theirs, LastWriterWins):
        return max(ours, theirs, key=lambda r: (r.timestamp, r.writer))
    if isinstance(ours, AddWinsSet) and isinstance(theirs, AddWinsSet):
        b = base if isinstance(base, AddWinsSet) else frozenset()
        return AddWinsSet((ours & theirs) | (ours - b) | (theirs - b))
    if type(ours) is dict and type(theirs) is dict:
        return _merge_dicts(base, ours, theirs)
    return CONFLICT


def merge_values(path: str, base: Any, ours: Any, theirs: Any) -> Any:
    """Default merge: by the values' type (see module docs); :data:`ABSENT` marks no value."""
    del path
    return _merge(base, ours, theirs)


async def _value(objects: ObjectStore, entry: TreeEntry | None, path: Path) -> Any:
    if entry is None:
        return ABSENT
    if entry.is_tree:
        return SUBTREE
    return decode_value((await objects.read_blob(entry.id)).data, join(path))


def _same_value(a: Any, b: Any) -> bool:
    """Whether two decoded blob values are one value (equal bytes in today's encoding)."""
    if isinstance(a, _Marker) or isinstance(b, _Marker):
        return False
    try:
        return encode_value(a) == encode_value(b)
    except WebstoreError:  # not writable today (e.g. a reserved key): compare ids only
        return False


@dataclass
class _Run:
    objects: ObjectStore
    fmt: ObjectFormat
    functions: MergeFunctions
    out: list[GitObject] = field(default_factory=list)
    conflicts: list[MergeConflict] = field(default_factory=list)


async def _merge_entry(run: _Run, b: TreeEntry | None, o: TreeEntry | None,
                       t: TreeEntry | None, path: Path) -> TreeEntry | None:
    if o == t:
        return o
    if b == o:
        return t
    if b == t:
        return o
    trees = [e for e in (o, t) if e is not None]
    if all(e.is_tree for e in trees):
        objects = run.objects
        eb = (await objects.read_tree(b.id)).entries if b is not None and b.is_tree else {}
        eo = (await objects.read_tree(o.id)).entries if o is not None else {}
        et = (await objects.read_tree(t.id)).entries if t is not None else {}
        entries: dict[str, TreeEntry] = {}
        for name in sorted(eb.keys() | eo.keys() | et.keys()):
            merged = await _merge_entry(run, eb.get(name), eo.get(name), et.get(name),
                                        (*path, name))
            if merged is not None:
                entries[name] = merged
        if not entries:
            return None
        tree = Tree(entries)
        run.out.append(tree)
        return TreeEntry(True, tree.id_in(run.fmt))
    values = [await _value(run.objects, e, path) for e in (b, o, t)]
    # Blob ids differ but a value may be the same in two encodings (0.1.0 framed, JSON):
    # decide "unchanged" on the values, as the ids above would have in one encoding.
    if _same_value(values[1], values[2]):
        return o
    if _same_value(values[0], values[1]):
        return t
    if _same_value(values[0], values[2]):
        return o
    result = CONFLICT
    if SUBTREE not in values[1:]:
        result = run.functions.find(path)(join(path), *values)
    if result is CONFLICT:
        run.conflicts.append(MergeConflict(join(path), *values))
        return o
    if result is ABSENT:
        return None
    blob = Blob(encode_value(result, join(path)))
    run.out.append(blob)
    return TreeEntry(False, blob.id_in(run.fmt))


async def merge_trees(objects: ObjectStore, base: ObjectId | None, ours: ObjectId,
                      theirs: ObjectId, functions: MergeFunctions | None = None,
                      ) -> tuple[ObjectId, list[GitObject], list[MergeConflict]]:
    """Merged root tree id, the new objects to store, and the conflicts (empty if none)."""
    run = _Run(objects, await objects.resolve_format(), functions or MergeFunctions())
    b = None if base is None else TreeEntry(True, base)
    merged = await _merge_entry(run, b, TreeEntry(True, ours), TreeEntry(True, theirs), ())
    if merged is None:
        empty = Tree({})
        run.out.append(empty)
        return empty.id_in(run.fmt), run.out, run.conflicts
    return merged.id, run.out, run.conflicts
