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
import sys
import tempfile
import time
from pathlib import Path

from webstore.versioned import Repo

# The workload itself (keys, the 10-change commit, one sample round) is the browser bench's,
# so the two benches measure exactly the same operations.
sys.path.insert(0, str(Path(__file__).resolve().parent / "versioned_browser"))
from bench_repo import load, sample


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Case:
    """One repo of ``n`` keys with two commits ``a`` -> ``b`` that differ in 10 keys."""

    def __init__(self, n: int, repo: Repo) -> None:
        self.n = n
        self.repo = repo
        self.times: dict[str, list[float]] = {k: [] for k in
                                              ("commit", "commit_warm", "diff", "diff_warm",
                                               "merge")}
        self.a = self.b = None

    async def prepare(self) -> None:
        self.a, self.b = await load(self.repo, self.n)

    async def round(self, r: int) -> None:
        """One sample of every operation (cold = parsed-object cache dropped first)."""
        await sample(self.repo, self.n, r, self.a, self.b, self.times)

    def medians(self) -> dict[str, float]:
        return {k: ms(v) for k, v in self.times.items()}


async def measure_all(sizes: list[int], repeat: int, directory: Path) -> dict[int, dict]:
    """Build every size, then sample sizes *interleaved*, so machine load hits all alike."""
    cases = []
    for n in sizes:
        t = time.perf_counter()
        repo = await Repo.open("bench", backend="sqlite",
                               path=str(directory / f"b{n}.sqlite3"))
        case = Case(n, repo)
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
