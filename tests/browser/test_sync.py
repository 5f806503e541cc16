"""Sync with a Git server from a page, in real engines (the JS API over the fetch transport).

The page (``tests/browser/sync.html``, served by conftest's static server) and the Git server
(lighttpd + ``git http-backend``, ``tests/gitserver.py``) listen on different ports of
127.0.0.1, so they are different origins: every request the page makes is a CORS request
(preflighted: ``Git-Protocol`` and ``Authorization`` are not simple headers). What the page
pushes is checked with Git itself (clone, ``fsck --strict``, log); what Git commits is pulled
and read back in the page as the values they are (text as a string, JSON as an object).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/gitserver.py

from gitserver import GitServer, git

ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
BACKENDS = ["indexeddb"]


def pytest_generate_tests(metafunc: Any) -> None:
    if "backend" in metafunc.fixturenames:
        cases = [(e, b) for e in ENGINES for b in BACKENDS]
        metafunc.parametrize("engine,backend", cases, ids=[f"{e}-{b}" for e, b in cases])


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """The Git server for this file (another origin than the pages)."""
    with GitServer.running(tmp_path_factory.mktemp("gitserver")) as server:
        yield server


@pytest.fixture(scope="module")
def sync_page(engines: Any, server_url: str) -> Iterator[Any]:
    """One ``sync.html`` page per engine, loaded on first use."""
    pages: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in pages:
            pages[name] = engines(name).open(f"{server_url}/tests/browser/sync.html")
        return pages[name]

    yield get
    for page in pages.values():
        page.close()


def ok(answer: Any) -> Any:
    """A page answer that is not an error."""
    assert not (isinstance(answer, dict) and "error" in answer), answer
    return answer


def unique(engine: str, what: str) -> str:
    return f"{what}-{engine}-{time.time_ns()}"


def test_push_clone_edit_with_git_pull(sync_page: Any, git_server: GitServer, engine: str,
                                       backend: str, tmp_path: Path) -> None:
    """Page commits -> push -> git clone/fsck/log; git edits -> push -> page pulls, reads."""
    page = sync_page(engine)
    name = unique(engine, "notes")
    git_server.make_repo(name)
    url = git_server.url(name)
    assert url.split("/")[2] != page_origin(page), "the page and the server share an origin"
    repo = unique(engine, "repo")
    ok(page.call("commit", repo, {"notes/a.txt": "first text", "notes/list": [1, 2]},
                 "add a and a list"))
    head = ok(page.call("commit", repo, {"data/config.json": {"theme": "dark", "size": 3}},
                        "add config"))
    pushed = ok(page.call("push", repo, url))
    assert pushed["result"]["commit"] == head and pushed["result"]["fastForward"], pushed
    assert [p["phase"] for p in pushed["progress"]] == ["counted", "sent"], pushed

    work = tmp_path / "clone"
    git("clone", "-q", url, work)
    git("-C", work, "fsck", "--strict")
    assert git("-C", work, "rev-parse", "HEAD").stdout.decode().strip() == head
    log = git("-C", work, "log", "--format=%s").stdout.decode().split("\n")
    assert log[:2] == ["add config", "add a and a list"], log
    assert (work / "notes/a.txt").read_text() == "first text"
    assert json.loads((work / "data/config.json").read_text()) == {"theme": "dark", "size": 3}

    (work / "notes/a.txt").write_text("edited with git\n")
    (work / "data/config.json").write_text(json.dumps({"theme": "light", "size": 4}))
    (work / "notes/new.md").write_text("# a new file\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "edit with git")
    git("-C", work, "push", "-q", "origin", "main")
    theirs = git("-C", work, "rev-parse", "HEAD").stdout.decode().strip()

    pulled = ok(page.call("pull", repo, url))
    result = pulled["result"]
    assert (result["commit"], result["fastForward"], result["changed"], result["conflicts"]) \
        == (theirs, True, True, []), pulled
    assert [p["phase"] for p in pulled["progress"]] == ["wanted", "received", "stored"]
    read = ok(page.call("read", repo, ["notes/a.txt", "data/config.json", "notes/new.md",
                                       "notes/list"]))
    assert read == {
        "notes/a.txt": {"type": "string", "value": "edited with git\n"},
        "data/config.json": {"type": "object", "value": {"theme": "light", "size": 4}},
        "notes/new.md": {"type": "string", "value": "# a new file\n"},
        "notes/list": {"type": "array", "value": [1, 2]},
    }, read
    assert ok(page.call("history", repo))[:2] == ["edit with git", "add config"]
    fetched = ok(page.call("fetch", repo, url))
    assert fetched["result"] == {"refs": {"heads/main": theirs}}, fetched


def test_authentication(sync_page: Any, git_server: GitServer, engine: str,
                        backend: str) -> None:
    """A private repo: wrong password -> AuthenticationFailed (no secret shown); right: pushed."""
    page = sync_page(engine)
    name = unique(engine, "private")
    git_server.make_repo(name, private=True)
    url = git_server.url(name, private=True)
    repo = unique(engine, "auth")
    head = ok(page.call("commit", repo, {"k": "v"}, "secret work"))
    wrong = git_server.password + "x"
    for creds in ({"username": git_server.username, "password": wrong}, {}):
        failed = page.call("push", repo, url, creds)
        error = failed.get("error")
        assert error is not None, failed
        assert error["name"] == "AuthenticationFailed", error
        assert error["authenticationFailed"] and error["storageUnavailable"], error
        assert error["fields"].get("reason") == "authentication failed", error
        text = json.dumps(error)
        assert wrong not in text and git_server.password not in text, text
    pushed = ok(page.call("push", repo, url, {"username": git_server.username,
                                               "password": git_server.password}))
    assert pushed["result"]["commit"] == head
    assert git("-C", git_server.path(name, private=True), "rev-parse", "main") \
        .stdout.decode().strip() == head


def page_origin(page: Any) -> str:
    """``host:port`` of the page."""
    return str(page.call("origin"))


def test_redirect_and_unreachable(sync_page: Any, git_server: GitServer, engine: str,
                                  backend: str) -> None:
    """A redirect is refused, not followed; a closed port: StorageUnavailable naming the URL."""
    page = sync_page(engine)
    name = unique(engine, "moved")
    git_server.make_repo(name)
    repo = unique(engine, "net")
    ok(page.call("commit", repo, {"k": 1}, "one"))
    for url in (git_server.url(name, via="same"), "http://127.0.0.1:9/nothing.git"):
        failed = page.call("push", repo, url)
        error = failed.get("error")
        assert error is not None and error["name"] == "StorageUnavailable", failed
        assert error["fields"].get("backend") == "git-remote", error
        assert url.split("/")[2] in error["message"], error
    assert git("-C", git_server.path(name), "rev-parse", "--verify", "-q", "main",
               check=False).returncode != 0  # nothing arrived
