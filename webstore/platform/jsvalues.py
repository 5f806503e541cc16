"""Values and answers across the JS/Python boundary, for the JavaScript API (``wasm/js/``).

In: ``wasm/js/values.js`` makes one ``JSON.stringify`` pass (JSON text plus the typed arrays
and ``ArrayBuffer``s beside it); :func:`from_js` rebuilds the value with ``json.loads``, and
the codec alone then judges what can be stored. Out: :func:`to_js` turns ``bytes`` into an
``ArrayBuffer``, every typed-array form into a JS typed array of the same kind, tuples into
arrays, dicts into plain objects; ints outside the safe range become ``BigInt`` (Pyodide's
``to_js`` rule).

Every call answers with an *envelope* ``[true, value]`` or ``[false, name, message,
fields]`` (:func:`envelope`), so JavaScript raises an ``Error`` subclass named after the
Python error with its fields, without parsing a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import js
from pyodide.ffi import jsnull
from pyodide.ffi import to_js as convert

from webstore.errors import InvalidArgument, UnsupportedValue, WebstoreError
from webstore.kv.codec import MAX_DEPTH
from webstore.kv.typed import KINDS, TypedArray, encode_typed, typed_kind
from webstore.versioned.ids import ObjectId, to_hex

__all__ = ["envelope", "error_envelope", "from_js", "hex_id", "started", "to_js"]

_FIELDS = ("argument", "key", "type_name", "path", "backend", "reason", "expected", "got",
           "where", "ref")


def _is_jsproxy(value: object) -> bool:
    return type(value).__module__ == "pyodide.ffi" or type(value).__name__.startswith("JsProxy")


_MARK = "\x00"


def from_js(prepared: Any) -> Any:
    """The codec's Python value for ``[jsonText, buffers]`` made by ``values.js``.

    ``json.loads`` (C) builds the structure; placeholders (dicts with the single key NUL)
    become typed arrays (kept as JS typed arrays: the codec's JS form), ``bytes``, ints and
    floats, and object keys that ``values.js`` escaped lose their extra leading NUL. Nothing
    is validated here: the codec does that, once.
    """
    text, buffers = prepared[0], prepared[1]
    if type(text) is not str:
        raise InvalidArgument("unexpected JS value; pass values through the JS API",
                              argument="value")

    def hook(obj: dict[str, Any]) -> Any:
        if _MARK in obj and len(obj) == 1:
            tag, payload = obj[_MARK]
            if tag == "t":
                return buffers[payload]
            if tag == "b":
                return bytes(buffers[payload].to_bytes())
            if tag == "n":
                return int(payload)
            return float(payload)
        if any(k.startswith(_MARK) for k in obj):
            return {k[1:] if k.startswith(_MARK) else k: v for k, v in obj.items()}
        return obj

    try:
        return json.loads(text, object_hook=hook)
    except RecursionError:  # deeper than Python parses; the codec refuses far less deep ones
        raise UnsupportedValue(f"value nested deeper than {MAX_DEPTH} levels",
                               type_name="object", path="value") from None


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


def to_js(value: Any) -> Any:
    """A Python value as a JS value (plain objects for dicts)."""
    return convert(_out(value), dict_converter=js.Object.fromEntries, create_pyproxies=False)


def error_envelope(exc: BaseException) -> list[Any]:
    """``[false, class name, message, fields]`` for an exception (ids shown as hex)."""
    fields: dict[str, Any] = {}
    for name in _FIELDS:
        field = getattr(exc, name, None)
        if isinstance(field, bytes) and len(field) in (20, 32):  # an object id, either format
            field = to_hex(ObjectId(field))
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


def hex_id(oid: ObjectId | None) -> str | None:
    """An object id as Git shows it (``None`` stays ``None``)."""
    return None if oid is None else to_hex(oid)


