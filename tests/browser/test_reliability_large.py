"""Crash consistency of large values (layout 2) in Chromium and Firefox: kills mid-write.

A writer in the page sets Float64Arrays of 1-8 MiB to three keys through the JS API
(``large_crash.mjs``); each value is a function of its write's sequence number, and the page
reports every write whose ``set`` resolved before it starts the next. At a random (seeded)
point the test kills the whole persistent-profile browser with SIGKILL (both engines) or,
in Chromium, only its renderer (SIGKILL, like an out-of-memory kill; the browser process that
holds the storage lives on). In Firefox these values go to OPFS files (``store.largeValues``),
each written and flushed before the IndexedDB record naming it commits.

After each restart on the same profile the page checks: every key holds a whole value of one
write to that key (never torn), of a write no older than the last one reported for the key
(or than what a previous check saw); Python's ``fsck`` reports nothing; no record names a
missing file or one of another size (read before the store opens); the files no record
names before it opens are counted as leftovers (writes cut between file and record, overwrites
not yet collected), and once opening (which collects in the background) and ``collect`` ran,
none is left and every named file is kept. Then the next writer runs. Measured here: about
3.4 s per kill in Chromium, 5.5 s in Firefox, nearly all of it the restart and page boot.
``WEBSTORE_LARGE_KILLS`` sets the kills per engine (default 50), ``WEBSTORE_LARGE_SEED`` the
seed. Ids: ``[chromium-page-indexeddb]``, ``[firefox-page-indexeddb]``.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ENGINES, PlaywrightPage
from reliability_util import figures, sigkill
from test_reliability_crash import wait_reported

KILLS = int(os.environ.get("WEBSTORE_LARGE_KILLS", "50"))
SEED = int(os.environ.get("WEBSTORE_LARGE_SEED", "11"))
MODULE = "/tests/browser/large_crash.mjs"
DATABASE = "large crash"  # a space: the OPFS folder is its encodeURIComponent
SPAN = 100_000  # sequence numbers per writer: writer k starts at (k + 1) * SPAN
#: A killed Firefox must restart as itself: no safe mode after "startup crashes", no restored tabs.
FIREFOX_PREFS = {"toolkit.startup.max_resumed_crashes": -1,
                 "browser.sessionstore.resume_from_crash": False}
CASES = [(e, "indexeddb") for e in ("chromium", "firefox") if e in ENGINES]


def profile_pids(profile: Path) -> list[int]:
    """PIDs of the browser using ``profile`` and of all its descendants, browser first.

    Chromium passes ``--user-data-dir=<profile>`` to every child; Firefox passes ``-profile
    <profile>`` to the main process only, so children are found through their parents.
    """
    parents: dict[int, int] = {}
    roots: list[int] = []
    path = str(profile).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (entry / "cmdline").read_bytes() + b"\0"
        except (OSError, ValueError):
            continue
        pid = int(entry.name)
        parents[pid] = int(ppid)
        if state != "Z" and (path + b"\0" in cmdline or path + b" " in cmdline):
            roots.append(pid)
    mine = set(roots)
    grew = True
    while grew:
        children = {p for p, parent in parents.items() if parent in mine} - mine
        mine |= children
        grew = bool(children)
    return sorted(mine, key=lambda p: (parents.get(p) in mine, p))


def renderer_pids(profile: Path) -> list[int]:
    """PIDs of the Chromium renderer processes of ``profile``."""
    needle = f"--user-data-dir={profile} ".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" "
            except OSError:
                continue
            if needle in line and b"--type=renderer " in line:
                found.append(int(entry.name))
    return found


def wait_gone(pids: list[int], what: str, timeout_s: float = 20) -> None:
    """Wait until every PID has exited (gone or a zombie); fail loudly otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: processes {alive} still alive {timeout_s} s after SIGKILL")
        time.sleep(0.02)  # polling the kernel's process table, not synchronising with the page


class Session:
    """A persistent-profile browser and its one test page, restartable after a kill."""

    def __init__(self, engine: Any, profile: Path, url: str) -> None:
        self.engine = engine
        self.profile = profile
        self.url = url
        self.context: Any = None
        self.page: PlaywrightPage | None = None

    def launch(self) -> PlaywrightPage:
        extra = {"firefox_user_prefs": FIREFOX_PREFS} if self.engine.name == "firefox" else {}
        self.context = self.engine.browser_type().launch_persistent_context(
            str(self.profile), **self.engine.launch_args(), **extra)
        return self.new_page()

    def new_page(self) -> PlaywrightPage:
        self.page = PlaywrightPage(self.context, self.url, own_context=False)
        return self.page

    def kill_browser(self) -> None:
        """SIGKILL the browser process and every process under it: nothing gets to flush."""
        pids = profile_pids(self.profile)
        assert pids, f"no {self.engine.name} process found for {self.profile}"
        sigkill(pids)
        wait_gone(pids, f"{self.engine.name} browser kill")
        with contextlib.suppress(Exception):
            self.context.close()
        self.context = None

    def crash_page(self) -> None:
        """SIGKILL Chromium's renderers; the browser process (storage) lives on."""
        renderers = renderer_pids(self.profile)
        assert renderers, "no renderer process found for the profile"
        sigkill(renderers)
        wait_gone(renderers, "renderer kill")
        assert self.page is not None
        with contextlib.suppress(Exception):
            self.page.page.close()

    def close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.close()
        sigkill(profile_pids(self.profile))  # anything left of ours


