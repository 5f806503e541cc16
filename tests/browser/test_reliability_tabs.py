"""Concurrent tabs: two pages of one origin write the same repo branch and the same KV keys.

Each tab makes ``WEBSTORE_TAB_COMMITS`` (default 500) commits to ``main``, each adding a path
of its own; ``Branch.set`` re-applies a change on top of a commit that won the race. The final
history must hold every commit both tabs were told succeeded, and the tree every path. Then
both tabs run ``set_many`` batches over the same keys: each batch is atomic, so every read sees
one batch, and the final state is the last batch of one tab (what some serial order gives).
"""

from __future__ import annotations

import os
import time

import pytest
from conftest import ENGINES, PlaywrightPage
from reliability_util import begin, call, figures, load_driver, outcome

COMMITS = int(os.environ.get("WEBSTORE_TAB_COMMITS", "500"))
BATCHES = int(os.environ.get("WEBSTORE_TAB_BATCHES", "200"))
KEYS = [f"key{i}" for i in range(20)]
CASES = [(e, b) for e in ENGINES if e != "webkit" for b in ("indexeddb", "localstorage")]


def two_tabs(engine, url):
    """Two loaded pages sharing one browser context (one origin's storage)."""
    context = engine.browser.new_context()
    first = PlaywrightPage(context, url, own_context=False)
    second = PlaywrightPage(context, url, own_context=False)
    for page in (first, second):
        load_driver(page)
    return context, first, second


@pytest.mark.parametrize("engine,backend", CASES, ids=[f"{e}-{b}" for e, b in CASES])
def test_two_tabs(request, engines, server_url, engine, backend):
    """[engine-backend]: 2 x COMMITS commits, none lost; set_many batches stay whole."""
    context, a, b = two_tabs(engines(engine), f"{server_url}/tests/browser/page.html")
    location = f"tabs-{backend}-{int(time.time() * 1000)}"
    try:
        began = time.monotonic()
        begin(a, "tab_commits", backend, location, "A", COMMITS)
        begin(b, "tab_commits", backend, location, "B", COMMITS)
        runs = [outcome(a), outcome(b)]
        ids = runs[0]["ids"] + runs[1]["ids"]
        seconds = round(time.monotonic() - began, 1)
        final = call(a, "tab_history", backend, location)
        kept = set(final["commits"])
        lost = [c for c in ids if c not in kept]
        want_paths = sorted(f"{t}/{i // 20}/{i % 20}" for t in "AB" for i in range(COMMITS))
        missing_paths = sorted(set(want_paths) - set(final["paths"]))
        begin(a, "tab_set_many", backend, location, "A", BATCHES, KEYS)
        begin(b, "tab_set_many", backend, location, "B", BATCHES, KEYS)
        batches = [outcome(a), outcome(b)]
        state = dict(call(a, "kv_state", backend, location))
        values = {tuple(v) for v in state.values()}
        serial = values in ({("A", BATCHES - 1)}, {("B", BATCHES - 1)})
        figures(request, f"tabs {engine}-{backend}", {
            "returned_commits": len(ids), "in_history": len(kept & set(ids)), "lost": len(lost),
            "history_length": len(final["commits"]), "missing_paths": len(missing_paths),
            "fsck_ok": final["fsck_ok"], "commit_seconds": seconds,
            "cas_races_lost": sum(r["races_lost"] for r in runs),
            "longest_losing_streak": max(r["longest_streak"] for r in runs),
            "set_gave_up": sum(r["gave_up"] for r in runs),
            "set_many_batches": sum(r["count"] for r in batches),
            "torn_reads": sum(r["torn"] for r in batches), "final_state_serial": serial,
        })
        call(a, "forget", backend, location)
    finally:
        context.close()
    assert len(ids) == 2 * COMMITS and len(set(ids)) == 2 * COMMITS
    assert final["fsck_ok"]
    assert not any(r["gave_up"] for r in runs), runs
    assert sorted(state) == sorted(KEYS) and len(values) == 1, state
    (tab, last), = values
    assert tab in "AB" and 0 <= last < BATCHES, state
    if backend == "localstorage":
        # localStorage has no cross-tab transactions: the Web Lock makes tabs take turns, but
        # another tab's writes reach this tab's view asynchronously, so a compare-and-set can
        # succeed against a stale ref (a lost commit) and a read can see half a batch. Measured
        # and printed above, documented in docs/RELIABILITY.md; IndexedDB is the shared backend.
        return
    assert not lost, f"{len(lost)} returned commits are not in the history"
    assert not missing_paths, missing_paths[:10]
    assert serial, state
    assert not any(r["torn"] for r in batches), batches
