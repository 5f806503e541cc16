"""Running async checks in any runtime: natively awaited, or driven synchronously.

Checks are plain ``async def check_x(factory)`` functions. In Pyodide (browsers, Node) they
are awaited from a coroutine the JavaScript side drives, so they work on engines without JS
Promise Integration. On CPython, pytest calls them through :func:`drive`, which steps the
coroutine by hand (memory and SQLite never suspend) and falls back to an event loop only if
a backend really suspends.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

from webstore.kv.store import Store

__all__ = ["Check", "StoreFactory", "drive", "run_checks"]

T = TypeVar("T")
StoreFactory = Callable[[str], Awaitable[Store]]
Check = Callable[[StoreFactory], Awaitable[None]]


def drive(awaitable: Awaitable[T]) -> T:
    """Run a coroutine (or any awaitable) to completion synchronously.

    Works without any event loop when it never suspends; otherwise uses ``asyncio``
    (CPython) or ``pyodide.ffi.run_sync`` (Pyodide with JSPI).
    """
    coro = awaitable if isinstance(awaitable, Coroutine) else _await(awaitable)
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    return _drive_suspended(coro, yielded)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _drive_suspended(coro: Coroutine[Any, Any, T], first: Any) -> T:
    from webstore._runtime import in_pyodide

    async def resume() -> T:
        value = await _Yield(first)
        while True:
            try:
                value = await _Yield(coro.send(value))
            except StopIteration as stop:
                result: T = stop.value
                return result

    if in_pyodide():
        from pyodide.ffi import run_sync

        result: T = run_sync(resume())
        return result
    import asyncio

    return asyncio.run(resume())


class _Yield:
    """Awaitable that re-yields one value a stepped coroutine handed up to its driver."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return (yield self.value)


async def run_checks(
    factory: StoreFactory, checks: Mapping[str, Check] | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Await every check against ``factory``; one result dict per check, never raises.

    Each result is ``{"name", "ok", "error", "seconds"}``; ``error`` holds the traceback.
    """
    if checks is None:
        from webstore.testing import all_checks

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
