"""Object format per repo: SHA-256 (the default) or SHA-1, chosen at creation, stored, never mixed.

Real Git judges the SHA-1 objects (``git fsck --strict``, ``git rev-parse``, ``git cat-file``).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from webstore.backends._memory import MemoryBackend
from webstore.backends._sqlite import SQLiteBackend
from webstore.errors import IntegrityError, InvalidArgument, KeyNotFound
from webstore.versioned import (
    SHA1,
    SHA256,
    Added,
    Counter,
    Repo,
    Updated,
    clone,
    export_git,
    fetch,
    fsck,
    pull,
    push,
    to_hex,
)
from webstore.versioned.ids import object_format
from webstore.versioned.objects import Blob, Tree, TreeEntry, parse_object
from webstore.versioned.repo import repo_prefix

if shutil.which("git") is None:  # a missing git is a failure, never a skip
    raise RuntimeError("the git binary is required by the object format tests")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    return done.stdout.decode()


def _clock() -> Any:
    ticks = iter(range(1_700_000_000, 1_800_000_000))
    return lambda: float(next(ticks))


async def _sqlite_repo(path: Path, name: str = "r", **options: Any) -> Repo:
    return await Repo.open(name, backend="sqlite", path=str(path), clock=_clock(), **options)


# -- the format values --------------------------------------------------------------------------

def test_format_lookup_and_bad_arguments() -> None:
    assert object_format("sha1") is SHA1 and object_format("sha256") is SHA256
    assert object_format(SHA1) is SHA1
    assert (SHA1.id_length, SHA1.hex_length, SHA256.id_length) == (20, 40, 32)
    for bad in ("md5", "SHA1", "", 1, b"sha1"):
        with pytest.raises(InvalidArgument) as info:
            Repo.memory(object_format=bad)
        assert info.value.argument == "object_format"
        assert "'sha1'" in str(info.value) and "'sha256'" in str(info.value)
    with pytest.raises(InvalidArgument):
        object_format(None)


def test_bad_format_opens_nothing(tmp_path: Path) -> None:
    path = tmp_path / "never.sqlite3"
    with pytest.raises(InvalidArgument, match="object_format"):
        asyncio.run(Repo.open("x", backend="sqlite", path=str(path), object_format="sha512"))
    assert not path.exists()


def test_sha1_names_match_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--object-format=sha1", str(tmp_path)], check=True)
    blob = Blob(b"hello \x00 bytes\n")
    sub = Tree({"k": TreeEntry(False, blob.id_in(SHA1))})
    tree = Tree({"a": TreeEntry(True, sub.id_in(SHA1)), "a-b": TreeEntry(False, blob.id_in(SHA1))})
    for obj in (blob, sub, tree):
        written = subprocess.run(
            ["git", "-C", str(tmp_path), "hash-object", "-t", obj.type_name.decode(), "-w",
             "--stdin"], input=obj.body(), capture_output=True, check=True)
        assert written.stdout.decode().strip() == to_hex(obj.id_in(SHA1))
        assert len(obj.id_in(SHA1)) == 20
    # A SHA-1 tree holds 20-byte ids; read as SHA-256 it is malformed, and the reverse.
    parsed = parse_object(tree.raw(), tree.id_in(SHA1), SHA1)
    assert isinstance(parsed, Tree) and parsed.entries == tree.entries
    with pytest.raises(IntegrityError):
        parse_object(tree.raw(), tree.id_in(SHA1), SHA256)


# -- a SHA-1 repo does everything ------------------------------------------------------------

async def _exercise(repo: Repo) -> None:
    assert repo.object_format == "sha1"
    main = repo.branch("main")
    first = await main.set("docs/readme", "hello", message="first")
    assert len(first) == 20
    async with main.transaction("two at once") as tx:
        tx.set("docs/a", [1, 2])
        tx.set("n/c", Counter(1))
    side = await repo.create_branch("side", "main")
    await side.set("n/c", Counter(3))
    await side.set("side/only", {"k": 1.5})
    await main.set("n/c", Counter(2))
    result = await repo.merge("main", "side")
    assert result.commit is not None and not result.conflicts and len(result.commit) == 20
    assert await main.get("n/c") == Counter(4)  # 1 -> +2 (side) and +1 (main)
    assert await main.get("side/only") == {"k": 1.5}
    changes = await repo.diff(first, "main")
    assert Added("docs/a", [1, 2]) in changes and Added("side/only", {"k": 1.5}) in changes
    assert await repo.diff("side", "main", prefix="n") == [Updated("n/c", Counter(3), Counter(4))]
    page = await repo.history("main", limit=2)
    assert len(page.entries) == 2 and page.cursor is not None
    assert all(len(e.hex) == 40 for e in page.entries)
    rest = await repo.history("main", limit=50, cursor=page.cursor)
    messages = [e.message for e in [*page.entries, *rest.entries]]
    assert messages[0].startswith("Merge side into main") and messages[-1] == "first"
    assert len(messages) == 6
    # Revs: the 40-digit hex resolves; a 64-digit (SHA-256-sized) one is not a name here.
    view = await repo.at(to_hex(first))
    assert await view.get("docs/readme") == "hello" and await view.get("docs/a") is None
    with pytest.raises(KeyNotFound):
        await repo.resolve("ab" * 32)
    with pytest.raises(InvalidArgument, match="sha1"):
        await repo.resolve(b"\x01" * 32)
    tree = await repo.objects.read_tree((await repo.commit("main")).tree)
    assert {len(e.id) for e in tree.entries.values()} == {20}
    await repo.tag("v1", "main")
    report = await fsck(repo)
    assert report.ok and report.checked > 10 and report.refs == 3


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_sha1_repo_commit_branch_merge_diff_history_fsck(backend: str, tmp_path: Path) -> None:
    async def go() -> None:
        if backend == "memory":
            repo = Repo.memory(object_format="sha1", clock=_clock())
            await repo.resolve_format()
        else:
            repo = await _sqlite_repo(tmp_path / "s.sqlite3", object_format="sha1")
        await _exercise(repo)
        await repo.close()

    asyncio.run(go())


def test_sha1_export_passes_git(tmp_path: Path) -> None:
    async def go() -> tuple[str, int, dict[str, bytes]]:
        repo = await _sqlite_repo(tmp_path / "s.sqlite3", object_format="sha1")
        main = repo.branch("main")
        values = {"docs/readme": "hello", "docs/a-b": [1, 2], "docs.txt": b"\x00raw",
                  "deep/er/still": {"k": 1.5}}
        for path, value in values.items():
            await main.set(path, value, message=f"set {path}")
        await repo.create_branch("side", "main")
        await repo.branch("side").set("s", 1)
        await repo.merge("main", "side")  # a fast-forward
        await main.set("after", True)
        head = await main.head()
        assert head is not None
        await export_git(repo, tmp_path / "git")
        blobs = {}
        for path in values:
            blobs[path] = (await repo.objects.read_blob(await _blob_id(repo, path))).data
        count = len((await repo.history("main")).entries)
        await repo.close()
        return to_hex(head), count, blobs

    head, count, blobs = asyncio.run(go())
    out = tmp_path / "git"
    assert len(head) == 40
    config = (out / ".git" / "config").read_text()
    assert "repositoryformatversion = 0" in config and "objectformat" not in config
    assert git(out, "rev-parse", "--show-object-format").strip() == "sha1"
    git(out, "fsck", "--strict", "--no-dangling")
    assert git(out, "rev-parse", "HEAD").strip() == head
    assert len(git(out, "log", "--format=%H").split()) == count
    for path, data in blobs.items():
        shown = subprocess.run(["git", "-C", str(out), "cat-file", "-p", f"HEAD:{path}"],
                               capture_output=True, check=True).stdout
        assert shown == data


async def _blob_id(repo: Repo, path: str) -> Any:
    from webstore.versioned.trees import lookup, split_path

    entry = await lookup(repo.objects, (await repo.commit("main")).tree, split_path(path))
    assert entry is not None and not entry.is_tree
    return entry.id


def test_sha256_export_still_declares_sha256(tmp_path: Path) -> None:
    async def go() -> str:
        repo = await _sqlite_repo(tmp_path / "s.sqlite3")
        head = await repo.branch("main").set("a", 1)
        await export_git(repo, tmp_path / "git")
        await repo.close()
        return to_hex(head)

    head = asyncio.run(go())
    out = tmp_path / "git"
    assert git(out, "rev-parse", "--show-object-format").strip() == "sha256"
    git(out, "fsck", "--strict")
    assert git(out, "rev-parse", "HEAD").strip() == head and len(head) == 64


# -- the format is stored with the repo ------------------------------------------------------

def test_format_is_stored_and_never_mixed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"

    async def go() -> None:
        repo = await _sqlite_repo(path, object_format="sha1")
        head = await repo.branch("main").set("k", "v")
        await repo.close()
        raw = await _raw(path, repo_prefix("r") + "format")
        assert raw == b"sha1"
        again = await _sqlite_repo(path)  # no format said: the stored one
        assert again.object_format == "sha1"
        assert await again.branch("main").head() == head
        assert await again.branch("main").get("k") == "v"
        await again.close()
        same = await _sqlite_repo(path, object_format="sha1")
        assert same.object_format == "sha1"
        await same.close()
        with pytest.raises(InvalidArgument) as info:
            await _sqlite_repo(path, object_format="sha256")
        assert "'sha256'" in str(info.value) and "'sha1'" in str(info.value)
        assert info.value.argument == "object_format"
        # A SHA-256 repo in the same file refuses SHA-1 likewise.
        other = await _sqlite_repo(path, "other")
        assert other.object_format == "sha256"
        await other.branch("main").set("k", 1)
        await other.close()
        with pytest.raises(InvalidArgument, match=r"'sha1'.*'sha256'"):
            await _sqlite_repo(path, "other", object_format="sha1")
        # on_backend reads the stored format on first use (it cannot wait at construction).
        backend = SQLiteBackend(str(path))
        lazy = Repo.on_backend(backend, "r")
        assert await lazy.branch("main").get("k") == "v"
        assert lazy.object_format == "sha1"
        wrong = Repo.on_backend(backend, "r", object_format="sha256")
        with pytest.raises(InvalidArgument, match=r"'sha256'.*'sha1'"):
            await wrong.branch("main").head()
        await backend.close()

    asyncio.run(go())


async def _raw(path: Path, key: str) -> bytes | None:
    backend = SQLiteBackend(str(path))
    try:
        return await backend.get(key)
    finally:
        await backend.close()


def test_two_creators_race_one_format_wins() -> None:
    async def go() -> None:
        backend = MemoryBackend("race-formats")
        a = Repo.on_backend(backend, "r", object_format="sha1")
        b = Repo.on_backend(backend, "r", object_format="sha256")
        results = await asyncio.gather(a.branch("main").set("x", 1),
                                       b.branch("main").set("y", 2), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(failed) == 1 and isinstance(failed[0], InvalidArgument)
        winner = a if not isinstance(results[0], BaseException) else b
        stored = await backend.get(repo_prefix("r") + "format")
        assert stored == winner.object_format.encode()
        reader = Repo.on_backend(backend, "r")
        assert (await fsck(reader)).ok and reader.object_format == winner.object_format

    asyncio.run(go())


def test_a_v010_repo_opens_as_sha256(tmp_path: Path) -> None:
    target = tmp_path / "v010.sqlite3"
    shutil.copyfile(FIXTURES / "v0.1.0-repo.sqlite3", target)

    async def go() -> None:
        with pytest.raises(InvalidArgument, match=r"'sha1'.*'sha256'"):
            await Repo.open("v010", backend="sqlite", path=str(target), object_format="sha1")
        repo = await Repo.open("v010", backend="sqlite", path=str(target))
        assert repo.object_format == "sha256"
        main = repo.branch("main")
        head = await main.head()
        assert head is not None and len(head) == 32
        assert await main.get("text/hello") == "héllo wörld\nline 2"
        assert len((await repo.history("main")).entries) == 2
        assert (await fsck(repo)).ok
        await repo.close()

    asyncio.run(go())


def test_garbage_format_key_is_reported(tmp_path: Path) -> None:
    async def go() -> None:
        backend = MemoryBackend("garbage-format")
        repo = Repo.on_backend(backend, "r")
        await repo.branch("main").set("k", 1)
        await backend.set_many([(repo_prefix("r") + "format", b"md5")])
        fresh = Repo.on_backend(backend, "r")
        with pytest.raises(IntegrityError, match="format"):
            await fresh.branch("main").head()
        report = await fsck(Repo.on_backend(backend, "r"))
        assert not report.ok and report.bad_format and "md5" in report.bad_format

    asyncio.run(go())


def test_sha1_fsck_finds_corruption() -> None:
    async def go() -> None:
        backend = MemoryBackend("sha1-corrupt")
        repo = Repo.on_backend(backend, "r", object_format="sha1")
        await repo.branch("main").set("a/b", "precious")
        blob = await _blob_id(repo, "a/b")
        key = repo_prefix("r") + "o/" + to_hex(blob)
        assert len(to_hex(blob)) == 40
        raw = bytearray(await backend.get(key) or b"")
        raw[-1] ^= 1
        await backend.set_many([(key, bytes(raw))])
        fresh = Repo.on_backend(backend, "r")
        with pytest.raises(IntegrityError):
            await fresh.branch("main").get("a/b")
        report = await fsck(fresh)
        assert not report.ok and to_hex(blob) in report.corrupt
        # A ref holding a SHA-256-sized name is garbage in a SHA-1 repo.
        await backend.set_many([(repo_prefix("r") + "r/heads/odd", b"ab" * 32)])
        assert "heads/odd" in (await fsck(fresh)).bad_refs
        with pytest.raises(InvalidArgument):
            await fresh.refs.set_if_equals("heads/new", None, SHA256.hash_object(b"x"))

    asyncio.run(go())


# -- sync between repos: one format only ---------------------------------------------------

def test_sync_between_sha1_repos(tmp_path: Path) -> None:
    async def go() -> None:
        src = Repo.memory(object_format="sha1", clock=_clock())
        await src.branch("main").set("a", 1)
        dst = await _sqlite_repo(tmp_path / "d.sqlite3", object_format="sha1")
        await clone(src, dst)
        await src.branch("main").set("b", 2)
        await pull(dst, src, "main")
        assert await dst.branch("main").get("b") == 2
        await dst.branch("main").set("c", 3)
        await push(dst, src, "main")
        assert await src.branch("main").get("c") == 3
        assert (await fsck(dst)).ok and (await fsck(src)).ok
        await dst.close()

    asyncio.run(go())


def test_mixing_formats_in_sync_fails_and_stores_nothing(tmp_path: Path) -> None:
    async def go() -> None:
        memory, disk = MemoryBackend("mixing"), SQLiteBackend(str(tmp_path / "d.sqlite3"))
        sha1 = Repo.on_backend(memory, "r", object_format="sha1", clock=_clock())
        await sha1.branch("main").set("a", 1)
        sha256 = Repo.on_backend(disk, "r", clock=_clock())
        await sha256.branch("main").set("b", 2)
        head1, head256 = await sha1.branch("main").head(), await sha256.branch("main").head()
        assert head1 is not None and head256 is not None
        snapshots = [await disk.items(), await memory.items()]
        calls = [
            ("push", push(sha1, sha256, "main")),
            ("pull", pull(sha256, sha1, "main")),
            ("clone", clone(sha1, sha256)),
            ("fetch", fetch(sha1, sha256, [head1])),
            ("push back", push(sha256, sha1, "main", to="other")),
            ("clone back", clone(sha256, sha1)),
            ("fetch back", fetch(sha256, sha1, [head256])),
        ]
        for what, call in calls:
            with pytest.raises(InvalidArgument) as info:
                await call
            message = str(info.value)
            assert "sha1" in message and "sha256" in message, what
            assert [await disk.items(), await memory.items()] == snapshots, what
        await disk.close()

    asyncio.run(go())
