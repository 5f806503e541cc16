"""Values and answers across the JS/Python boundary, for the JavaScript API (``wasm/js/``).

In: ``wasm/js/values.js`` walks the value once (JSON text plus one buffer holding the bytes
of every typed array and ``ArrayBuffer``); :func:`from_js` rebuilds the value with
``json.loads``, and the codec alone then judges what can be stored. Out, for the values a
store read returns: :func:`batch_to_js`, the same two objects the other way. A batch whose
every value is one typed array or ``ArrayBuffer`` skips JSON both ways (:func:`binary_from_js`,
:func:`binary_to_js`). Out, for the rest: :func:`to_js` turns ``bytes`` into an
``ArrayBuffer``, every typed-array form into a JS typed array of the same kind, tuples into
arrays, dicts into plain objects; ints outside the safe range become ``BigInt`` (Pyodide's
``to_js`` rule).

Every call answers with an *envelope* ``[true, value]`` or ``[false, name, message,
fields]`` (:func:`envelope`), so JavaScript raises an ``Error`` subclass named after the
Python error with its fields, without parsing a traceback.
"""

from __future__ import annotations

import array
import contextlib
import json
import math
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import js
from pyodide.ffi import jsnull
from pyodide.ffi import to_js as convert

from webstore.errors import InvalidArgument, UnsupportedValue, WebstoreError
from webstore.kv.codec import MAX_DEPTH
from webstore.kv.typed import KINDS, JsArray, TypedArray, encode_typed, typed_kind
from webstore.platform.services import PLAIN_TYPED

__all__ = ["batch_to_js", "binary_from_js", "binary_to_js", "envelope", "error_envelope",
           "from_js", "plain_typed", "started", "to_js"]

_FIELDS = ("argument", "key", "type_name", "path", "backend", "reason", "expected", "got",
           "where", "ref")


def _is_jsproxy(value: object) -> bool:
    return type(value).__module__ == "pyodide.ffi" or type(value).__name__.startswith("JsProxy")


_MARK = "\x00"


def from_js(prepared: Any) -> Any:
    """The codec's Python value for ``[jsonText, bytes]`` made by ``values.js``.

    ``json.loads`` (C) builds the structure; placeholders (dicts with the single key NUL)
    become :class:`JsArray` (stored as the JS kind they came from) and ``bytes`` over slices
    of the one buffer that carries every binary part, ints and floats; object keys that
    ``values.js`` escaped lose their extra leading NUL. Nothing is validated here: the codec
    does that, once.
    """
    text, blob = prepared[0], prepared[1]
    if type(text) is not str:
        raise InvalidArgument("unexpected JS value; pass values through the JS API",
                              argument="value")
    data = memoryview(blob.to_bytes() if blob is not None else b"")  # the one copy in

    def hook(obj: dict[str, Any]) -> Any:
        if _MARK in obj and len(obj) == 1:
            tag, *payload = obj[_MARK]
            if tag == "t":
                kind, start, end = payload
                return JsArray(kind, data[start:end])
            if tag == "b":
                return bytes(data[payload[0]:payload[1]])
            if tag == "n":
                return int(payload[0])
            return float(payload[0])
        if any(k.startswith(_MARK) for k in obj):
            return {k[1:] if k.startswith(_MARK) else k: v for k, v in obj.items()}
        return obj

    try:
        return json.loads(text, object_hook=hook)
    except RecursionError:  # deeper than Python parses; the codec refuses far less deep ones
        raise UnsupportedValue(f"value nested deeper than {MAX_DEPTH} levels",
                               type_name="object", path="value") from None


@contextlib.contextmanager
def plain_typed() -> Iterator[None]:
    """Within the block (this task only), typed arrays stored from JS read as ``TypedArray``.

    For reads answered through :func:`batch_to_js`, which takes their bytes as they are.
    """
    token = PLAIN_TYPED.set(True)
    try:
        yield
    finally:
        PLAIN_TYPED.reset(token)


_SAFE_INT = 2**53 - 1
_FLOAT_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}


