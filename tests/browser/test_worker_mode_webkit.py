"""Worker mode of the JS API (``{worker: true}``) in WebKitGTK, driven by Selenium.

The same page code as ``tests/js/worker.browser.mjs`` runs for Chromium and Firefox through
Playwright (which cannot drive WebKitGTK): ``tests/js/worker_scenario.mjs``, served in
``tests/js/worker_scenario.html``, and its ``judge*`` functions, called in the page. Each run
loads a fresh page (its own worker and Pyodide); store names carry a prefix of their own, as
one WebKit profile serves every test. Ids name engine and context: ``webkit-main``,
``webkit-worker``. WebKit not starting fails these tests (conftest's ``engines``).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/gitserver.py

from gitserver import GitServer

ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
#: Playwright runs Chromium and Firefox (tests/js/worker.browser.mjs); this file is WebKit's.
CASES = [e for e in ENGINES if e == "webkit"]
PAGE = "tests/js/worker_scenario.html"


def pytest_generate_tests(metafunc: Any) -> None:
    if "realm" in metafunc.fixturenames:
        realms = ["main", "worker"] if metafunc.function.__name__ == "test_scenario" \
            else ["worker"]
        cases = [pytest.param(e, r, id=f"{e}-{r}") for e in CASES for r in realms]
        if not cases:  # WEBSTORE_ENGINES leaves WebKit out: say so (an empty set breaks ids)
            cases = [pytest.param("webkit", r, id=f"webkit-{r}", marks=pytest.mark.skip(
                reason="WEBSTORE_ENGINES does not include webkit")) for r in realms]
        metafunc.parametrize("engine,realm", cases)


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """The Git server the scenario pushes to, pulls and clones from."""
    with GitServer.running(tmp_path_factory.mktemp("gitserver")) as server:
        yield server


class Runner:
    """Runs a ``worker_scenario.mjs`` function in a fresh page of an engine."""

    def __init__(self, engines: Any, server_url: str) -> None:
        self.engines = engines
        self.url = f"{server_url}/{PAGE}"
        self.results: dict[tuple[str, str], Any] = {}

    def run(self, engine: str, function: str, arg: dict[str, Any]) -> Any:
        page = self.engines(engine).open(self.url)
        try:
            result = page.call(function, {"ns": f"{engine}-{function}-{uuid.uuid4().hex[:8]}-",
                                          **arg})
            errors = page.call("pageErrors")
            assert not errors, f"page errors in {engine}: {errors}"
            return result
        finally:
            page.close()

    def judge(self, engine: str, function: str, *results: Any) -> str:
        """The shared checks, run in a page; fails with their failures, returns the summary."""
        page = self.engines(engine).open(self.url)
        try:
            verdict = page.call(function, *results)
        finally:
            page.close()
        assert not verdict["failures"], "\n".join(verdict["failures"])
        return str(verdict["summary"])


@pytest.fixture(scope="module")
def runner(engines: Any, server_url: str) -> Runner:
    return Runner(engines, server_url)


def scenario_result(runner: Runner, git_server: GitServer, engine: str, realm: str) -> Any:
    """``scenario`` in ``realm`` ("main": engine on the page, "worker"), run once per module."""
    key = (engine, realm)
    if key not in runner.results:
        name = f"{engine}-{realm}"
        git_server.make_repo(name)
        git_server.make_repo(f"{name}-p", private=True)
        runner.results[key] = runner.run(engine, "scenario", {
            "worker": realm == "worker",
            "remote": git_server.url(name),
            "priv": git_server.url(f"{name}-p", private=True),
            "username": git_server.username, "password": git_server.password,
        })
    return runner.results[key]


def test_scenario(runner: Runner, git_server: GitServer, engine: str, realm: str) -> None:
    """The scenario runs to its end in each context; the worker's must equal the page's."""
    result = scenario_result(runner, git_server, engine, realm)
    assert result["repo"]["moves"], "the scenario recorded no branch moves"
    if realm == "worker":
        main = scenario_result(runner, git_server, engine, "main")
        print(runner.judge(engine, "judge", main, result))


def test_transfer_terminate_crash(runner: Runner, engine: str, realm: str) -> None:
    """Transfer vs clone; a worker terminated or crashing mid-call, then the next call."""
    result = runner.run(engine, "workerOnly", {})
    print(runner.judge(engine, "judgeWorkerOnly", result))


def test_stopped_without_error_event(runner: Runner, engine: str, realm: str) -> None:
    """Worker.terminate() by other code: no error event, the pending call still rejects."""
    started = time.monotonic()
    result = runner.run(engine, "workerGone", {})
    print(runner.judge(engine, "judgeWorkerGone", result),
          f"({time.monotonic() - started:.1f} s)")
