"""CPython against a real Git server: lighttpd + git http-backend, SHA-256 repos."""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from collections.abc import Mapping
from pathlib import Path

import pytest
from gitserver import GitServer, git

from webstore.errors import IntegrityError, RefMoved, StorageUnavailable
from webstore.remote import (
    GitRemote,
    UrllibTransport,
    clone,
    fetch,
    pktline,
    protocol,
    pull,
    push,
)
from webstore.remote.pack import read_pack, write_pack
from webstore.remote.transport import Response
from webstore.versioned import Repo
from webstore.versioned.ids import ObjectId, to_hex


class Recording:
    """A transport that records every request and can act between two of them."""

    def __init__(self) -> None:
        self.inner = UrllibTransport(timeout=30)
        self.requests: list[tuple[str, str, dict[str, str], bytes | None]] = []
        self.responses: list[bytes] = []
        self.before_post: dict[str, object] = {}
        self.rewrite_upload_pack: object = None

    async def request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | None) -> Response:
        self.requests.append((method, url, dict(headers), body))
        hook = self.before_post.pop(url.rsplit("/", 1)[-1], None) if method == "POST" else None
        if callable(hook):
            hook()
        status, resp_headers, data = await self.inner.request(method, url, headers, body)
        if method == "POST" and url.endswith("git-upload-pack") and callable(
                self.rewrite_upload_pack) and b"packfile" in data:
            data = self.rewrite_upload_pack(data)
        self.responses.append(data)
        return status, resp_headers, data

    def pushed_packs(self) -> list[bytes]:
        """The pack of every receive-pack POST."""
        packs = []
        for method, url, _, body in self.requests:
            if method == "POST" and url.endswith("git-receive-pack") and body:
                packs.append(body[body.index(pktline.FLUSH + b"PACK") + 4:])
        return packs


async def _notes(repo: Repo, *pairs: tuple[str, str]) -> None:
    for path, value in pairs:
        await repo.branch("main").set(path, value, message=f"set {path}")


def _log(path: Path, ref: str = "main") -> list[str]:
    out = git("--git-dir", path, "log", "--format=%s", ref).stdout.decode()
    return out.splitlines()


async def _state(repo: Repo) -> tuple[dict[str, ObjectId], list[ObjectId]]:
    return await repo.refs.list(), sorted(await repo.objects.ids())


def test_server_speaks_v2_and_real_git_clones(git_server: GitServer, repo_name: str,
                                              tmp_path: Path) -> None:
    work = tmp_path / "w"
    git("init", "-q", "--object-format=sha256", "-b", "main", work)
    (work / "a.txt").write_text("a\n")
    git("-C", work, "add", ".")
    git("-C", work, "commit", "-qm", "from git")
    git("-C", work, "push", "-q", git_server.url(repo_name), "main")
    traced = git("-c", "protocol.version=2", "ls-remote", git_server.url(repo_name),
                 env={"GIT_TRACE_PACKET": "1"}).stderr.decode()
    assert "< version 2" in traced
    git("clone", "-q", git_server.url(repo_name), tmp_path / "c")
    assert (tmp_path / "c" / "a.txt").read_text() == "a\n"


def test_push_then_git_clone_is_fsck_clean(git_server: GitServer, repo_name: str,
                                           tmp_path: Path) -> None:
    async def go() -> ObjectId:
        repo = Repo.memory()
        await _notes(repo, ("notes/a", "milk"), ("notes/b", "eggs"))
        remote = GitRemote(git_server.url(repo_name))
        first = await push(repo, remote)
        await _notes(repo, ("notes/c", "bread"), ("todo/x", "call"))
        head = await push(repo, remote)
        assert first != head
        assert await push(repo, remote) == head  # nothing to do
        assert await remote.ls_refs() == {"refs/heads/main": head}
        return head

    head = asyncio.run(go())
    server = git_server.path(repo_name)
    assert git("--git-dir", server, "rev-parse", "main").stdout.decode().strip() == to_hex(head)
    git("--git-dir", server, "fsck", "--strict")
    git("clone", "-q", git_server.url(repo_name), tmp_path / "c")
    git("-C", tmp_path / "c", "fsck", "--strict")
    assert _log(tmp_path / "c" / ".git") == ["set todo/x", "set notes/c", "set notes/b",
                                             "set notes/a"]
    assert sorted(p.name for p in (tmp_path / "c" / "notes").iterdir()) == ["a", "b", "c"]


