"""Sync from an untrusted peer: every bad peer is refused and the target stores nothing.

The target is a real SQLite file with history of its own. Each case builds a peer (a memory
repo) whose backend is then tampered with directly, and runs ``pull`` and ``clone`` against it:
both must raise a clear webstore error, and the target's whole key space (every object, every
ref, byte for byte) must be unchanged afterwards, with ``fsck`` still clean.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from webstore.errors import IntegrityError, InvalidArgument, RefMoved, WebstoreError
from webstore.testing.raw import object_key, object_prefix, raw_backend, ref_key
from webstore.versioned import Commit, Repo, Signature, fsck
from webstore.versioned.ids import ObjectId, hash_object, to_hex
from webstore.versioned.objects import Blob, Tree, TreeEntry
from webstore.versioned.sync import MAX_OBJECT_BYTES, clone, pull

SIG = Signature("peer", "peer@example.org", 1_700_000_000)
Tamper = Callable[[Repo], Awaitable[None]]


def _oid(seed: str) -> ObjectId:
    return ObjectId(hashlib.sha256(seed.encode()).digest())


async def _put(peer: Repo, raw: bytes, oid: ObjectId | None = None) -> ObjectId:
    """Store raw bytes in the peer under ``oid`` (default: their true hash), bypassing checks."""
    oid = oid if oid is not None else hash_object(raw)
    await raw_backend(peer).set_many([(object_key(peer, oid), raw)])
    return oid


async def _point(peer: Repo, oid: ObjectId, ref: str = "heads/main") -> None:
    await raw_backend(peer).set_many([(ref_key(peer, ref), to_hex(oid).encode())])


def _tree_raw(entries: list[tuple[bytes, bytes, ObjectId]]) -> bytes:
    body = b"".join(b"%s %s\x00%s" % (mode, name, oid) for mode, name, oid in entries)
    return b"tree %d\x00%s" % (len(body), body)


async def _commit_to(peer: Repo, tree: ObjectId, parents: tuple[ObjectId, ...] = ()) -> ObjectId:
    return await _put(peer, Commit(tree, parents, SIG, SIG, "peer commit\n").raw())


async def _good_tree(peer: Repo) -> ObjectId:
    blob = await _put(peer, Blob(b"value").raw())
    return await _put(peer, Tree({"k": TreeEntry(False, blob)}).raw())


# -- the hostile peers ------------------------------------------------------------------------


async def wrong_hash(peer: Repo) -> None:
    # A valid blob stored under another object's name.
    head = await peer.branch("main").head()
    assert head is not None
    tree = (await peer.objects.read_commit(head)).tree
    await _put(peer, Blob(b"forged content").raw(), tree)


async def wrong_hash_deep_in_history(peer: Repo) -> None:
    main = peer.branch("main")
    first = (await main.history(limit=1000)).entries[-1].commit.tree
    for i in range(20):
        await main.set(f"later/{i}", i)
    await _put(peer, Tree({}).raw()[:-1] + b"x", first)


async def ref_to_missing_object(peer: Repo) -> None:
    await _point(peer, _oid("nowhere"))


async def tag_to_missing_object(peer: Repo) -> None:
    await _point(peer, _oid("nowhere"), "tags/v1")


async def enormous_object(peer: Repo) -> None:
    # Just over the default limit: refused before being hashed or stored.
    blob = await _put(peer, Blob(b"\0" * (MAX_OBJECT_BYTES - 13)).raw())
    raw = await raw_backend(peer).get(object_key(peer, blob)) or b""
    assert len(raw) == MAX_OBJECT_BYTES + 1
    tree = await _put(peer, Tree({"huge": TreeEntry(False, blob)}).raw())
    await _point(peer, await _commit_to(peer, tree))


async def commit_with_missing_tree(peer: Repo) -> None:
    await _point(peer, await _commit_to(peer, _oid("no tree")))


async def tree_with_missing_blob(peer: Repo) -> None:
    tree = await _put(peer, Tree({"k": TreeEntry(False, _oid("no blob"))}).raw())
    await _point(peer, await _commit_to(peer, tree))


async def missing_parent(peer: Repo) -> None:
    await _point(peer, await _commit_to(peer, await _good_tree(peer), (_oid("no parent"),)))


async def parent_is_a_tree(peer: Repo) -> None:
    tree = await _good_tree(peer)
    await _point(peer, await _commit_to(peer, tree, (tree,)))


async def tree_is_a_blob(peer: Repo) -> None:
    blob = await _put(peer, Blob(b"not a tree").raw())
    await _point(peer, await _commit_to(peer, blob))


async def ref_to_a_tree(peer: Repo) -> None:
    await _point(peer, await _good_tree(peer))


async def subtree_is_a_blob(peer: Repo) -> None:
    blob = await _put(peer, Blob(b"v").raw())
    tree = await _put(peer, Tree({"dir": TreeEntry(True, blob)}).raw())
    await _point(peer, await _commit_to(peer, tree))


async def blob_is_a_commit(peer: Repo) -> None:
    # A tree entry (mode 100644) naming a commit that only the peer has.
    inner = await _commit_to(peer, await _good_tree(peer))
    tree = await _put(peer, Tree({"v": TreeEntry(False, inner)}).raw())
    await _point(peer, await _commit_to(peer, tree))


async def cycle_of_forged_commits(peer: Repo) -> None:
    # Two commits naming each other as parent: only possible with forged names.
    tree = await _good_tree(peer)
    a, b = _oid("cycle a"), _oid("cycle b")
    await _put(peer, Commit(tree, (b,), SIG, SIG, "a\n").raw(), a)
    await _put(peer, Commit(tree, (a,), SIG, SIG, "b\n").raw(), b)
    await _point(peer, a)


async def self_parent(peer: Repo) -> None:
    a = _oid("self")
    await _put(peer, Commit(await _good_tree(peer), (a,), SIG, SIG, "me\n").raw(), a)
    await _point(peer, a)


async def malformed_object(peer: Repo) -> None:
    await _point(peer, await _put(peer, b"commit 5\x00hello"))


async def unknown_object_type(peer: Repo) -> None:
    await _point(peer, await _put(peer, b"tag 0\x00"))


async def tree_entry_dotgit(peer: Repo) -> None:
    blob = await _put(peer, Blob(b"x").raw())
    tree = await _put(peer, _tree_raw([(b"100644", b".git", blob)]))
    await _point(peer, await _commit_to(peer, tree))


async def tree_entry_dotdot(peer: Repo) -> None:
    blob = await _put(peer, Blob(b"x").raw())
    tree = await _put(peer, _tree_raw([(b"40000", b"..", blob)]))
    await _point(peer, await _commit_to(peer, tree))


async def tree_entry_with_slash(peer: Repo) -> None:
    blob = await _put(peer, Blob(b"x").raw())
    tree = await _put(peer, _tree_raw([(b"100644", b"a/b", blob)]))
    await _point(peer, await _commit_to(peer, tree))


async def tree_with_duplicate_entries(peer: Repo) -> None:
    one, two = await _put(peer, Blob(b"1").raw()), await _put(peer, Blob(b"2").raw())
    tree = await _put(peer, _tree_raw([(b"100644", b"k", one), (b"100644", b"k", two)]))
    await _point(peer, await _commit_to(peer, tree))


async def tree_unsorted(peer: Repo) -> None:
    one, two = await _put(peer, Blob(b"1").raw()), await _put(peer, Blob(b"2").raw())
    tree = await _put(peer, _tree_raw([(b"100644", b"b", one), (b"100644", b"a", two)]))
    await _point(peer, await _commit_to(peer, tree))


async def tree_entry_not_utf8(peer: Repo) -> None:
    blob = await _put(peer, Blob(b"x").raw())
    tree = await _put(peer, _tree_raw([(b"100644", b"\xff\xfe", blob)]))
    await _point(peer, await _commit_to(peer, tree))


async def ref_holds_garbage(peer: Repo) -> None:
    await raw_backend(peer).set_many([(ref_key(peer, "heads/main"), b"not a commit id")])


async def one_good_ref_one_bad(peer: Repo) -> None:
    await _point(peer, _oid("missing"), "heads/zzz")


async def bad_ref_name(peer: Repo) -> None:
    head = await peer.branch("main").head()
    assert head is not None
    await _point(peer, head, "heads/a..b")


async def ref_outside_heads_and_tags(peer: Repo) -> None:
    head = await peer.branch("main").head()
    assert head is not None
    await _point(peer, head, "remotes/origin/main")


CASES: dict[str, tuple[Tamper, type[WebstoreError], type[WebstoreError] | None]] = {
    # name: (tamper, error from pull, error from clone: None when clone is unaffected)
    "wrong_hash": (wrong_hash, IntegrityError, IntegrityError),
    "wrong_hash_deep_in_history": (wrong_hash_deep_in_history, IntegrityError, IntegrityError),
    "ref_to_missing_object": (ref_to_missing_object, IntegrityError, IntegrityError),
    "tag_to_missing_object": (tag_to_missing_object, IntegrityError, IntegrityError),
    "enormous_object": (enormous_object, IntegrityError, IntegrityError),
    "commit_with_missing_tree": (commit_with_missing_tree, IntegrityError, IntegrityError),
    "tree_with_missing_blob": (tree_with_missing_blob, IntegrityError, IntegrityError),
    "missing_parent": (missing_parent, IntegrityError, IntegrityError),
    "parent_is_a_tree": (parent_is_a_tree, IntegrityError, IntegrityError),
    "tree_is_a_blob": (tree_is_a_blob, IntegrityError, IntegrityError),
    "ref_to_a_tree": (ref_to_a_tree, IntegrityError, IntegrityError),
    "subtree_is_a_blob": (subtree_is_a_blob, IntegrityError, IntegrityError),
    "blob_is_a_commit": (blob_is_a_commit, IntegrityError, IntegrityError),
    "cycle_of_forged_commits": (cycle_of_forged_commits, IntegrityError, IntegrityError),
    "self_parent": (self_parent, IntegrityError, IntegrityError),
    "malformed_object": (malformed_object, IntegrityError, IntegrityError),
    "unknown_object_type": (unknown_object_type, IntegrityError, IntegrityError),
    "tree_entry_dotgit": (tree_entry_dotgit, IntegrityError, IntegrityError),
    "tree_entry_dotdot": (tree_entry_dotdot, IntegrityError, IntegrityError),
    "tree_entry_with_slash": (tree_entry_with_slash, IntegrityError, IntegrityError),
    "tree_with_duplicate_entries": (tree_with_duplicate_entries, IntegrityError,
                                    IntegrityError),
    "tree_unsorted": (tree_unsorted, IntegrityError, IntegrityError),
    "tree_entry_not_utf8": (tree_entry_not_utf8, IntegrityError, IntegrityError),
    "ref_holds_garbage": (ref_holds_garbage, IntegrityError, IntegrityError),
    "one_good_ref_one_bad": (one_good_ref_one_bad, IntegrityError, IntegrityError),
    "bad_ref_name": (bad_ref_name, IntegrityError, InvalidArgument),
    "ref_outside_heads_and_tags": (ref_outside_heads_and_tags, IntegrityError,
                                   InvalidArgument),
}
# Cases that leave the peer's main branch healthy: pull of main succeeds for them.
PULL_UNAFFECTED = {"tag_to_missing_object", "one_good_ref_one_bad", "bad_ref_name",
                   "ref_outside_heads_and_tags"}


async def _peer() -> Repo:
    peer = Repo.memory()
    main = peer.branch("main")
    for i in range(5):
        await main.set(f"p/{i}", {"peer": i})
    return peer


async def _target(path: Path) -> Repo:
    dst = await Repo.open("target", backend="sqlite", path=str(path))
    main = dst.branch("main")
    for i in range(5):
        await main.set(f"t/{i}", i)
    await dst.branch("other").set("x", 1)
    return dst


async def _snapshot(dst: Repo) -> list[tuple[str, bytes]]:
    """Every stored key and value but the repo's object-format record, written when opened."""
    return [(k, v) for k, v in await raw_backend(dst).items() if not k.endswith(":format")]


