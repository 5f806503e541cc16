"""The Git-server commands of ``webstore`` (remote, push, pull, fetch, clone) against a real
server: lighttpd + git http-backend, checked with real git on the other side."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from gitserver import GitServer, git

from webstore.cli import main

Cli = Callable[..., tuple[int, str, str]]
_private = itertools.count()


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli(*argv, store="a")`` runs ``webstore --store <tmp>/a.sqlite3 ...`` in-process."""
    monkeypatch.delenv("WEBSTORE_GIT_USERNAME", raising=False)
    monkeypatch.delenv("WEBSTORE_GIT_PASSWORD", raising=False)

    def run(*argv: str, store: str = "a") -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--store", str(tmp_path / f"{store}.sqlite3"), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, (code, out, err)
    assert "Traceback" not in err
    return out


def _git_clone(url: str, where: Path) -> Path:
    git("clone", "-q", url, where)
    return where


def _git_commit(work: Path, path: str, text: str, message: str) -> None:
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode())
    git("-C", work, "add", path)
    git("-C", work, "commit", "-qm", message)
    git("-C", work, "push", "-q", "origin", "main")


def test_push_to_a_fresh_server_repo_then_git_clone_shows_it(
        cli: Cli, git_server: GitServer, repo_name: str, tmp_path: Path) -> None:
    url = git_server.url(repo_name)
    head = _ok(cli("commit", "notes/a", '"milk"', "-m", "add milk")).strip()
    _ok(cli("commit", "notes/b", '{"n": 2}', "-m", "add b"))
    _ok(cli("remote", "add", "origin", url))
    out = _ok(cli("push"))
    assert url in out and "main" in out
    work = _git_clone(url, tmp_path / "w")
    assert git("-C", work, "log", "--format=%s").stdout.decode().splitlines() == [
        "add b", "add milk"]
    assert git("-C", work, "show", "HEAD:notes/a").stdout.decode() == "milk"
    assert json.loads(git("-C", work, "show", "HEAD:notes/b").stdout) == {"n": 2}
    assert git("-C", work, "rev-parse", "HEAD~1").stdout.decode().strip() == head
    git("-C", work, "fsck", "--strict")
    assert _ok(cli("push")).split()[0] == git(
        "-C", work, "rev-parse", "HEAD").stdout.decode().strip()  # nothing new: same head


def test_a_git_commit_is_pulled_and_shown(cli: Cli, git_server: GitServer, repo_name: str,
                                          tmp_path: Path) -> None:
    url = git_server.url(repo_name)
    _ok(cli("commit", "notes/a", '"milk"', "-m", "add milk"))
    _ok(cli("push", url))  # a URL works where a remote name does
    work = _git_clone(url, tmp_path / "w")
    _git_commit(work, "notes/b", "from git", "a commit made with git")
    _ok(cli("remote", "add", "origin", url))
    fetched = _ok(cli("fetch"))
    server_head = git("-C", work, "rev-parse", "HEAD").stdout.decode().strip()
    assert fetched == f"{server_head} heads/main\n"
    assert cli("show", "main:notes/b")[0] == 1  # fetch moves no branch
    assert _ok(cli("show", f"{server_head}:notes/b")) == '"from git"\n'
    assert _ok(cli("pull")) == f"fast-forward: {server_head}\n"
    assert _ok(cli("show", "main:notes/b")) == '"from git"\n'
    shown = _ok(cli("show", "main"))
    assert shown.startswith(f"commit {server_head}\n") and "a commit made with git" in shown
    assert shown.endswith("\nA notes/b\n"), shown


def test_clone_into_an_empty_store_adds_origin(cli: Cli, git_server: GitServer, repo_name: str,
                                               ) -> None:
    url = git_server.url(repo_name)
    head = _ok(cli("commit", "todo/1", '{"$bytes": "AP8="}', "-m", "bytes")).strip()
    _ok(cli("push", url))
    out = _ok(cli("clone", url, store="b"))
    assert out == f"{head} heads/main\n"
    assert _ok(cli("remote", store="b")) == f"origin {url}\n"
    assert _ok(cli("show", "main:todo/1", store="b")) == '{"$bytes": "AP8="}\n'
    code, _, err = cli("clone", url, store="b")
    assert code == 2 and "already has branches" in err
    # the clone's origin is where pull and push go by default
    _ok(cli("commit", "todo/2", "2", "-m", "two", store="b"))
    _ok(cli("push", store="b"))
    assert _ok(cli("pull", url)).startswith("fast-forward: ")
    assert _ok(cli("show", "main:todo/2")) == "2\n"