def test_git_commit_is_pulled_back(git_server: GitServer, repo_name: str,
                                   tmp_path: Path) -> None:
    url = git_server.url(repo_name)

    async def seed() -> Repo:
        repo = Repo.memory()
        await _notes(repo, ("notes/a", "milk"))
        await push(repo, GitRemote(url))
        return repo

    repo = asyncio.run(seed())
    clone_dir = tmp_path / "c"
    git("clone", "-q", url, clone_dir)
    (clone_dir / "notes" / "from-git").write_text("written by git\n")
    git("-C", clone_dir, "add", ".")
    git("-C", clone_dir, "commit", "-qm", "git commit")
    git("-C", clone_dir, "push", "-q", "origin", "main")
    git_head = git("-C", clone_dir, "rev-parse", "HEAD").stdout.decode().strip()

    async def back() -> None:
        transport = Recording()
        result = await pull(repo, GitRemote(url, transport=transport))
        pack = protocol.parse_fetch_response(transport.responses[-1])
        assert len(read_pack(pack)) == 4  # only the new commit, 2 trees and blob (haves)

        assert result.fast_forward and to_hex(result.commit) == git_head  # type: ignore[arg-type]
        names = [name for name, _ in await repo.branch("main").list("notes")]
        assert sorted(names) == ["a", "from-git"]
        tree = await repo.objects.read_tree((await repo.commit("main")).tree)
        notes = await repo.objects.read_tree(tree.entries["notes"].id)
        raw = await repo.objects.get_raw(notes.entries["from-git"].id)
        assert raw == b"blob 15\x00written by git\n"
        assert (await repo.objects.has_many([notes.entries["from-git"].id])) == [True]

    asyncio.run(back())


def test_fetch_reads_deltified_packs_from_upload_pack(git_server: GitServer, repo_name: str,
                                                      tmp_path: Path) -> None:
    work = tmp_path / "w"
    git("init", "-q", "--object-format=sha256", "-b", "main", work)
    base = "".join(f"record {i}: some text that repeats between files\n" for i in range(300))
    for round_ in range(3):
        for i in range(25):
            (work / "data" / f"d{i}").parent.mkdir(exist_ok=True)
            (work / "data" / f"d{i}").write_text(base + f"{i} {round_}\n")
        git("-C", work, "add", ".")
        git("-C", work, "commit", "-qm", f"round {round_}")
    git("-C", work, "tag", "light")
    git("-C", work, "tag", "-a", "-m", "annotated", "v1")
    git("-C", work, "branch", "side", "HEAD~1")
    git("-C", work, "push", "-q", git_server.url(repo_name), "main", "side", "light", "v1")
    server = git_server.path(repo_name)
    git("--git-dir", server, "gc", "-q", "--aggressive")
    idx = next((server / "objects" / "pack").glob("*.idx"))
    listing = git("--git-dir", server, "verify-pack", "-v", idx).stdout.decode()
    assert sum(len(ln.split()) == 7 for ln in listing.splitlines()) >= 20  # deltas on disk
    wanted = git("-C", work, "rev-list", "--objects", "main", "side").stdout.decode().split()
    expected = {w for w in wanted if len(w) == 64}

    async def go() -> None:
        repo = Repo.memory()
        refs = await clone(GitRemote(git_server.url(repo_name)), repo)
        heads = {r: to_hex(o) for r, o in refs.items()}
        for ref in ("main", "side"):
            assert heads[f"heads/{ref}"] == git("-C", work, "rev-parse", ref).stdout.decode(
            ).strip()
        assert heads["tags/v1"] == heads["tags/light"] == heads["heads/main"]  # peeled
        assert {to_hex(o) for o in await repo.objects.ids()} == expected
        assert await repo.refs.list() == refs
        assert [e.message.strip() for e in (await repo.history("main")).entries] == [
            "round 2", "round 1", "round 0"]

    asyncio.run(go())


