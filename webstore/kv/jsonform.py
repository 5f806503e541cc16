"""A JSON form of stored values, for the CLI's ``set``/``get``/``export``/``import``.

Plain JSON values map to themselves. The rest are one-key objects tagged with ``$``:

=================================  =====================================================
value                              JSON form
=================================  =====================================================
``bytes`` / ``bytearray``          ``{"$bytes": "<base64>"}`` / ``{"$bytearray": "..."}``
``tuple``                          ``{"$tuple": [...]}``
non-finite ``float`` (NaN, inf)    ``{"$float": "<16 hex digits of the IEEE-754 bits>"}``
typed array                        ``{"$typed": {"kind": "Float64Array", "shape": [3],
                                   "payload": "<base64>"}}``; ``payload`` is the stored
                                   extension record (kind, form, shape, little-endian
                                   data), so it comes back as the same Python form
a dict with one key starting "$"   ``{"$dict": {...}}`` so it is not read as a tag
=================================  =====================================================
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

from webstore.errors import InvalidArgument
from webstore.kv.typed import KINDS, decode_typed, encode_typed, typed_kind

__all__ = ["from_json", "to_json"]


def to_json(value: Any) -> Any:
    """A JSON-serialisable form of ``value`` (see the module table)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": struct.pack(">d", value).hex()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytearray):
        return {"$bytearray": base64.b64encode(value).decode()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {"$tuple": [to_json(v) for v in value]}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        out = {k: to_json(v) for k, v in value.items()}
        if len(out) == 1 and next(iter(out)).startswith("$"):
            return {"$dict": out}
        return out
    if typed_kind(value):
        payload = b"".join(encode_typed(value))
        ndim = payload[3]
        shape = list(struct.unpack_from(f"<{ndim}Q", payload, 4))
        return {"$typed": {"kind": KINDS[payload[0]].js_name, "shape": shape,
                           "payload": base64.b64encode(payload).decode()}}
    raise InvalidArgument(f"no JSON form for {type(value).__name__}", argument="value")


def _b64(text: Any, tag: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidArgument(f"{tag} must hold a base64 string", argument="value")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise InvalidArgument(f"{tag} holds invalid base64: {exc}", argument="value") from None


def from_json(data: Any) -> Any:
    """Inverse of :func:`to_json`."""
    if isinstance(data, list):
        return [from_json(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        tag, inner = next(iter(data.items()))
        if tag == "$bytes":
            return _b64(inner, tag)
        if tag == "$bytearray":
            return bytearray(_b64(inner, tag))
        if tag == "$tuple" and isinstance(inner, list):
            return tuple(from_json(v) for v in inner)
        if tag == "$float" and isinstance(inner, str) and len(inner) == 16:
            return struct.unpack(">d", bytes.fromhex(inner))[0]
        if tag == "$typed" and isinstance(inner, dict):
            return decode_typed(_b64(inner.get("payload"), "$typed.payload"))
        if tag == "$dict" and isinstance(inner, dict):
            return {k: from_json(v) for k, v in inner.items()}
        if tag.startswith("$"):
            raise InvalidArgument(f"unknown or malformed tag {tag!r}", argument="value")
    return {k: from_json(v) for k, v in data.items()}
