"""Runs inside Pyodide in the bench page: webstore's versioned store on IndexedDB.

Same workload as ``bench/versioned_cpython.py``: repos of n keys in a 3-level hierarchy, a
commit of one change (cold: parsed-object cache dropped), a diff with 10 changes between two
commits, a three-way merge of two branches that changed 5 keys each. Sizes are sampled
interleaved so the page's background work hits every size alike. JS awaits these coroutines.
"""

import json
import statistics
import time

import webstore
from webstore.backends import backend_class
from webstore.versioned import Repo

CASES = {}


def path_of(i, n):
    fan = max(2, round(n ** (1 / 3)))
    return f"a{i // (fan * fan) % fan:03d}/b{i // fan % fan:03d}/k{i:07d}"


def now():
    return time.perf_counter()


async def build(n, location):
    """Fresh IndexedDB database ``location`` holding a repo of ``n`` keys (JSON: seconds)."""
    backend = await webstore.open_backend("indexeddb", location=location)
    await backend.destroy()
    t0 = now()
    repo = await Repo.open("bench", backend="indexeddb", path=location)
    a, b = await load(repo, n)
    CASES[n] = {"repo": repo, "a": a, "b": b,
                "t": {k: [] for k in ("commit", "commit_warm", "diff", "diff_warm", "merge")}}
    return json.dumps({"seconds": now() - t0})


async def round_(n, r):
    """One sample of every operation on the repo of ``n`` keys."""
    case = CASES[n]
    await sample(case["repo"], n, r, case["a"], case["b"], case["t"])


async def results(n, location):
    """Median milliseconds per operation for ``n``; closes and deletes the repo."""
    case = CASES.pop(n)
    await case["repo"].close()
    backend = await webstore.open_backend("indexeddb", location=location)
    await backend.destroy()
    assert backend_class("indexeddb") is not None
    return json.dumps({k: statistics.median(v) * 1000 for k, v in case["t"].items()})


# -- the workload, shared with bench/versioned_cpython.py (which imports this file) ---------

async def load(repo, n):
    """Fill ``repo``'s main with ``n`` keys, then change 10: the commits ``(a, b)``."""
    main = repo.branch("main")
    step = 20_000
    for start in range(0, n, step):
        async with main.transaction(f"load {start}") as tx:
            for i in range(start, min(n, start + step)):
                tx.set(path_of(i, n), {"i": i, "name": f"item {i}"})
    a = await main.head()
    async with main.transaction("ten changes") as tx:
        for j in range(10):
            tx.set(path_of((j * 15485863) % n, n), {"changed": j})
    return a, await main.head()


async def sample(repo, n, r, a, b, t):
    """Round ``r``: append one time (s) per operation to ``t`` (cold = cache dropped first)."""
    main = repo.branch("main")
    repo.objects.forget_cache()
    t0 = now()
    await main.set(path_of((r * 7919) % n, n), {"i": -r})
    t["commit"].append(now() - t0)
    t0 = now()
    await main.set(path_of((r * 104729) % n, n), {"i": r})
    t["commit_warm"].append(now() - t0)
    repo.objects.forget_cache()
    t0 = now()
    changes = await repo.diff(a, b)
    t["diff"].append(now() - t0)
    assert len(changes) == 10, len(changes)
    t0 = now()
    await repo.diff(a, b)
    t["diff_warm"].append(now() - t0)
    base = await main.head()
    dev = await repo.create_branch(f"dev{r}", base)
    async with dev.transaction() as tx:
        for j in range(5):
            tx.set(path_of((j * 7 + r * 31 + 1) % n, n), {"dev": j})
    async with main.transaction() as tx:
        for j in range(5):
            tx.set(path_of((j * 13 + r * 31 + 2 + n // 2) % n, n), {"main": j})
    repo.objects.forget_cache()
    t0 = now()
    result = await main.merge(f"dev{r}")
    t["merge"].append(now() - t0)
    assert result.ok and not result.fast_forward
