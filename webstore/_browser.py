"""The browser's storage persistence APIs: ``navigator.storage.persist()`` / ``estimate()``.

Browsers may evict IndexedDB and localStorage data of "best-effort" origins under storage
pressure; ``persist()`` asks to be exempt. Both return ``None`` where the API does not exist
(CPython, Node, older engines) so callers need no runtime checks of their own.
"""

from __future__ import annotations

from typing import Any

from webstore._runtime import in_pyodide

__all__ = ["WebLock", "estimate", "persist", "persisted"]


def _storage_manager() -> Any:
    if not in_pyodide():
        return None
    import js
    from pyodide.ffi import JsException

    try:
        navigator = getattr(js, "navigator", None)
        manager = getattr(navigator, "storage", None) if navigator is not None else None
    except JsException:
        return None
    return manager if manager is not None and hasattr(manager, "estimate") else None


async def persist() -> bool | None:
    """Ask the browser not to evict this origin's data; whether it agreed (``None``: no API)."""
    manager = _storage_manager()
    if manager is None or not hasattr(manager, "persist"):
        return None
    return bool(await manager.persist())


async def persisted() -> bool | None:
    """Whether this origin's data is already exempt from eviction (``None``: no API)."""
    manager = _storage_manager()
    if manager is None or not hasattr(manager, "persisted"):
        return None
    return bool(await manager.persisted())


async def estimate() -> dict[str, int] | None:
    """``{"usage": bytes, "quota": bytes}`` for this origin (``None``: no API)."""
    manager = _storage_manager()
    if manager is None:
        return None
    found = await manager.estimate()
    return {"usage": int(found.usage or 0), "quota": int(found.quota or 0)}


_ACQUIRE = """(name) => new Promise((granted) => {
  navigator.locks.request(name, () => new Promise((release) => granted(release)));
})"""
_acquire: list[Any] = []


def _lock_acquirer() -> Any:
    """JS ``acquire(name) -> Promise<release>``, or ``None`` without ``navigator.locks``."""
    if not _acquire:
        found = None
        if in_pyodide():
            import js
            from pyodide.code import run_js
            from pyodide.ffi import JsException

            try:
                locks = getattr(getattr(js, "navigator", None), "locks", None)
            except JsException:
                locks = None
            if locks is not None and hasattr(locks, "request"):
                found = run_js(_ACQUIRE)
        _acquire.append(found)
    return _acquire[0]


class WebLock:
    """``async with WebLock(name)``: hold the Web Lock ``name`` for the block.

    Tabs and workers of one origin queue for it first come, first served, so a writer cannot
    starve another by winning every race. A no-op where ``navigator.locks`` is missing
    (CPython, Node); the browser releases it if the page dies.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._release: Any = None

    async def __aenter__(self) -> WebLock:
        acquire = _lock_acquirer()
        if acquire is not None:
            self._release = await acquire(self.name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._release is not None:
            self._release()
            self._release = None
