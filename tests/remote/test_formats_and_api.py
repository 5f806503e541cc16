"""SHA-1 repos (what GitHub accepts) against a real sha1 server, and formats never mixed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gitserver import GitServer, git

from webstore.errors import StorageUnavailable
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