def test_credentials_from_the_environment_on_the_private_path(
        cli: Cli, git_server: GitServer, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    name = f"private{next(_private)}"
    git_server.make_repo(name, private=True)
    url = git_server.url(name, private=True)
    _ok(cli("commit", "k", '"v"', "-m", "one"))
    _ok(cli("remote", "add", "origin", url))
    secrets = [git_server.password, "Wr0ngPassw0rd-x7"]

    code, out, err = cli("push")  # no credentials: stdin is not a terminal, so no prompt
    assert code == 3 and "authentication failed" in err, err
    monkeypatch.setenv("WEBSTORE_GIT_USERNAME", git_server.username)
    monkeypatch.setenv("WEBSTORE_GIT_PASSWORD", secrets[1])
    code, out, err = cli("push")
    assert code == 3 and "authentication failed" in err, err
    assert "WEBSTORE_GIT_PASSWORD" in err
    assert not any(s in out + err for s in secrets)
    monkeypatch.setenv("WEBSTORE_GIT_PASSWORD", git_server.password)
    pushed = _ok(cli("push"))
    assert _ok(cli("clone", url, store="b")).split()[0] == pushed.split()[0]
    assert _ok(cli("show", "main:k", store="b")) == '"v"\n'
    assert not any(s in pushed for s in secrets)
    for store in ("a", "b"):  # no credential was written to either SQLite file
        data = (tmp_path / f"{store}.sqlite3").read_bytes()
        assert not any(s.encode() in data for s in secrets)


def test_a_url_with_credentials_is_refused(cli: Cli, git_server: GitServer,
                                           repo_name: str, tmp_path: Path) -> None:
    secret = "S3cretPassw0rd-q9"
    bad = git_server.url(repo_name).replace("http://", f"http://someone:{secret}@")
    for argv in (("remote", "add", "origin", bad), ("clone", bad), ("push", bad)):
        code, out, err = cli(*argv)
        assert code == 2 and "credentials" in err, (argv, err)
        assert secret not in out + err
    assert _ok(cli("remote")) == ""
    assert secret.encode() not in (tmp_path / "a.sqlite3").read_bytes()


def test_pull_with_a_conflict_exits_4_and_lists_the_path(
        cli: Cli, git_server: GitServer, repo_name: str, tmp_path: Path) -> None:
    url = git_server.url(repo_name)
    _ok(cli("remote", "add", "origin", url))
    _ok(cli("commit", "t", '"base"', "-m", "base"))
    _ok(cli("commit", "same", "1", "-m", "same"))
    _ok(cli("push"))
    work = _git_clone(url, tmp_path / "w")
    _git_commit(work, "t", "theirs", "theirs")
    mine = _ok(cli("commit", "t", '"ours"', "-m", "ours")).strip()
    code, out, err = cli("push")
    assert code == 4 and "pull first" in err, err
    code, out, err = cli("pull")
    assert code == 4, (out, err)
    assert out == "CONFLICT t\n" and "nothing was committed" in err
    assert _ok(cli("log", "-n", "1")).startswith(mine[:12])
    # set the path to a value both sides agree on, then the pull merges
    _ok(cli("commit", "t", '"theirs"', "-m", "take theirs"))
    assert _ok(cli("pull")).startswith("merged: ")
    assert _ok(cli("push")).split()[1] == "main"
    git("-C", work, "pull", "-q", "origin", "main")
    assert (work / "t").read_text() == "theirs"


def test_unknown_remote_and_missing_server_branch_exit_1(
        cli: Cli, git_server: GitServer, repo_name: str) -> None:
    code, _, err = cli("push", "nowhere")
    assert code == 1 and "remote add" in err
    _ok(cli("remote", "add", "origin", git_server.url(repo_name)))
    code, _, err = cli("pull")  # an empty server repo has no main
    assert code == 1, err


def test_a_terminal_is_asked_for_credentials_only_after_the_server_refuses(
        cli: Cli, git_server: GitServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"private{next(_private)}"
    git_server.make_repo(name, private=True)
    url = git_server.url(name, private=True)
    _ok(cli("commit", "k", '"v"', "-m", "one"))
    asked: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return git_server.password

    monkeypatch.setattr("sys.stdin", Terminal(git_server.username + "\n"))
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    code, out, err = cli("push", url)
    assert code == 0, err
    assert asked == [f"Password for {url}: "] and "Username: " in err
    assert git_server.password not in out + err
    asked.clear()
    public = f"open{next(_private)}"
    git_server.make_repo(public)
    _ok(cli("push", git_server.url(public)))
    assert asked == []  # a server that does not ask gets no prompt
