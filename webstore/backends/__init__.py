"""Backends: the protocol, the name-keyed registry, and runtime selection by probing.

Backends are registered by name with a lazy ``"module:Class"`` target, so importing webstore
never imports ``sqlite3`` in a browser or ``js`` on CPython. Third parties add their own with
:func:`register_backend`. :func:`open_backend` turns "what the user has" (nothing, a name, or
a backend instance) into an open, probed backend whose ``selection`` says why it was chosen.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from webstore._runtime import runtime
from webstore.backends._base import PROBE_KEY, Backend, Capabilities, Selection
from webstore.errors import InvalidArgument, StorageUnavailable

__all__ = [
    "PROBE_KEY",
    "Backend",
    "Capabilities",
    "Selection",
    "auto_order",
    "backend_class",
    "open_backend",
    "register_backend",
    "registered_backends",
]


@dataclass
class _Entry:
    target: str | type[Backend]
    install_hint: str


_REGISTRY: dict[str, _Entry] = {}

#: Candidates tried, in order, by automatic selection in each runtime. CPython has no
#: memory fallback on purpose: a desktop program that silently stops persisting (say, while
#: another process holds a lock) loses data; it gets StorageUnavailable with the reason.
#: In a browser the fallback is what private modes need, and ``capabilities.persistent``
#: tells the application.
_AUTO_ORDER: dict[str, list[str]] = {
    "cpython": ["sqlite"],
    "pyodide-browser": ["indexeddb", "localstorage", "memory"],
    "pyodide-node": ["indexeddb", "localstorage", "memory"],
}


def register_backend(
    name: str, target: str | type[Backend], *, install_hint: str = "",
    auto: dict[str, int] | None = None, replace: bool = False,
) -> None:
    """Register a backend class (or a lazy ``"module:Class"`` path) under ``name``.

    ``auto`` maps runtime names ("cpython", "pyodide-browser", "pyodide-node") to the position
    the backend takes in automatic selection there; omit it to make the backend explicit-only.
    A name already registered is refused unless ``replace`` (fsspec's ``clobber``), so two
    plugins cannot silently take each other's place.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgument("backend name must be a non-empty str", argument="name")
    if not (isinstance(target, str) and ":" in target) and not (
        isinstance(target, type) and issubclass(target, Backend)
    ):
        raise InvalidArgument(
            "target must be a Backend subclass or a 'module:Class' string", argument="target"
        )
    if name in _REGISTRY and not replace:
        raise InvalidArgument(f"a backend named {name!r} is already registered; pass "
                              "replace=True to replace it", argument="name")
    _REGISTRY[name] = _Entry(target, install_hint)
    for rt, position in (auto or {}).items():
        order = _AUTO_ORDER.setdefault(rt, [])
        if name in order:
            order.remove(name)
        order.insert(position, name)


def registered_backends() -> list[str]:
    """Names of every registered backend."""
    return sorted(_REGISTRY)


def auto_order(rt: str | None = None) -> list[str]:
    """Backends automatic selection tries in runtime ``rt`` (default: this one)."""
    return list(_AUTO_ORDER.get(rt or runtime(), ["memory"]))


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name``, importing it on first use."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise InvalidArgument(
            f"unknown backend {name!r}; registered: {', '.join(registered_backends())}",
            argument="backend",
        )
    if isinstance(entry.target, str):
        module_name, _, attr = entry.target.partition(":")
        try:
            cls: type[Backend] = getattr(importlib.import_module(module_name), attr)
        except ImportError as exc:
            hint = f" ({entry.install_hint})" if entry.install_hint else ""
            raise StorageUnavailable(
                f"backend {name!r} cannot load: {exc}{hint}", backend=name, reason=f"{exc}{hint}"
            ) from exc
        entry.target = cls
        return cls
    return entry.target


async def _open_probed(name: str, options: dict[str, Any]) -> Backend:
    backend = await backend_class(name).create(**options)
    try:
        await backend.probe()
    except BaseException:
        await backend.close()
        raise
    return backend


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = reason if isinstance(reason, str) and reason else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def open_backend(backend: str | Backend | None = None, **options: Any) -> Backend:
    """Open ``backend`` (a name or instance), or the first one that works here when ``None``.

    An explicitly named backend that fails raises :class:`StorageUnavailable` with the reason;
    there is no silent fallback. Automatic selection records why each candidate was refused.
    """
    if isinstance(backend, Backend):
        if backend.closed:
            raise InvalidArgument("the backend instance passed is closed", argument="backend")
        if backend.selection is None:
            backend.selection = Selection(backend.name, "backend instance passed by the caller")
        return backend
    if isinstance(backend, str):
        try:
            opened = await _open_probed(backend, options)
        except InvalidArgument:
            raise
        except Exception as exc:
            raise StorageUnavailable(
                f"backend {backend!r} is unavailable: {_describe(exc)}",
                backend=backend, reason=_describe(exc),
            ) from exc
        opened.selection = Selection(backend, "requested explicitly")
        return opened
    if backend is not None:
        raise InvalidArgument(
            f"backend must be None, a backend name or a Backend, not {type(backend).__name__}",
            argument="backend",
        )
    refused: dict[str, str] = {}
    rt = runtime()
    for name in auto_order(rt):
        try:
            opened = await _open_probed(name, options)
        except Exception as exc:  # every failure is a reason to try the next candidate
            refused[name] = _describe(exc)
            continue
        first = not refused
        reason = f"first choice in {rt}" if first else f"first working backend in {rt}"
        opened.selection = Selection(name, reason, refused)
        return opened
    raise StorageUnavailable(
        "no backend works here: " + "; ".join(f"{k}: {v}" for k, v in refused.items()),
        reason=repr(refused),
    )


register_backend("memory", "webstore.backends._memory:MemoryBackend")
register_backend(
    "sqlite", "webstore.backends._sqlite:SQLiteBackend",
    install_hint="needs the stdlib sqlite3 module, absent in Pyodide",
)
register_backend(
    "indexeddb", "webstore.platform.idb:IndexedDBBackend",
    install_hint="needs Pyodide in a browser (or fake-indexeddb under Node)",
)
register_backend(
    "localstorage", "webstore.platform.localstorage:LocalStorageBackend",
    install_hint="needs Pyodide with a working window.localStorage",
)
