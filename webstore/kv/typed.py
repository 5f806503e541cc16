"""Typed arrays: the eleven JavaScript TypedArray kinds and their Python forms.

A typed array is stored as its element kind, its shape and its raw little-endian bytes, plus
the *form* it was given in, so it comes back as the same kind of object:

==================  ==========================================================
went in as          comes back as
==================  ==========================================================
``TypedArray``      ``TypedArray`` (webstore's own, always available)
``array.array``     ``array.array`` with the same typecode (same item size)
``memoryview``      ``memoryview`` with the same format and shape (n-d)
``numpy.ndarray``   ``numpy.ndarray`` with the same dtype and shape; a
                    ``TypedArray`` where numpy is not installed
JS TypedArray       the same JS TypedArray kind in Pyodide; a ``TypedArray``
                    on CPython
==================  ==========================================================
"""

from __future__ import annotations

import array
import struct
import sys
from dataclasses import dataclass
from typing import Any

from webstore._runtime import services
from webstore.errors import IntegrityError, UnsupportedValue

__all__ = ["KINDS", "JsArray", "Kind", "TypedArray", "decode_typed", "encode_typed",
           "typed_header_js", "typed_js_kind", "typed_kind"]


@dataclass(frozen=True)
class Kind:
    """One element type: its JS name, struct format character and numpy dtype string."""

    code: int
    js_name: str
    fmt: str
    itemsize: int
    dtype: str


KINDS: tuple[Kind, ...] = (
    Kind(0, "Int8Array", "b", 1, "<i1"),
    Kind(1, "Uint8Array", "B", 1, "<u1"),
    Kind(2, "Uint8ClampedArray", "B", 1, "<u1"),
    Kind(3, "Int16Array", "h", 2, "<i2"),
    Kind(4, "Uint16Array", "H", 2, "<u2"),
    Kind(5, "Int32Array", "i", 4, "<i4"),
    Kind(6, "Uint32Array", "I", 4, "<u4"),
    Kind(7, "Float32Array", "f", 4, "<f4"),
    Kind(8, "Float64Array", "d", 8, "<f8"),
    Kind(9, "BigInt64Array", "q", 8, "<i8"),
    Kind(10, "BigUint64Array", "Q", 8, "<u8"),
)
_BY_NAME = {k.js_name: k for k in KINDS}
_SIGNED = {1: KINDS[0], 2: KINDS[3], 4: KINDS[5], 8: KINDS[9]}
_UNSIGNED = {1: KINDS[1], 2: KINDS[4], 4: KINDS[6], 8: KINDS[10]}
_FLOAT = {4: KINDS[7], 8: KINDS[8]}

# Forms: what Python (or JS) object the array was given as.
FORM_TYPED, FORM_ARRAY, FORM_MEMORYVIEW, FORM_NUMPY, FORM_JS = range(5)
_HEADER = struct.Struct("<BBBB")  # kind, form, typecode/format char, ndim
_HEADER_1D = struct.Struct("<BBBBQ")  # the same with ndim 1, and the length
_BIG_ENDIAN = sys.byteorder == "big"


def _kind_for_code(char: str, itemsize: int) -> Kind | None:
    if char in "bhilq":
        return _SIGNED.get(itemsize)
    if char in "BHILQ":
        return _UNSIGNED.get(itemsize)
    if char in "fd":
        return _FLOAT.get(itemsize)
    return None


