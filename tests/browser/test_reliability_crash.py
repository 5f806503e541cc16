"""Crash consistency in Chromium: a writer commits in a loop and is killed at random points.

Kills alternate (seeded) between SIGKILL of the whole browser of a persistent profile and a
renderer crash (CDP ``Page.crash``). After each kill the browser (or page) comes back on the
same profile, and the repo must pass ``fsck``, every branch must sit on a complete commit, and
every commit whose call had returned (reported by the page before the kill) must still be in
its branch's history. The restarted page does the check and then runs the next writer.

``WEBSTORE_CRASH_KILLS`` sets the kills per backend (default 100 for IndexedDB, 20 for
localStorage); ``WEBSTORE_CRASH_SEED`` the seed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ENGINES, PlaywrightPage
from reliability_util import browser_pids, call, figures, load_driver, sigkill, start

KILLS = {"indexeddb": 100, "localstorage": 20}
FRESH_EVERY = 10  # kills per repo: then it is dropped and the writer starts a fresh one
SEED = int(os.environ.get("WEBSTORE_CRASH_SEED", "7"))
LOCATION = "crash"


def kills_for(backend: str) -> int:
    """Kills to make for ``backend`` (env override applies to every backend)."""
    return int(os.environ.get("WEBSTORE_CRASH_KILLS", KILLS[backend]))


class Session:
    """A persistent-profile Chromium and its one test page, restartable after a kill."""

    def __init__(self, engine: Any, profile: Any, url: str) -> None:
        self.engine = engine
        self.profile = profile
        self.url = url
        self.context: Any = None
        self.page: PlaywrightPage | None = None

    def launch(self) -> PlaywrightPage:
        self.context = self.engine.browser_type().launch_persistent_context(
            str(self.profile), **self.engine.launch_args())
        return self.new_page()

    def new_page(self) -> PlaywrightPage:
        self.page = PlaywrightPage(self.context, self.url)
        load_driver(self.page)
        return self.page

    def kill_browser(self) -> None:
        """SIGKILL the browser process (first) and its children: nothing gets to flush."""
        pids = browser_pids(self.profile)
        assert pids, "no Chromium process found for the profile"
        sigkill(pids)
        with contextlib.suppress(Exception):
            self.context.close()
        self.context = None

    def crash_page(self) -> None:
        """Crash the renderers (SIGKILL, like an out-of-memory kill); the browser process,
        which holds the storage, lives on. (CDP ``Page.crash`` never answers, and a
        Playwright call waiting on it hangs.)"""
        assert self.page is not None
        renderers = browser_pids(self.profile, "renderer")
        assert renderers, "no renderer process found for the profile"
        sigkill(renderers)
        with contextlib.suppress(Exception):
            self.page.page.close()

    def close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.close()
        for pid in browser_pids(self.profile):  # anything left of ours
            sigkill([pid])


def browser_recreated_idb(profile: Any) -> bool:
    """Whether Chromium found the origin's IndexedDB missing when it reopened it.

    Chromium deletes an origin's LevelDB it cannot open (it reports corruption) and starts an
    empty one; LevelDB then logs "Creating DB ... since it was missing" in the new LOG. A
    normal reopen rotates the LOG and logs recovery instead. Seen once in ~300 browser kills.
    """
    logs = list(Path(profile).glob("Default/IndexedDB/*.indexeddb.leveldb/LOG"))
    return any("since it was missing" in log.read_text(errors="replace") for log in logs)


def wait_reported(page: PlaywrightPage, at_least: int) -> None:
    """Poll the page until the writer reported ``at_least`` commits (or failed)."""
    page.page.wait_for_function(
        "(n) => window.writerError !== null || window.reported.length >= n",
        arg=at_least, polling=10, timeout=300_000)
    error = page.page.evaluate("window.writerError")
    assert error is None, f"the writer failed: {error}"


CASES = [("chromium", b) for b in ("indexeddb", "localstorage") if "chromium" in ENGINES]


@pytest.mark.parametrize("engine,backend", CASES, ids=[f"{e}-{b}" for e, b in CASES])
def test_crash_consistency(request, engines, server_url, tmp_path, engine, backend):
    """[chromium-<backend>]: fsck clean, heads complete, no returned commit lost."""
    rng = random.Random(f"{SEED}-{backend}")
    session = Session(engines(engine), tmp_path / "profile",
                      f"{server_url}/tests/browser/page.html")
    reported: dict[str, list[str]] = {"main": [], "side": []}
    counts = {"browser_kills": 0, "page_crashes": 0, "reported_commits": 0,
              "lost_after_browser_kill": 0, "lost_after_page_crash": 0, "checks": 0,
              "browser_deleted_database": 0, "lost_with_deleted_database": 0}
    page = session.launch()
    began = time.monotonic()
    try:
        call(page, "forget", backend, LOCATION)
        for k in range(kills_for(backend)):
            start(page, "writer", backend, LOCATION, counts["reported_commits"])
            wait_reported(page, rng.choice([0, 1, 1, 2, 3, 5]))
            time.sleep(rng.uniform(0.0, 0.4))  # the random kill point, not synchronisation
            got = page.page.evaluate("window.reported.slice()")
            for line in got:
                name, cid = line.split(" ")
                reported[name].append(cid)
            counts["reported_commits"] += len(got)
            mode = rng.choice(["browser", "page"])
            if mode == "browser":
                session.kill_browser()
                counts["browser_kills"] += 1
                page = session.launch()
            else:
                session.crash_page()
                counts["page_crashes"] += 1
                page = session.new_page()
            result = call(page, "check_repo", backend, LOCATION, json.dumps(reported))
            counts["checks"] += 1
            counts["longest_main"] = max(counts.get("longest_main", 0), result["main_commits"])
            assert result["fsck_ok"], (k, mode, result)
            wiped = (backend == "indexeddb" and mode == "browser" and not result["refs"]
                     and browser_recreated_idb(session.profile))
            if result["lost"] and wiped:
                # Chromium itself deleted the database while restarting (the LevelDB LOG
                # says so): everything is gone, not some commits. Counted and printed; the
                # writer starts a fresh repo. A partial loss still fails below.
                counts["browser_deleted_database"] += 1
                counts["lost_with_deleted_database"] += len(result["lost"])
                reported = {"main": [], "side": []}
            elif result["lost"]:
                counts[f"lost_after_{'browser_kill' if mode == 'browser' else 'page_crash'}"] \
                    += len(result["lost"])
                if backend == "indexeddb" or mode == "page":
                    pytest.fail(f"kill {k} ({mode}): {len(result['lost'])} returned commits "
                                f"lost: {result}")
                # localStorage after a browser kill: Chromium writes it to disk in delayed
                # batches, so the newest returned commits may be gone. What is left must be a
                # consistent prefix (fsck above); the branch restarts from what survived.
                gone = set(result["lost"])
                for name, commits in reported.items():
                    reported[name] = [c for c in commits if c not in gone]
            for name in ("main", "side"):
                if reported[name]:
                    assert name in result["heads"], (name, result)
            if k % FRESH_EVERY == FRESH_EVERY - 1:  # keep fsck's full scan short
                call(page, "forget", backend, LOCATION)
                reported = {"main": [], "side": []}
    finally:
        session.close()
        counts["seconds"] = round(time.monotonic() - began)
        figures(request, f"crash chromium-{backend}", counts)
    assert counts["browser_kills"] + counts["page_crashes"] == kills_for(backend)
