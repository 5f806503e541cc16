"""Versioned store on CPython + SQLite: commit, diff and merge cost versus store size.

Repos of 1k / 10k / 100k keys in a 3-level hierarchy (``aNN/bNN/kNNNNNN``). Measures a commit
of one change, a diff with 10 changes between two commits, and a three-way merge of two
branches that each changed 5 keys. Sizes are sampled interleaved (one round of every
operation per size, repeated), so load on a shared machine hits every size alike.
Targets: commit at 100k <= 3x commit at 1k; diff cost independent of size within 2x.

    .venv/bin/python bench/versioned_cpython.py [--sizes 1000,10000,100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from webstore.versioned import Repo


def path_of(i: int, n: int) -> str:
    fan = max(2, round(n ** (1 / 3)))
    return f"a{i // (fan * fan) % fan:03d}/b{i // fan % fan:03d}/k{i:07d}"


async def build(n: int, directory: Path) -> Repo:
    repo = await Repo.open("bench", backend="sqlite", path=str(directory / f"b{n}.sqlite3"))
    main = repo.branch("main")
    step = 20_000
    for start in range(0, n, step):
        async with main.transaction(f"load {start}") as tx:
            for i in range(start, min(n, start + step)):
                tx.set(path_of(i, n), {"i": i, "name": f"item {i}"})
    return repo


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Case:
    """One repo of ``n`` keys with two commits ``a`` -> ``b`` that differ in 10 keys."""

    def __init__(self, n: int, repo: Repo) -> None:
        self.n = n
        self.repo = repo
        self.main = repo.branch("main")
        self.times: dict[str, list[float]] = {k: [] for k in
                                              ("commit", "commit_warm", "diff", "diff_warm",
                                               "merge")}
        self.a = self.b = None

    async def prepare(self) -> None:
        n = self.n
        self.a = await self.main.head()
        async with self.main.transaction("ten changes") as tx:
            for j in range(10):
                tx.set(path_of((j * 15485863) % n, n), {"changed": j})
        self.b = await self.main.head()

    async def round(self, r: int) -> None:
        """One sample of every operation (cold = parsed-object cache dropped first)."""
        n, repo, main, t = self.n, self.repo, self.main, self.times
        repo.objects.forget_cache()  # cold trees: what a fresh process pays
        t0 = time.perf_counter()
        await main.set(path_of((r * 7919) % n, n), {"i": -r})
        t["commit"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await main.set(path_of((r * 104729) % n, n), {"i": r})
        t["commit_warm"].append(time.perf_counter() - t0)
        repo.objects.forget_cache()
        t0 = time.perf_counter()
        changes = await repo.diff(self.a, self.b)
        t["diff"].append(time.perf_counter() - t0)
        assert len(changes) == 10, len(changes)
        t0 = time.perf_counter()
        await repo.diff(self.a, self.b)
        t["diff_warm"].append(time.perf_counter() - t0)
        base = await main.head()
        assert base is not None
        dev = await repo.create_branch(f"dev{r}", base)
        async with dev.transaction() as tx:
            for j in range(5):
                tx.set(path_of((j * 7 + r * 31 + 1) % n, n), {"dev": j})
        async with main.transaction() as tx:
            for j in range(5):
                tx.set(path_of((j * 13 + r * 31 + 2 + n // 2) % n, n), {"main": j})
        repo.objects.forget_cache()
        t0 = time.perf_counter()
        result = await main.merge(f"dev{r}")
        t["merge"].append(time.perf_counter() - t0)
        assert result.ok and not result.fast_forward

    def medians(self) -> dict[str, float]:
        return {k: ms(v) for k, v in self.times.items()}


async def measure_all(sizes: list[int], repeat: int, directory: Path) -> dict[int, dict]:
    """Build every size, then sample sizes *interleaved*, so machine load hits all alike."""
    cases = []
    for n in sizes:
        t = time.perf_counter()
        case = Case(n, await build(n, directory))
        await case.prepare()
        cases.append(case)
        print(f"  ({n} keys built in {time.perf_counter() - t:.1f} s)")
    for r in range(repeat):
        for case in cases:
            await case.round(r)
    for case in cases:
        await case.repo.close()
    return {case.n: case.medians() for case in cases}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as d:
        rows = await measure_all(sizes, args.repeat, Path(d))
    first = rows[sizes[0]]
    print("\nwebstore versioned, CPython + SQLite (median ms)")
    print(f"{'keys':>8} {'commit(cold)':>13} {'commit(warm)':>13}"
          f" {'diff(cold)':>10} {'diff(warm)':>10}"
          f" {'merge':>9}"
          f" {'commit/1k':>10} {'diff/1k':>8}")
    for n in sizes:
        r = rows[n]
        print(f"{n:>8} {r['commit']:>13.3f} {r['commit_warm']:>13.3f}"
              f" {r['diff']:>10.3f} {r['diff_warm']:>10.3f}"
              f" {r['merge']:>9.3f} {r['commit'] / first['commit']:>10.2f}"
              f" {r['diff'] / first['diff']:>8.2f}")
    last = rows[sizes[-1]]
    ok_c = last["commit"] <= 3 * first["commit"]
    for kind in ("diff", "diff_warm"):
        vals = [r[kind] for r in rows.values()]
        print(f"{kind}: max/min across sizes = {max(vals) / min(vals):.2f} "
              f"({'PASS' if max(vals) <= 2 * min(vals) else 'FAIL'} for 'within 2x')")
    print(f"commit at {sizes[-1]} <= 3x at {sizes[0]}: {'PASS' if ok_c else 'FAIL'}")


if __name__ == "__main__":
    asyncio.run(main())