class TypedArray:
    """A typed n-d array as webstore stores it: kind, shape and little-endian bytes.

    Used where no richer Python form exists (``Uint8ClampedArray``, arrays read on CPython
    that were written from JavaScript, numpy arrays read where numpy is absent).
    Equality is bit-exact: NaN payloads and ``-0.0`` compare by their bits.
    """

    __slots__ = ("data", "kind", "shape")

    def __init__(self, kind: str, data: bytes | bytearray | memoryview,
                 shape: tuple[int, ...] | None = None) -> None:
        if kind not in _BY_NAME:
            raise UnsupportedValue(
                f"unknown typed array kind {kind!r}; expected one of {', '.join(_BY_NAME)}",
                type_name=str(kind),
            )
        info = _BY_NAME[kind]
        raw = bytes(data)
        if len(raw) % info.itemsize:
            raise UnsupportedValue(
                f"{kind} data of {len(raw)} bytes is not a multiple of {info.itemsize}",
                type_name=kind,
            )
        count = len(raw) // info.itemsize
        shape = (count,) if shape is None else tuple(int(n) for n in shape)
        expected = 1
        for n in shape:
            expected *= n
        if expected != count or any(n < 0 for n in shape):
            raise UnsupportedValue(
                f"shape {shape} does not hold {count} {kind} elements", type_name=kind
            )
        self.kind = kind
        self.data = raw
        self.shape = shape

    @classmethod
    def _checked(cls, kind: str, data: bytes, shape: tuple[int, ...]) -> TypedArray:
        """One whose kind, size and shape the caller has checked (a decoded frame)."""
        made = object.__new__(cls)
        made.kind, made.data, made.shape = kind, data, shape
        return made

    @classmethod
    def from_values(cls, kind: str, values: list[Any]) -> TypedArray:
        """Build a 1-d array of ``kind`` from Python numbers."""
        info = _BY_NAME.get(kind)
        if info is None:
            raise UnsupportedValue(f"unknown typed array kind {kind!r}", type_name=str(kind))
        return cls(kind, struct.pack(f"<{len(values)}{info.fmt}", *values))

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return _BY_NAME[self.kind].itemsize

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 1

    def tolist(self) -> list[Any]:
        """Elements as a flat list of Python numbers."""
        info = _BY_NAME[self.kind]
        return list(struct.unpack(f"<{len(self.data) // info.itemsize}{info.fmt}", self.data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypedArray):
            return NotImplemented
        return (self.kind, self.shape, self.data) == (other.kind, other.shape, other.data)

    def __hash__(self) -> int:
        return hash((self.kind, self.shape, self.data))

    def __repr__(self) -> str:
        return f"TypedArray({self.kind!r}, <{len(self.data)} bytes>, shape={self.shape})"


class JsArray:
    """A JS typed array's kind and bytes, handed over by the JS API without a JS object.

    The JS API (``wasm/js/values.js``) sends the bytes of every typed array in a value as one
    buffer, so a batch of 10,000 arrays crosses into WebAssembly in one copy rather than
    10,000 proxy calls; each array arrives as a ``JsArray`` over its slice. It is stored
    exactly as the JS typed array itself would be (form JS), so it reads back as that kind.
    """

    __slots__ = ("data", "header", "kind")

    def __init__(self, kind: str, data: bytes | memoryview) -> None:
        self.header = typed_header_js(kind, len(data))  # checks kind and size
        self.kind = kind
        self.data = data

    def __repr__(self) -> str:
        return f"JsArray({self.kind!r}, <{len(self.data)} bytes>)"


def _is_numpy(value: object) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _is_jsproxy(value: object) -> bool:
    return type(value).__name__.startswith("JsProxy") or type(value).__module__ == "pyodide.ffi"


def typed_kind(value: object) -> bool:
    """Whether ``value`` is something :func:`encode_typed` stores as a typed array."""
    if isinstance(value, (TypedArray, JsArray, array.array, memoryview)) or _is_numpy(value):
        return True
    if _is_jsproxy(value):
        ctor = getattr(getattr(value, "constructor", None), "name", None)
        return ctor in _BY_NAME
    return False


def _header(kind: Kind, form: int, char: str, shape: tuple[int, ...]) -> bytes:
    if len(shape) == 1:
        return _HEADER_1D.pack(kind.code, form, ord(char) if char else 0, 1, shape[0])
    if len(shape) > 255:
        raise UnsupportedValue(f"arrays of {len(shape)} dimensions are not supported",
                               type_name=kind.js_name)
    return _HEADER.pack(kind.code, form, ord(char) if char else 0, len(shape)) + struct.pack(
        f"<{len(shape)}Q", *shape
    )


def typed_header_js(kind: str, nbytes: int) -> bytes:
    """The header :func:`encode_typed` writes for a 1-d JS typed array of ``nbytes`` bytes.

    Lets a runtime that keeps the array's bytes outside Python (the JS API) store it in the
    same form as one that passed through Python.
    """
    info = _BY_NAME.get(kind)
    if info is None:
        raise UnsupportedValue(f"{kind} is not a typed-array kind", type_name=kind)
    if nbytes < 0 or nbytes % info.itemsize:
        raise UnsupportedValue(f"{nbytes} bytes is not a whole number of {kind} elements",
                               type_name=kind)
    return _header(info, FORM_JS, "", (nbytes // info.itemsize,))


def typed_js_kind(header: bytes | memoryview, key: object = None) -> str:
    """The JS kind name of a header that is exactly a :func:`typed_header_js` header."""
    try:
        code, form, char, ndim = _HEADER.unpack_from(header)
        kind = KINDS[code]
    except (struct.error, IndexError) as exc:
        raise IntegrityError(f"corrupt typed array header in {key!r}", key=key) from exc
    if form != FORM_JS or char or ndim != 1 or len(header) != _HEADER.size + 8:
        raise IntegrityError(f"corrupt typed array header in {key!r}", key=key)
    name: str = kind.js_name
    return name


def encode_typed(value: Any) -> list[bytes | memoryview]:
    """Header and data chunks of a typed array (joined by the caller with one copy)."""
    if isinstance(value, TypedArray):
        return [_header(_BY_NAME[value.kind], FORM_TYPED, "", value.shape), value.data]
    if isinstance(value, JsArray):
        return [value.header, value.data]
    if isinstance(value, array.array):
        kind = _kind_for_code(value.typecode, value.itemsize)
        if kind is None:
            raise UnsupportedValue(
                f"array.array typecode {value.typecode!r} has no typed-array kind",
                type_name=f"array.array({value.typecode!r})",
            )
        data: bytes | memoryview = memoryview(value).cast("B")
        if _BIG_ENDIAN:
            swapped = array.array(value.typecode, value)
            swapped.byteswap()
            data = swapped.tobytes()
        return [_header(kind, FORM_ARRAY, value.typecode, (len(value),)), data]
    if isinstance(value, memoryview):
        fmt = value.format.lstrip("@=<")
        kind = _kind_for_code(fmt, value.itemsize) if len(fmt) == 1 else None
        if kind is None:
            raise UnsupportedValue(
                f"memoryview format {value.format!r} has no typed-array kind",
                type_name=f"memoryview({value.format!r})",
            )
        shape = tuple(value.shape or ())
        if 0 in shape and len(shape) > 1:
            raise UnsupportedValue(
                f"a memoryview of shape {shape} cannot be rebuilt from bytes (Python cannot "
                "cast to a shape with a zero); store it as numpy or TypedArray",
                type_name=f"memoryview({value.format!r})",
            )
        raw = value.tobytes() if not value.c_contiguous or not value.nbytes else value.cast("B")
        return [_header(kind, FORM_MEMORYVIEW, fmt, shape), raw]
    if _is_numpy(value):
        return _encode_numpy(value)
    if _is_jsproxy(value):
        kind = _BY_NAME[value.constructor.name]
        return [_header(kind, FORM_JS, "", (int(value.length),)), value.to_bytes()]
    raise UnsupportedValue(f"{type(value).__name__} is not a typed array",
                           type_name=type(value).__name__)


def _encode_numpy(value: Any) -> list[bytes | memoryview]:
    dt = value.dtype
    kind = _kind_for_code({"i": "q", "u": "Q", "f": "d"}.get(dt.kind, "?"), dt.itemsize)
    if kind is None or dt.fields is not None:
        raise UnsupportedValue(
            f"numpy dtype {dt.str!r} has no typed-array kind (int8..64, uint8..64, float32/64)",
            type_name=f"numpy.ndarray[{dt}]",
        )
    import numpy as np

    little: Any = np.ascontiguousarray(value, dtype=kind.dtype)
    data = memoryview(little.reshape(-1).view("u1")) if little.size else b""
    return [_header(kind, FORM_NUMPY, "", tuple(value.shape)), data]


def decode_typed(payload: bytes | memoryview, key: object = None) -> Any:
    """Rebuild the object :func:`encode_typed` was given, from header and data."""
    mv = memoryview(payload)
    try:
        code, form, char, ndim = _HEADER.unpack_from(mv)
        if ndim == 1:
            count = _HEADER_1D.unpack_from(mv)[4]
            shape: tuple[int, ...] = (count,)
        else:
            shape = struct.unpack_from(f"<{ndim}Q", mv, _HEADER.size)
            count = 1
            for n in shape:
                count *= n
        kind = KINDS[code]
    except (struct.error, IndexError) as exc:
        raise IntegrityError(f"corrupt typed array header in {key!r}", key=key) from exc
    data = mv[_HEADER.size + 8 * ndim:]
    if count * kind.itemsize != len(data):
        raise IntegrityError(f"typed array {key!r}: shape {shape} does not match its data",
                             key=key)
    if form == FORM_ARRAY and ndim == 1:
        typecode = chr(char)
        if array.array(typecode).itemsize != kind.itemsize:
            typecode = kind.fmt  # e.g. 'l' written on a 64-bit host, read in 32-bit wasm
        out = array.array(typecode)
        out.frombytes(data)
        if _BIG_ENDIAN:
            out.byteswap()
        return out
    if form == FORM_MEMORYVIEW:
        fmt = chr(char) if char else kind.fmt
        if struct.calcsize(fmt) != kind.itemsize:
            fmt = kind.fmt
        if not len(data):
            return memoryview(array.array(fmt if fmt in array.typecodes else kind.fmt))
        return memoryview(bytearray(data)).cast(fmt, list(shape))  # type: ignore[arg-type]
    if form == FORM_NUMPY:
        try:
            import numpy as np
        except ImportError:
            return TypedArray._checked(kind.js_name, bytes(data), shape)
        return np.frombuffer(bytearray(data), dtype=kind.dtype).reshape(shape)
    if form == FORM_JS:
        made = services().js_typed(kind.js_name, data)
        if made is not None:
            return made
    return TypedArray._checked(kind.js_name, bytes(data), shape)
