"""Which runtime we are in: CPython, Pyodide in a browser, or Pyodide under Node."""

from __future__ import annotations

import sys
from functools import cache

__all__ = ["in_pyodide", "runtime"]


def in_pyodide() -> bool:
    """Whether this is Pyodide (CPython compiled to WebAssembly by Emscripten)."""
    return sys.platform == "emscripten"


@cache
def runtime() -> str:
    """``"cpython"``, ``"pyodide-browser"`` or ``"pyodide-node"``."""
    if not in_pyodide():
        return "cpython"
    import js

    process = getattr(js, "process", None)
    versions = getattr(process, "versions", None) if process is not None else None
    if versions is not None and getattr(versions, "node", None):
        return "pyodide-node"
    return "pyodide-browser"
