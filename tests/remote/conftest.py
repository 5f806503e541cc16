"""A lighttpd + git http-backend server for the whole session, and a fresh repo per test."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/gitserver.py

from gitserver import GitServer

_names = itertools.count()


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """The server; a missing lighttpd fails the run (it is required, not optional)."""
    if shutil.which("lighttpd") is None and not os.path.exists("/usr/sbin/lighttpd"):
        pytest.fail("lighttpd is not installed (apt-get install -y lighttpd): the Git server "
                    "tests need it", pytrace=False)
    with GitServer.running(tmp_path_factory.mktemp("gitserver")) as server:
        yield server


@pytest.fixture
def repo_name(git_server: GitServer) -> str:
    """A fresh, empty public server repo; its name."""
    name = f"r{next(_names)}"
    git_server.make_repo(name)
    return name