def test_credentials_on_the_private_path(git_server: GitServer, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    git_server.make_repo("secret", private=True)
    url = git_server.url("secret", private=True)
    user, password = git_server.username, git_server.password
    wrong = password[::-1] + "x"

    async def go() -> None:
        repo = Repo.memory()
        await _notes(repo, ("notes/a", "milk"))
        before = await _state(repo)
        attempts = [GitRemote(url), GitRemote(url, username=user, password=wrong),
                    GitRemote(url.replace("://", f"://{user}:{wrong}@"))]
        for remote in attempts:
            assert wrong not in repr(remote) and wrong not in remote.url
            for action in (push(repo, remote), pull(repo, remote), fetch(repo, remote)):
                with pytest.raises(StorageUnavailable) as info:
                    await action
                exc = info.value
                text = "".join(traceback.format_exception(exc)) + repr(exc) + str(vars(exc))
                assert "authentication failed" in str(exc)
                assert url in str(exc)
                assert wrong not in text and password not in text
        assert await _state(repo) == before  # nothing stored, no ref moved
        good = GitRemote(url, username=user, password=password)
        assert password not in repr(good)
        head = await push(repo, good)
        assert await GitRemote(url.replace("://", f"://{user}:{password}@")).ls_refs() == {
            "refs/heads/main": head}

    asyncio.run(go())
    assert all(password not in r.getMessage() and wrong not in r.getMessage()
               for r in caplog.records)
    authed = url.replace("://", f"://{user}:{password}@")
    git("clone", "-q", authed, tmp_path / "c")
    git("-C", tmp_path / "c", "fsck", "--strict")


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}/git/none.git"
        remote = GitRemote(url.replace("://", "://me:hunter2@"))

        async def go() -> None:
            repo = Repo.memory()
            await _notes(repo, ("notes/a", "milk"))
            for action in (push(repo, remote), fetch(repo, remote)):
                with pytest.raises(StorageUnavailable) as info:
                    await action
                assert url in str(info.value) and "cannot reach" in str(info.value)
                assert "hunter2" not in "".join(traceback.format_exception(info.value))

        asyncio.run(go())


def test_redirects_stay_on_one_origin(git_server: GitServer, repo_name: str) -> None:
    async def go() -> None:
        same = GitRemote(git_server.url(repo_name, via="same"), username="me",
                         password="hunter2")
        assert "fetch" in await same.capabilities()  # a GET redirected within the origin
        other = GitRemote(git_server.url(repo_name, via="elsewhere"), username="me",
                          password="hunter2")
        with pytest.raises(StorageUnavailable, match="another origin") as info:
            await other.ls_refs()
        assert "hunter2" not in "".join(traceback.format_exception(info.value))

    asyncio.run(go())


def test_not_a_git_server_or_no_repo(git_server: GitServer) -> None:
    async def go() -> None:
        with pytest.raises(StorageUnavailable, match="no Git repository"):
            await GitRemote(git_server.url("does-not-exist")).ls_refs()

    asyncio.run(go())


def test_concurrent_git_push_is_refmoved_then_pull_and_push(git_server: GitServer,
                                                            repo_name: str,
                                                            tmp_path: Path) -> None:
    url = git_server.url(repo_name)
    clone_dir = tmp_path / "c"

    def git_commit_and_push(name: str) -> None:
        git("-C", clone_dir, "pull", "-q", "--ff-only", "origin", "main")
        (clone_dir / "notes" / name).write_text(f"{name}\n")
        git("-C", clone_dir, "add", ".")
        git("-C", clone_dir, "commit", "-qm", f"git {name}")
        git("-C", clone_dir, "push", "-q", "origin", "main")

    async def go() -> None:
        transport = Recording()
        remote = GitRemote(url, transport=transport)
        repo = Repo.memory()
        await _notes(repo, ("notes/a", "milk"))
        await push(repo, remote)
        git("clone", "-q", url, clone_dir)

        # 1. git pushes while our push is between reading the refs and sending the pack
        await _notes(repo, ("notes/b", "eggs"))
        before = await _state(repo)
        transport.before_post["git-receive-pack"] = lambda: git_commit_and_push("g1")
        with pytest.raises(RefMoved) as info:
            await push(repo, remote)
        assert info.value.ref == "refs/heads/main"
        assert await _state(repo) == before
        assert _log(git_server.path(repo_name))[0] == "git g1"

        # 2. the server is ahead with a commit this repo lacks: refused before sending
        with pytest.raises(RefMoved, match="pull first"):
            await push(repo, remote)
        assert await _state(repo) == before

        # 3. pull merges (three-way: both sides changed), then the push goes through
        result = await pull(repo, remote)
        assert result.ok and not result.fast_forward
        head = await push(repo, remote)
        assert await remote.ls_refs() == {"refs/heads/main": head}

    asyncio.run(go())
    log = _log(git_server.path(repo_name))
    assert {"git g1", "set notes/b", "set notes/a"} <= set(log)
    assert log[0].startswith("Merge main of ")
    git("--git-dir", git_server.path(repo_name), "fsck", "--strict")
    git("-C", clone_dir, "pull", "-q", "--ff-only", "origin", "main")
    assert sorted(p.name for p in (clone_dir / "notes").iterdir()) == ["a", "b", "g1"]