def start_writer(page: PlaywrightPage, start: int) -> None:
    """Start the page's writer (``large_crash.mjs``) from sequence number ``start``."""
    page.page.evaluate(
        "([path, database, start]) => { window.reported = []; window.writerError = null;"
        " window.webstoreTest.module(path, 'writer', database, start)"
        "  .catch((e) => { window.writerError = `${e?.name}: ${e?.message}`; });"
        " return true; }", [MODULE, DATABASE, start])


@pytest.mark.parametrize("engine,backend", CASES, ids=[f"{e}-page-{b}" for e, b in CASES])
def test_large_values_survive_kills(request: Any, engines: Any, server_url: str,
                                    tmp_path: Path, engine: str, backend: str) -> None:
    """[engine-page-indexeddb]: no torn value, no reported write lost, fsck clean, files
    named by records present, leftovers collected."""
    assert KILLS > 0, "WEBSTORE_LARGE_KILLS must be positive"
    rng = random.Random(f"{SEED}-{engine}")
    session = Session(engines(engine), tmp_path / "profile",
                      f"{server_url}/tests/browser/page.html")
    floors: dict[str, int] = {}  # key -> the oldest write it may hold now
    counts: dict[str, Any] = {"kills": 0, "browser_kills": 0, "page_crashes": 0,
                              "acknowledged_writes": 0, "acknowledged_mib": 0.0,
                              "newer_than_acknowledged": 0, "leftovers_collected": 0,
                              "stray_files": 0, "writing_s": 0.0, "restarting_s": 0.0,
                              "checking_s": 0.0}
    began = time.monotonic()
    page = session.launch()
    try:
        for k in range(KILLS):
            t0 = time.monotonic()
            start_writer(page, (k + 1) * SPAN)
            wait_reported(page, rng.choice([0, 1, 1, 2, 3]))
            time.sleep(rng.uniform(0.0, 0.3))  # the random kill point, not synchronisation
            got = page.page.evaluate("window.reported.slice()")
            for key, seq, size in got:
                floors[key] = max(floors.get(key, -1), seq)
                counts["acknowledged_mib"] += size / 2**20
            counts["acknowledged_writes"] += len(got)
            t1 = time.monotonic()
            mode = "browser" if engine == "firefox" else rng.choice(["browser", "page"])
            if mode == "browser":
                session.kill_browser()
                counts["browser_kills"] += 1
                page = session.launch()
            else:
                session.crash_page()
                counts["page_crashes"] += 1
                page = session.new_page()
            counts["kills"] += 1
            t2 = time.monotonic()
            result = page.call("module", MODULE, "check", DATABASE)
            counts["writing_s"] += t1 - t0
            counts["restarting_s"] += t2 - t1
            counts["checking_s"] += time.monotonic() - t2
            where = f"seed {SEED}, kill {k} ({mode}), floors {floors}"
            assert not result["torn"], f"{where}: torn values: {result}"
            for key, floor in floors.items():
                held = result["values"].get(key)
                assert held is not None and held >= floor, (
                    f"{where}: {key} holds write {held}, older than the last acknowledged "
                    f"({floor}): {result}")
            for key, held in result["values"].items():
                if held is not None:
                    counts["newer_than_acknowledged"] += held > floors.get(key, -1)
                    floors[key] = max(floors.get(key, -1), held)
            assert result["fsck"] == {}, f"{where}: fsck: {result}"
            assert result["missing"] == [], f"{where}: records name missing files: {result}"
            assert result["wrongSize"] == [], f"{where}: files of another size: {result}"
            assert result["keptNamed"] and result["leftAfter"] == 0, f"{where}: {result}"
            on_opfs = "OPFS" in result["largeValues"]
            assert on_opfs == (engine == "firefox"), result["largeValues"]
            layouts = {str(r) if not isinstance(r, dict) else "file"
                       for r in result["records"].values()}
            assert layouts <= ({"file"} if on_opfs else {"in record"}), f"{where}: {result}"
            counts["leftovers_collected"] += result["leftovers"]
            counts["stray_files"] = len(result["strays"])
    finally:
        session.close()
        for name in ("acknowledged_mib", "writing_s", "restarting_s", "checking_s"):
            counts[name] = round(counts[name])
        counts["seconds"] = round(time.monotonic() - began)
        figures(request, f"large values {engine}-page-{backend}", counts)
    assert counts["kills"] == KILLS
    assert counts["acknowledged_writes"] > 0, "no write was ever acknowledged"
