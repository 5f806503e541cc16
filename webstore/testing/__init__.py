"""The conformance suite shipped with webstore, for every backend in every runtime.

* :data:`STORE_CHECKS` / :class:`StoreConformance`: key-value checks (pytest base class).
* :func:`run_stateful` / :func:`StoreStateMachine`: Hypothesis against a plain-dict model.
* :func:`run_checks`: await every check (key-value and versioned-repo) against a factory,
  returning plain result dicts — how Pyodide in Node and in browsers runs the suite.

Nothing here imports CPython-only modules, so it runs inside Pyodide unchanged.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import Any

from webstore.testing._runner import Check, StoreFactory, drive
from webstore.testing._values import every_typed_array, same, sample_values
from webstore.testing.backend import BACKEND_CHECKS
from webstore.testing.stateful import StoreStateMachine, replay, run_stateful
from webstore.testing.store import STORE_CHECKS, StoreConformance

__all__ = [
    "BACKEND_CHECKS",
    "STORE_CHECKS",
    "Check",
    "StoreConformance",
    "StoreFactory",
    "StoreStateMachine",
    "all_checks",
    "check_names",
    "drive",
    "every_typed_array",
    "replay",
    "run_checks",
    "run_stateful",
    "same",
    "sample_values",
]


def all_checks() -> dict[str, Check]:
    """Every check: key-value, backend-level (``backend_``), versioned-repo (``repo_``)."""
    checks = {**STORE_CHECKS, **BACKEND_CHECKS}
    try:
        from webstore.testing.repo import REPO_CHECKS  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return checks
    checks.update({f"repo_{name}": fn for name, fn in REPO_CHECKS.items()})
    return checks


def check_names() -> list[str]:
    """Names of :func:`all_checks`, in the order they run."""
    return list(all_checks())


async def run_checks(
    factory: StoreFactory, checks: Mapping[str, Check] | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Await every check against ``factory``; one result dict per check, never raises.

    Each result is ``{"name", "ok", "error", "seconds"}``; ``error`` holds the traceback.
    """
    if checks is None:
        checks = all_checks()
    results: list[dict[str, Any]] = []
    for name, check in checks.items():
        if only is not None and name not in only:
            continue
        start = time.perf_counter()
        error = None
        try:
            await check(factory)
        except Exception:
            error = traceback.format_exc()
        results.append({
            "name": name, "ok": error is None, "error": error,
            "seconds": round(time.perf_counter() - start, 4),
        })
    return results