def _reframe(data: bytes, change: object) -> bytes:
    """Apply ``change`` to the pack inside a v2 fetch answer and frame it again."""
    head, sep, _ = data.partition(pktline.encode("packfile\n"))
    pack = b"".join(p[1:] for p in pktline.parse(data[len(head) + len(sep):])
                    if isinstance(p, bytes) and p[:1] == b"\x01")
    new = change(pack)  # type: ignore[operator]
    chunks = [pktline.encode(b"\x01" + new[i:i + 60000]) for i in range(0, len(new), 60000)]
    return head + sep + b"".join(chunks) + pktline.FLUSH


def _flip(pack: bytes) -> bytes:
    bad = bytearray(pack)
    bad[len(pack) // 2] ^= 0x01
    return bytes(bad)


def _drop_a_blob(pack: bytes) -> bytes:
    objects = read_pack(pack)
    blob = next(i for i, (_, raw) in enumerate(objects) if raw.startswith(b"blob "))
    return write_pack(objects[:blob] + objects[blob + 1:])


@pytest.mark.parametrize(("change", "message"), [
    (_flip, "bad pack"), (lambda p: p[:-40], "bad pack"), (_drop_a_blob, "missing"),
])
def test_corrupt_pack_from_server_stores_nothing(git_server: GitServer, repo_name: str,
                                                 change: object, message: str) -> None:
    url = git_server.url(repo_name)

    async def go() -> None:
        source = Repo.memory()
        await _notes(source, ("notes/a", "milk" * 100), ("notes/b", "eggs"), ("c", "x"))
        await push(source, GitRemote(url))
        transport = Recording()
        transport.rewrite_upload_pack = lambda data: _reframe(data, change)
        repo = Repo.memory()
        await _notes(repo, ("mine", "keep"))
        before = await _state(repo)
        remote = GitRemote(url, transport=transport)
        for action in (fetch(repo, remote), pull(repo, remote), clone(remote, Repo.memory())):
            with pytest.raises(IntegrityError, match=message):
                await action
        assert await _state(repo) == before

    asyncio.run(go())


def test_every_pushed_pack_passes_index_pack_strict(git_server: GitServer, repo_name: str,
                                                    tmp_path: Path) -> None:
    url = git_server.url(repo_name)
    transport = Recording()

    async def go() -> list[tuple[ObjectId, bytes]]:
        repo = Repo.memory()
        remote = GitRemote(url, transport=transport)
        await _notes(repo, ("a/b/c", "1"), ("a/d", "2"), ("e", "3"))
        await push(repo, remote)
        await _notes(repo, ("a/b/c", "changed"), ("f/g", "4"))
        await repo.create_branch("side", "main")
        await repo.branch("side").set("side/x", "5", message="side")
        await _notes(repo, ("main-only", "6"))
        await repo.merge("main", "side")
        await push(repo, remote)
        return [(o, r) for o, r in [(o, await repo.objects.get_raw(o))
                                    for o in await repo.objects.ids()] if r is not None]

    everything = asyncio.run(go())
    packs = transport.pushed_packs()
    assert len(packs) == 2
    first, second = ({oid for oid, _ in read_pack(p)} for p in packs)
    assert not first & second  # the second push sent only what the server lacked
    assert first | second == {oid for oid, _ in everything}
    scratch = tmp_path / "scratch.git"
    git("init", "-q", "--bare", "--object-format=sha256", scratch)
    for i, pack in enumerate(packs):  # in order: the second builds on the first
        (tmp_path / f"p{i}.pack").write_bytes(pack)
        git("--git-dir", scratch, "index-pack", "--strict", "--stdin", input=pack)
    git("--git-dir", git_server.path(repo_name), "fsck", "--strict", "--no-dangling")
    full = write_pack(everything)
    git("--git-dir", scratch, "index-pack", "--strict", "--stdin", input=full)


def test_extra_headers_are_sent_and_never_shown(git_server: GitServer, repo_name: str) -> None:
    transport = Recording()
    remote = GitRemote(git_server.url(repo_name), headers={"X-Token": "tok-s3cret"},
                       username="me", password="pw-s3cret", transport=transport)
    assert "s3cret" not in repr(remote) and "s3cret" not in remote.url

    async def go() -> None:
        assert await remote.ls_refs() == {}

    asyncio.run(go())
    for _, _, headers, _ in transport.requests:
        assert headers["X-Token"] == "tok-s3cret"
        assert headers["Authorization"].startswith("Basic ")


def test_bad_arguments_fail_at_the_boundary() -> None:
    from webstore.errors import InvalidArgument

    assert isinstance(GitRemote("http://127.0.0.1:1/x.git").transport, UrllibTransport)

    for url in ("ftp://host/x.git", "not a url", "http://"):
        with pytest.raises(InvalidArgument, match="url"):
            GitRemote(url)
    with pytest.raises(InvalidArgument, match="url") as info:
        GitRemote("ssh://me:hunter2@host/x.git")
    assert "hunter2" not in str(info.value)
    with pytest.raises(InvalidArgument, match="transport"):
        GitRemote("http://127.0.0.1:1/x.git", transport=object())  # type: ignore[arg-type]


def test_sha1_server_repo_is_refused_clearly(git_server: GitServer) -> None:
    path = git_server.path("sha1")
    git("init", "-q", "--bare", "--object-format=sha1", path)
    git("--git-dir", path, "config", "http.receivepack", "true")

    async def go() -> None:
        repo = Repo.memory()
        await _notes(repo, ("a", "1"))
        remote = GitRemote(git_server.url("sha1"))
        for action in (push(repo, remote), fetch(repo, remote)):
            with pytest.raises(StorageUnavailable, match="object-format=sha256"):
                await action

    asyncio.run(go())


def _write_raw(git_dir: Path, kind: str, body: bytes) -> str:
    out = git("--git-dir", git_dir, "hash-object", "-t", kind, "--literally", "-w", "--stdin",
              input=body).stdout
    return out.decode().strip()


@pytest.mark.parametrize(("entries", "message"), [
    ([(b"100644", b"b"), (b"100644", b"a")], "canonical form"),  # unsorted
    # webstore's trees hold only 100644 and 40000: an executable file is refused, not altered
    ([(b"100755", b"run.sh")], "malformed"),
    ([(b"100644", b"a/b")], "invalid entry name"),
])
def test_server_objects_are_checked_like_a_peers(git_server: GitServer, repo_name: str,
                                                 entries: list[tuple[bytes, bytes]],
                                                 message: str) -> None:
    server = git_server.path(repo_name)
    blob = _write_raw(server, "blob", b"x\n")
    body = b"".join(mode + b" " + name + b"\x00" + bytes.fromhex(blob) for mode, name in entries)
    tree = _write_raw(server, "tree", body)
    commit = git("--git-dir", server, "commit-tree", tree, "-m", "evil").stdout.decode().strip()
    git("--git-dir", server, "update-ref", "refs/heads/main", commit)

    async def go() -> None:
        repo = Repo.memory()
        with pytest.raises(IntegrityError, match=message):
            await clone(GitRemote(git_server.url(repo_name)), repo)
        assert await _state(repo) == ({}, [])

    asyncio.run(go())
