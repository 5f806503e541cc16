"""Shared plumbing of the Pyodide backends: JS helper files, batches across the FFI, errors.

Batches cross the Python/JS boundary as one concatenated buffer plus a length per value
(``-1`` = missing): two copies for 10,000 values instead of 10,000 proxies.
"""

from __future__ import annotations

from typing import Any

__all__ = ["error_name", "helper", "pack", "to_js", "unpack"]

_HELPERS: dict[str, Any] = {}


def helper(file_name: str) -> Any:
    """The object a JS helper file next to this module evaluates to (once per interpreter)."""
    found = _HELPERS.get(file_name)
    if found is None:
        from importlib.resources import files

        from pyodide.code import run_js

        source = files("webstore.backends").joinpath(file_name).read_text("utf-8")
        found = _HELPERS[file_name] = run_js(source)
    return found


def to_js(value: Any) -> Any:
    """``pyodide.ffi.to_js``: bytes become a fresh ``Uint8Array``, lists become Arrays."""
    from pyodide.ffi import to_js as convert

    return convert(value)


def pack(values: list[bytes]) -> tuple[Any, Any]:
    """``(blob, lengths)`` as JS values for a list of byte strings."""
    blob = values[0] if len(values) == 1 else b"".join(values)
    return to_js(blob), to_js([len(v) for v in values])


def unpack(lengths: Any, blob: Any) -> list[bytes | None]:
    """Split a JS ``(Int32Array lengths, Uint8Array blob)`` pair back into values."""
    sizes: list[int] = lengths.to_memoryview().tolist()
    data: bytes = blob.to_bytes()
    if len(sizes) == 1:
        return [data if sizes[0] >= 0 else None]
    out: list[bytes | None] = []
    view = memoryview(data)
    at = 0
    for size in sizes:
        if size < 0:
            out.append(None)
        else:
            out.append(bytes(view[at:at + size]))
            at += size
    return out


def error_name(exc: BaseException) -> str:
    """The JS error's ``name`` (``"QuotaExceededError"`` ...), or ``""``."""
    name = getattr(exc, "name", "")
    return name if isinstance(name, str) else ""