def batch_to_js(value: Any) -> list[Any]:
    """``[jsonText, bytes]`` for ``values.js`` ``fromPython``: a read's answer in two objects.

    The mirror of :func:`from_js`: the structure as JSON text, every ``bytes`` and typed
    array as a placeholder naming its slice of one buffer, so 10,000 arrays cost one copy out
    of WebAssembly and one ``JSON.parse`` rather than 10,000 proxies. Gives what :func:`to_js`
    gives (same kinds, ``BigInt`` outside the safe-integer range, plain objects).
    """
    parts: list[bytes | memoryview] = []
    size = 0

    def binary(tag: list[Any], data: bytes | memoryview) -> dict[str, Any]:
        nonlocal size
        parts.append(data)
        tag += [size, size + len(data)]
        size += len(data)
        return {_MARK: tag}

    def walk(v: Any) -> Any:
        t = type(v)
        if t is str or t is bool or v is None:
            return v
        if t is int:
            return v if -_SAFE_INT <= v <= _SAFE_INT else {_MARK: ["n", str(v)]}
        if t is float:
            return v if math.isfinite(v) else {_MARK: ["f", _FLOAT_TEXT.get(v, "NaN")]}
        if t is list or t is tuple:
            return [walk(x) for x in v]
        if t is dict:
            return {(_MARK + k if k.startswith(_MARK) else k): walk(x) for k, x in v.items()}
        if t is bytes or t is bytearray:
            return binary(["b"], v)
        if isinstance(v, TypedArray):
            return binary(["t", v.kind], v.data)
        if _is_jsproxy(v) and not typed_kind(v):
            raise UnsupportedValue(f"cannot hand {type(v).__name__} to JavaScript",
                                   type_name=type(v).__name__)
        header, data = encode_typed(v)  # array.array, memoryview, numpy, a JS typed array
        return binary(["t", _KIND_NAMES[bytes(header)[0]]], data)

    text = json.dumps(walk(value), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return [text, convert(b"".join(parts)) if parts else None]


# Binary batches (values.js binaryBatch / fromBinaryBatch): a code per value, the offset where
# each ends, and one buffer. No JSON: the commonest batch of a typed-array store.
_BYTES_CODE = 254
_MISSING_CODE = 255


def binary_from_js(codes: Any, ends: Any, blob: Any) -> list[Any]:
    """The values of a batch ``binaryBatch`` sent: :class:`JsArray` or ``bytes`` each."""
    data = memoryview(blob.to_bytes())  # the one copy in
    out: list[Any] = []
    start = 0
    for code, stop in zip(codes.to_bytes(), ends.to_memoryview().tolist(), strict=True):
        end = int(stop)
        if not start <= end <= len(data):
            raise InvalidArgument("binary batch: offsets out of order", argument="entries")
        if code == _BYTES_CODE:
            out.append(bytes(data[start:end]))
        elif code < len(_KIND_NAMES):
            out.append(JsArray(_KIND_NAMES[code], data[start:end]))
        else:
            raise InvalidArgument(f"binary batch: unknown value code {code}",
                                  argument="entries")
        start = end
    return out


def binary_to_js(values: list[Any], missing: object) -> list[Any] | None:
    """``[codes, ends, bytes]`` if every value is a ``TypedArray``, ``bytes`` or ``missing``.

    ``None`` otherwise: then :func:`batch_to_js` answers. Read under :func:`plain_typed`, the
    arrays a JS caller stored are ``TypedArray``s.
    """
    codes = bytearray(len(values))
    ends = array.array("d")
    parts: list[bytes] = []
    size = 0
    for i, v in enumerate(values):
        t = type(v)
        if v is missing:
            codes[i] = _MISSING_CODE
        elif t is bytes:
            codes[i] = _BYTES_CODE
            parts.append(v)
            size += len(v)
        elif t is TypedArray:
            codes[i] = _KIND_CODES[v.kind]
            parts.append(v.data)
            size += len(v.data)
        else:
            return None
        ends.append(size)
    return [convert(bytes(codes)), convert(ends), convert(b"".join(parts))]


def _js_typed(kind: str, data: bytes | memoryview) -> Any:

    u8 = convert(bytes(data))
    info = getattr(js, kind)
    return info.new(u8.buffer, 0, len(data) // info.BYTES_PER_ELEMENT)


def _out(value: Any) -> Any:
    """Replace buffers by JS objects before ``to_js`` (which would give Uint8Array)."""
    t = type(value)
    if t in (str, int, float, bool):
        return value
    if value is None:
        return jsnull
    if t is dict:
        return {k: _out(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [_out(v) for v in value]
    if t is bytes or t is bytearray:
        return convert(bytes(value)).buffer
    if _is_jsproxy(value):
        return value
    if isinstance(value, TypedArray):
        return _js_typed(value.kind, value.data)
    if typed_kind(value):
        header, data = encode_typed(value)
        kind = _KIND_NAMES[bytes(header)[0]]
        return _js_typed(kind, bytes(data))
    return value


_KIND_NAMES = [k.js_name for k in KINDS]
_KIND_CODES = {k.js_name: k.code for k in KINDS}


def to_js(value: Any) -> Any:
    """A Python value as a JS value (plain objects for dicts)."""
    return convert(_out(value), dict_converter=js.Object.fromEntries, create_pyproxies=False)


def error_envelope(exc: BaseException) -> list[Any]:
    """``[false, class name, message, fields]`` for an exception (ids shown as hex)."""
    fields: dict[str, Any] = {}
    for name in _FIELDS:
        field = getattr(exc, name, None)
        if isinstance(field, bytes) and len(field) in (20, 32):  # an object id, either format
            field = field.hex()
        if isinstance(field, (str, int, float, bool)):
            fields[name] = field
    message = str(exc) if not isinstance(exc, KeyError) or isinstance(exc, WebstoreError) \
        else repr(exc)
    return [False, type(exc).__name__, message, fields]


async def envelope(work: Awaitable[Any]) -> Any:
    """Await ``work``; its value or its error as an envelope, as a JS value."""
    try:
        result = await work
    except Exception as exc:  # every error crosses as a named, structured JS error
        return to_js(error_envelope(exc))
    return to_js([True, result])


def started(start: Callable[[], Any]) -> Any:
    """A watch handle (a PyProxy in JS), or the error envelope of why it could not start."""
    try:
        return start()
    except Exception as exc:
        return to_js(error_envelope(exc))
