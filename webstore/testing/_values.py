"""Sample values and bit-exact comparison, shared by the checks and the state machine."""

from __future__ import annotations

import array
import struct
from typing import Any

from webstore.kv.typed import KINDS, TypedArray

__all__ = ["every_typed_array", "same", "sample_values"]


def same(a: Any, b: Any) -> bool:
    """Deep equality that is bit-exact for floats and arrays (NaN payloads, ``-0.0``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, array.array):
        return bool(a.typecode == b.typecode and a.tobytes() == b.tobytes())
    if isinstance(a, memoryview):
        return (a.format, a.shape) == (b.format, b.shape) and a.tobytes() == b.tobytes()
    if type(a).__module__ == "numpy":
        return bool(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())
    if type(a).__name__.startswith("JsProxy"):
        return bool(a.constructor.name == b.constructor.name and a.to_bytes() == b.to_bytes())
    return bool(a == b)


def _extremes(kind: str) -> list[Any]:
    info = next(k for k in KINDS if k.js_name == kind)
    if info.fmt in "fd":
        nan_payload = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]
        return [0.0, -0.0, 1.5, float("inf"), float("-inf"), nan_payload, 1e-310]
    bits = info.itemsize * 8
    if info.fmt.islower():
        return [0, -1, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
    return [0, 1, 2**bits - 1]


def every_typed_array() -> list[Any]:
    """One array of every kind with its extreme values, in every Python form available."""
    out: list[Any] = [TypedArray.from_values(k.js_name, _extremes(k.js_name)) for k in KINDS]
    nan_bits = b"\x01\x00\x00\x00\x00\x00\xf8\x7f"  # a NaN with a payload, to check every bit
    out.append(TypedArray("Float64Array", nan_bits * 2 + struct.pack("<d", -0.0), (3,)))
    out.append(TypedArray("Int16Array", struct.pack("<6h", *range(6)), (2, 3)))
    for code in "bBhHiIlLqQfd":
        a = array.array(code, [0, 1, 2] if code in "BHILQ" else [0, -1, 2])
        out.append(a)
    out.append(array.array("d", [-0.0, float("inf")]))
    out.append(memoryview(array.array("i", range(6))).cast("B").cast("i", [2, 3]))
    out.append(memoryview(array.array("d", [-0.0])))
    try:
        import numpy as np
    except ImportError:
        return out
    out.append(np.arange(24, dtype="<f4").reshape(2, 3, 4))
    out.append(np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max], dtype=np.int64))
    out.append(np.array([2**64 - 1], dtype=np.uint64))
    out.append(np.arange(6, dtype=">i4").reshape(3, 2).astype("<i4"))
    out.append(np.zeros((0, 3), dtype=np.float64))
    return out


def sample_values() -> list[Any]:
    """Plain values covering every supported scalar and container type."""
    return [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 0.5, -0.0, float("inf"),
        "", "héllo wörld", "\U0001f600 astral", "\x00nul inside", b"", b"\x00\xff" * 10,
        [], {}, [1, [2, [3, None]]], {"a": {"b": [1, "x", b"y"]}, "": 0},
        (1, "two", (3,)), bytearray(b"abc"), {"list": [1.5, None, True], "t": ("x",)},
    ]
