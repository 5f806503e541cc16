"""The conformance suite shipped with webstore, for every backend in every runtime.

* :data:`STORE_CHECKS` / :class:`StoreConformance`: key-value checks (pytest base class).
* :func:`run_stateful` / :func:`StoreStateMachine`: Hypothesis against a plain-dict model.
* :func:`run_checks`: await every check (key-value and versioned-repo) against a factory,
  returning plain result dicts — how Pyodide in Node and in browsers runs the suite.

Nothing here imports CPython-only modules, so it runs inside Pyodide unchanged.
"""

from __future__ import annotations

from webstore.testing._runner import Check, StoreFactory, drive, run_checks
from webstore.testing._values import every_typed_array, same, sample_values
from webstore.testing.stateful import StoreStateMachine, replay, run_stateful
from webstore.testing.store import STORE_CHECKS, StoreConformance

__all__ = [
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
    """Every check: key-value ones, plus the versioned-repo ones prefixed ``repo_``."""
    checks = dict(STORE_CHECKS)
    try:
        from webstore.testing.repo import REPO_CHECKS  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return checks
    checks.update({f"repo_{name}": fn for name, fn in REPO_CHECKS.items()})
    return checks


def check_names() -> list[str]:
    """Names of :func:`all_checks`, in the order they run."""
    return list(all_checks())
