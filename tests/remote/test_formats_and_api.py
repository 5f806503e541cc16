"""SHA-1 repos against a real sha1 server, formats never mixed, GitRemote wherever a repo goes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gitserver import GitServer, git

from webstore.errors import InvalidArgument, StorageUnavailable
from webstore.remote import GitRemote, clone, pull, push
from webstore.versioned import Repo


def test_sha1_repo_round_trips_with_plain_git(git_server: GitServer, tmp_path: Path) -> None:
    git_server.make_repo("s1", object_format="sha1")
    url = git_server.url("s1")
    work = tmp_path / "work"

    async def push_some() -> str:
        repo = await Repo.open("n", path=str(tmp_path / "a.sqlite3"), object_format="sha1")
        main = repo.branch("main")
        await main.set("notes/shopping", "milk\n", message="milk")
        await main.set("notes/todo", {"items": ["call"]}, message="todo")
        await push(repo, GitRemote(url), "main")
        head = (await main.head() or b"").hex()
        await repo.close()
        return head

    head = asyncio.run(push_some())
    assert len(head) == 40
    git("clone", "-q", url, work)  # plain git, default (sha1) settings
    git("-C", work, "fsck", "--strict")
    assert git("-C", work, "rev-parse", "HEAD").stdout.decode().strip() == head
    assert git("-C", work, "show", "HEAD:notes/shopping").stdout == b"milk\n"
    (work / "notes" / "shopping").write_text("milk\neggs\n")
    git("-C", work, "commit", "-qam", "eggs by hand")
    git("-C", work, "push", "-q", "origin", "main")

    async def pull_back() -> None:
        repo = await Repo.open("n", path=str(tmp_path / "a.sqlite3"))  # format remembered
        assert repo.object_format == "sha1"
        result = await pull(repo, GitRemote(url), "main")
        assert result.fast_forward
        assert await repo.branch("main").get("notes/shopping") == "milk\neggs\n"
        fresh = await Repo.open("c", path=str(tmp_path / "c.sqlite3"), object_format="sha1")
        await clone(GitRemote(url), fresh)
        assert await fresh.branch("main").get("notes/todo") == {"items": ["call"]}
        await repo.close()
        await fresh.close()

    asyncio.run(pull_back())


@pytest.mark.parametrize(("server", "local"), [("sha1", "sha256"), ("sha256", "sha1")])
def test_formats_never_mix(git_server: GitServer, tmp_path: Path, server: str,
                           local: str) -> None:
    name = f"mix-{server}"
    git_server.make_repo(name, object_format=server)

    async def go() -> None:
        repo = await Repo.open("m", path=str(tmp_path / f"{local}.sqlite3"), object_format=local)
        await repo.branch("main").set("a", "1")
        before = await repo.refs.list()
        for attempt in (push(repo, GitRemote(git_server.url(name)), "main"),
                        pull(repo, GitRemote(git_server.url(name)), "main")):
            with pytest.raises(StorageUnavailable) as info:
                await attempt
            assert server in str(info.value) and local in str(info.value)
        assert await repo.refs.list() == before
        await repo.close()

    asyncio.run(go())
    assert git("--git-dir", git_server.path(name), "rev-parse", "--verify", "-q", "main",
               check=False).returncode != 0  # nothing reached the server


def test_a_git_remote_stands_wherever_sync_takes_a_repo(git_server: GitServer,
                                                        tmp_path: Path) -> None:
    """webstore.versioned's push/pull/fetch/clone accept a GitRemote, with progress."""
    from webstore import versioned

    git_server.make_repo("anywhere")
    url = git_server.url("anywhere")
    phases: list[tuple[str, int]] = []

    async def go() -> None:
        a, b, c = Repo.memory(), Repo.memory(), Repo.memory()
        await a.branch("main").set("x", "1")
        remote = versioned.GitRemote(url)
        pushed = await versioned.push(a, remote, "main",
                                      progress=lambda p, n: phases.append((p, n)))
        assert pushed.fast_forward and pushed.commit == await a.branch("main").head()
        assert ("counted", 3) in phases and ("sent", 3) in phases
        again = await versioned.push(a, remote, "main")
        assert not again.changed
        refs = await versioned.clone(remote, b, progress=lambda p, n: phases.append((p, n)))
        assert refs == {"heads/main": pushed.commit} and ("stored", 3) in phases
        await b.branch("main").set("y", "2")
        await versioned.push(b, remote, "main")
        fetched = await versioned.fetch(c, remote)
        assert fetched == {"heads/main": await b.branch("main").head()}
        assert await c.refs.list() == {}  # fetch moves no ref
        merged = await versioned.pull(a, remote, "main")
        assert merged.fast_forward and await a.branch("main").get("y") == "2"
        with pytest.raises(InvalidArgument, match="merge=True"):
            await versioned.push(a, remote, "main", merge=True)
        with pytest.raises(InvalidArgument, match="Remote"):
            await versioned.push(a, url, "main")  # type: ignore[arg-type]

    asyncio.run(go())


def test_cors_proxy_rewrites_where_requests_go(git_server: GitServer) -> None:
    """A cors_proxy URL prefixes the server's host and path, as isomorphic-git's corsProxy."""
    seen: list[str] = []

    class Recorder:
        async def request(self, method: str, url: str, headers: object,
                          body: bytes | None) -> tuple[int, dict[str, str], bytes]:
            seen.append(url)
            return 404, {}, b""

    remote = GitRemote("https://git.example.org/n.git", cors_proxy="http://127.0.0.1:9/p",
                       transport=Recorder())
    with pytest.raises(StorageUnavailable):
        asyncio.run(remote.ls_refs())
    assert seen == ["http://127.0.0.1:9/p/git.example.org/n.git/info/refs?service=git-upload-pack"]
    assert remote.url == "https://git.example.org/n.git"