async def _run(name: str, path: Path) -> dict[str, str]:
    tamper, pull_error, clone_error = CASES[name]
    peer, dst = await _peer(), await _target(path)
    # Clone goes into a second, empty repo in the same SQLite file.
    fresh = await Repo.open("fresh", backend="sqlite", path=str(path))
    await tamper(peer)
    before = await _snapshot(dst)
    outcome: dict[str, str] = {}
    attempts: list[tuple[str, Awaitable[object], type[WebstoreError] | None]] = [
        ("pull", pull(dst, peer, "main"), None if name in PULL_UNAFFECTED else pull_error),
        ("clone", clone(peer, fresh), clone_error),
    ]
    for what, call, expected in attempts:
        if expected is None:
            call.close()  # type: ignore[attr-defined]
            continue
        with pytest.raises(expected) as info:
            await call
        after = await _snapshot(dst)
        assert after == before, f"{what} from a {name} peer changed the target"
        named = getattr(info.value, "key", None) or getattr(info.value, "argument", None)
        assert named, f"{what} error names nothing: {info.value!r}"
        outcome[what] = str(info.value)
    report = await fsck(dst)
    assert report.ok, report
    await dst.close()
    await fresh.close()
    return outcome


@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"cpython-sqlite-{c}")
def test_untrusted_peer_is_refused_and_nothing_stored(case: str, tmp_path: Path) -> None:
    outcome = asyncio.run(_run(case, tmp_path / "target.sqlite3"))
    for what, message in outcome.items():
        print(f"[sqlite] {case}: {what} refused: {message[:150]}")


