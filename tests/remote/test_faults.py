"""Faults between webstore and a real Git server: nothing lost, nothing half-stored, retry works.

A transport wrapped around the real one injects each fault on one chosen request: HTTP 500,
a connection cut (the transport fails), a response cut short mid-pack, a pack whose objects
were altered, a ref pointing at an object the server never sends, an object over
``max_object_bytes``. Each time the local repo's objects and refs are byte-for-byte as before
(read through the raw bypass hooks), the error names the remote, and the same call with a
healthy transport then succeeds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from gitserver import GitServer, git

from webstore.errors import IntegrityError, StorageUnavailable
from webstore.remote import GitRemote, UrllibTransport, pull, push
from webstore.remote.transport import Response
from webstore.testing.raw import raw_backend
from webstore.versioned import Repo

Fault = Callable[[str, str, bytes], Response | None]


class Faulty:
    """The real transport, with ``fault`` applied to the ``nth`` request matching ``where``."""

    def __init__(self, where: str, fault: Callable[[Response], Response] | None,
                 nth: int = 1) -> None:
        self.inner = UrllibTransport(timeout=30)
        self.where, self.fault, self.nth = where, fault, nth
        self.seen = 0

    async def request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | None) -> Response:
        hit = f"{method} {url}".find(self.where) >= 0
        if hit:
            self.seen += 1
        if hit and self.seen == self.nth and self.fault is None:
            raise StorageUnavailable(f"cannot reach the Git server at {url}: connection reset",
                                     backend="git-remote", reason="connection reset")
        response = await self.inner.request(method, url, headers, body)
        if hit and self.seen == self.nth and self.fault is not None:
            return self.fault(response)
        return response


def _status_500(response: Response) -> Response:
    return 500, response[1], b"Internal Server Error"


def _cut_short(response: Response) -> Response:
    status, headers, body = response
    return status, headers, body[: len(body) * 2 // 3]


def _alter_pack(response: Response) -> Response:
    """Flip one byte inside the pack data (side-band 1), keeping the pkt-line framing."""
    status, headers, body = response
    at = body.find(b"PACK")
    data = bytearray(body)
    data[at + 40] ^= 0x01
    return status, headers, bytes(data)


async def _state(repo: Repo) -> list[tuple[str, bytes]]:
    """Every key and value of the repo (its format record is written before, on first use)."""
    await repo.resolve_format()
    return await raw_backend(repo).items()


def _server_with_history(git_server: GitServer, name: str, tmp_path: Path,
                         big: bytes = b"") -> str:
    git_server.make_repo(name)
    work = tmp_path / f"{name}-work"
    # not a clone: git 2.39 clones an empty repo as SHA-1 whatever the server's format
    git("init", "-q", "--object-format=sha256", "-b", "main", work)
    git("-C", work, "remote", "add", "origin", git_server.url(name))
    for i in range(3):
        (work / f"note{i}").write_text(f"note {i}\n" * 50)
        if big and i == 2:
            (work / "big").write_bytes(big)
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-qm", f"commit {i}")
    git("-C", work, "push", "-q", "origin", "HEAD:main")
    return git_server.url(name)


FETCH_FAULTS = [
    ("http-500", "POST", _status_500, StorageUnavailable, "HTTP 500"),
    ("connection-cut", "POST", None, StorageUnavailable, "connection reset"),
    ("cut-mid-pack", "POST", _cut_short, IntegrityError, ""),
    ("altered-pack", "POST", _alter_pack, IntegrityError, ""),
]


@pytest.mark.parametrize(("name", "where", "fault", "error", "text"), FETCH_FAULTS,
                         ids=[f[0] for f in FETCH_FAULTS])
def test_pull_fault_changes_nothing_and_a_retry_succeeds(
        git_server: GitServer, tmp_path: Path, name: str, where: str,
        fault: Callable[[Response], Response] | None, error: type[Exception],
        text: str) -> None:
    url = _server_with_history(git_server, f"pf-{name}", tmp_path)

    async def go() -> None:
        repo = Repo.memory()
        await repo.branch("main").set("mine", "local note")
        before = await _state(repo)
        # the 2nd POST to upload-pack is the fetch itself (the 1st is ls-refs)
        broken = GitRemote(url, transport=Faulty(f"{where} {url}/git-upload-pack", fault, 2))
        with pytest.raises(error) as info:
            await pull(repo, broken, "main")
        assert text in str(info.value)
        if isinstance(info.value, StorageUnavailable):
            assert url in str(info.value) or "Git server" in str(info.value)
        assert await _state(repo) == before
        result = await pull(repo, GitRemote(url), "main")
        assert result.ok and await repo.branch("main").get("note2") == "note 2\n" * 50

    asyncio.run(go())


def test_a_ref_to_an_object_never_sent_stores_nothing(git_server: GitServer,
                                                      tmp_path: Path) -> None:
    url = _server_with_history(git_server, "dangling", tmp_path)
    real = git("--git-dir", git_server.path("dangling"), "rev-parse", "main"
               ).stdout.strip()
    fake = bytes(reversed(real[:-1])) + real[-1:]  # well-formed, names nothing

    def lie(response: Response) -> Response:
        status, headers, body = response
        return status, headers, body.replace(real, fake)

    async def go() -> None:
        repo = Repo.memory()
        before = await _state(repo)
        liar = GitRemote(url, transport=Faulty(f"POST {url}/git-upload-pack", lie, 1))
        with pytest.raises((IntegrityError, StorageUnavailable)):
            await pull(repo, liar, "main")
        assert await _state(repo) == before
        assert (await pull(repo, GitRemote(url), "main")).fast_forward

    asyncio.run(go())


def test_an_object_over_the_limit_is_refused_then_accepted(git_server: GitServer,
                                                           tmp_path: Path) -> None:
    url = _server_with_history(git_server, "huge", tmp_path, big=bytes(range(256)) * 4096)

    async def go() -> None:
        repo = Repo.memory()
        before = await _state(repo)
        with pytest.raises(IntegrityError, match="max_object_bytes"):
            await pull(repo, GitRemote(url), "main", max_object_bytes=100_000)
        assert await _state(repo) == before
        assert (await pull(repo, GitRemote(url), "main", max_object_bytes=2_000_000)).ok
        assert await repo.branch("main").get("big") == bytes(range(256)) * 4096

    asyncio.run(go())


def test_push_cut_before_the_server_saw_it_changes_nothing(git_server: GitServer,
                                                            repo_name: str) -> None:
    url = git_server.url(repo_name)

    async def go() -> None:
        repo = Repo.memory()
        await repo.branch("main").set("a", "1")
        before = await _state(repo)
        broken = GitRemote(url, transport=Faulty(f"POST {url}/git-receive-pack", None))
        with pytest.raises(StorageUnavailable, match="connection reset"):
            await push(repo, broken, "main")
        assert await _state(repo) == before
        assert git("--git-dir", git_server.path(repo_name), "rev-parse", "--verify", "-q",
                   "main", check=False).returncode != 0  # the server has no branch yet
        head = await push(repo, GitRemote(url), "main")
        assert git("--git-dir", git_server.path(repo_name), "rev-parse", "main"
                   ).stdout.decode().strip() == head.hex()

    asyncio.run(go())


def test_push_whose_answer_is_lost_is_safe_to_repeat(git_server: GitServer,
                                                     repo_name: str) -> None:
    """The server applied the push but the client saw HTTP 500: a retry is a no-op success."""
    url = git_server.url(repo_name)

    async def go() -> None:
        repo = Repo.memory()
        await repo.branch("main").set("a", "1")
        before = await _state(repo)
        broken = GitRemote(url, transport=Faulty(f"POST {url}/git-receive-pack", _status_500))
        with pytest.raises(StorageUnavailable, match="HTTP 500"):
            await push(repo, broken, "main")
        assert await _state(repo) == before
        head = await push(repo, GitRemote(url), "main")
        assert git("--git-dir", git_server.path(repo_name), "rev-parse", "main"
                   ).stdout.decode().strip() == head.hex()
        git("--git-dir", git_server.path(repo_name), "fsck", "--strict")

    asyncio.run(go())
