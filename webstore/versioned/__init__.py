"""The versioned store: Git-format objects (SHA-256 or SHA-1), branches, history, merge, sync.

>>> repo = await Repo.open("notes")            # beside the KV store "notes"
>>> main = repo.branch("main")
>>> await main.set("todo/1", {"text": "milk"}, message="add milk")
>>> await main.get("todo/1")

Layers (Irmin's, in dulwich's composition): :class:`ObjectStore` (content-addressed,
append-only, hash-verified) + :class:`RefStore` (compare-and-set) = :class:`Repo`.
"""

from __future__ import annotations

from typing import Any

from webstore.versioned.branch import Branch, Transaction, View
from webstore.versioned.diff import Added, Change, Removed, Updated
from webstore.versioned.fsck import FsckReport, fsck
from webstore.versioned.git_export import export_git
from webstore.versioned.history import HistoryPage, LogEntry
from webstore.versioned.ids import SHA1, SHA256, ObjectFormat, ObjectId, parse_id, to_hex
from webstore.versioned.merge import (
    ABSENT,
    CONFLICT,
    SUBTREE,
    MergeConflict,
    MergeFunction,
    MergeResult,
)
from webstore.versioned.object_store import ObjectStore
from webstore.versioned.objects import Blob, Commit, Signature, Tree, TreeEntry
from webstore.versioned.refs import RefStore
from webstore.versioned.repo import Author, Repo
from webstore.versioned.sync import Remote, clone, fetch, pull, push
from webstore.versioned.values import AddWinsSet, Counter, LastWriterWins
from webstore.versioned.watch import Channel, RefEvent, WatchHandle

__all__ = [
    "ABSENT",
    "CONFLICT",
    "SHA1",
    "SHA256",
    "SUBTREE",
    "AddWinsSet",
    "Added",
    "Author",
    "Blob",
    "Branch",
    "Change",
    "Channel",
    "Commit",
    "Counter",
    "FsckReport",
    "HistoryPage",
    "LastWriterWins",
    "LogEntry",
    "MergeConflict",
    "MergeFunction",
    "MergeResult",
    "ObjectFormat",
    "ObjectId",
    "ObjectStore",
    "RefEvent",
    "RefStore",
    "Remote",
    "Removed",
    "Repo",
    "Signature",
    "Transaction",
    "Tree",
    "TreeEntry",
    "Updated",
    "View",
    "WatchHandle",
    "clone",
    "export_git",
    "fetch",
    "fsck",
    "parse_id",
    "pull",
    "push",
    "to_hex",
]


def __getattr__(name: str) -> Any:
    """``GitRemote`` (sync with Git servers) is imported on first use.

    A page that never syncs does not load the pack and protocol code (cold start); the
    class itself lives in :mod:`webstore.remote`, the layer above this one.
    """
    if name == "GitRemote":
        from webstore.remote import GitRemote

        return GitRemote
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