@pytest.mark.parametrize("engine", ["cpython-sqlite"])
def test_honest_peer_syncs(engine: str, tmp_path: Path) -> None:
    """Control: the same target accepts a healthy peer (so the refusals above mean something)."""

    async def go() -> None:
        peer, dst = await _peer(), await _target(tmp_path / "t.sqlite3")
        before = len(await _snapshot(dst))
        result = await pull(dst, peer, "main")
        assert result.ok and await dst.branch("main").get("p/3") == {"peer": 3}
        assert await dst.branch("main").get("t/3") == 3
        assert len(await _snapshot(dst)) > before
        fresh = await Repo.open("fresh", backend="sqlite", path=str(tmp_path / "f.sqlite3"))
        refs = await clone(peer, fresh)
        assert refs == await peer.refs.list()
        assert (await fsck(fresh)).ok
        await dst.close()
        await fresh.close()

    asyncio.run(go())


@pytest.mark.parametrize("engine", ["cpython-sqlite"])
def test_size_limit_is_configurable(engine: str, tmp_path: Path) -> None:
    """An object over a caller-chosen limit is refused; raising the limit lets it through."""

    async def go() -> None:
        peer = Repo.memory()
        await peer.branch("main").set("big", b"\1" * 10_000)
        sizes = [len(raw) for _, raw in await raw_backend(peer).items(object_prefix(peer))]
        biggest = max(sizes)
        dst = await Repo.open("t", backend="sqlite", path=str(tmp_path / "t.sqlite3"))
        with pytest.raises(IntegrityError, match=f"max_object_bytes={biggest - 1}"):
            await clone(peer, dst, max_object_bytes=biggest - 1)
        assert await _snapshot(dst) == []
        with pytest.raises(InvalidArgument, match="max_object_bytes"):
            await clone(peer, dst, max_object_bytes=0)
        await clone(peer, dst, max_object_bytes=biggest)  # exactly at the limit: accepted
        assert await dst.branch("main").get("big") == b"\1" * 10_000
        await dst.close()

    asyncio.run(go())


@pytest.mark.parametrize("engine", ["cpython-sqlite"])
def test_clone_refuses_conflicting_ref_before_storing(engine: str, tmp_path: Path) -> None:
    async def go() -> None:
        peer = await _peer()
        await peer.branch("aaa").set("a", 1)
        dst = await _target(tmp_path / "t.sqlite3")
        before = await _snapshot(dst)
        with pytest.raises(RefMoved, match="nothing was stored"):
            await clone(peer, dst)
        assert await _snapshot(dst) == before
        await dst.close()

    asyncio.run(go())
