"""Values to bytes and back: msgpack plus extension types, framed with a CRC-32.

Frame: ``0xC1`` (a byte msgpack never uses), a body type (1 = msgpack, 2 = bare typed
array), the CRC-32 of the body (4 bytes, little-endian), then the body. Any flipped byte is
caught on read as :class:`~webstore.errors.IntegrityError` instead of returning wrong data.
A value that is one typed array skips msgpack entirely so large buffers are copied once.

Layout 2 adds two body types written by runtimes that keep a large buffer outside Python
(the JS API: :meth:`~webstore.kv.store.Store.set_parts`): 3 = bare typed array, 4 = bytes.
Their frame is ``0xC1``, the type, a CRC-32 of the rest of the *head*, then the head's rest:
the SHA-256 of the data (32 bytes) and, for a typed array, its header; then the data. A
backend may store head and data apart (IndexedDB keeps the data as an ``ArrayBuffer`` beside
the head, so it never enters WebAssembly) but reads them back as one value. The data's check
is SHA-256 rather than CRC-32 because browsers compute it natively (``crypto.subtle``, off
the calling thread) where a CRC would run in JavaScript; it is no weaker. Layout-1 frames
(types 1 and 2) are read as before, and Python keeps writing them.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import msgpack

from webstore.errors import IntegrityError, UnsupportedValue
from webstore.kv.typed import (
    decode_typed,
    encode_typed,
    typed_header_js,
    typed_js_kind,
    typed_kind,
)

__all__ = ["HEAD_BYTES", "MAX_DEPTH", "decode", "decode_many", "encode", "encode_many",
           "parse_head", "parts_head"]

MAX_DEPTH = 200
_MAGIC = 0xC1
_BODY_MSGPACK = 1
_BODY_TYPED = 2
_BODY_TYPED_SHA = 3
_BODY_BYTES_SHA = 4
HEAD_BYTES = 38
"""Length of a layout-2 head before a typed array's header: magic, type, CRC-32, SHA-256."""
_FRAME = struct.Struct("<BBI")
_EXT_TYPED, _EXT_TUPLE, _EXT_BYTEARRAY = 1, 2, 3
_INT_MIN, _INT_LIMIT = -(2**63), 2**64
_SCALARS = (str, bytes, bool, float, type(None))
_CONTAINERS = (dict, list, tuple, int)
# Items of a dict or list that msgpack packs exactly as ``_prepare`` would leave them: an int
# outside [-2**63, 2**64) raises OverflowError in msgpack too, a lone surrogate
# UnicodeEncodeError; :func:`encode` then names where.
_FLAT = frozenset((str, bytes, bool, float, int, type(None)))
_STR = frozenset((str,))


class _Bad(Exception):
    """Internal: carries the path to a bad part of a value up to :func:`encode`."""

    def __init__(self, message: str, type_name: str) -> None:
        super().__init__(message)
        self.message = message
        self.type_name = type_name
        self.path: list[str] = []


def _prepare(value: Any, depth: int, active: set[int]) -> Any:
    """Validate ``value`` and swap extension types in; return ``value`` itself if unchanged."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is int:
        if not _INT_MIN <= value < _INT_LIMIT:
            raise _Bad("int out of the 64-bit range [-2**63, 2**64)", "int")
        return value
    if depth >= MAX_DEPTH:
        raise _Bad(f"value nested deeper than {MAX_DEPTH} levels", t.__name__)
    if t is dict or t is list or t is tuple:
        if id(value) in active:
            raise _Bad("cyclic structure: a container contains itself", t.__name__)
        active.add(id(value))
        try:
            if t is dict:
                return _prepare_dict(value, depth, active)
            out = _prepare_list(value, depth, active)
        finally:
            active.discard(id(value))
        if t is tuple:
            return msgpack.ExtType(_EXT_TUPLE, _pack(out))
        return out
    if t is bytearray:
        return msgpack.ExtType(_EXT_BYTEARRAY, bytes(value))
    if typed_kind(value):
        try:
            return msgpack.ExtType(_EXT_TYPED, b"".join(encode_typed(value)))
        except UnsupportedValue as exc:
            raise _Bad(str(exc), exc.type_name) from None
    return _prepare_other(value, depth, active)


def _prepare_dict(value: dict[Any, Any], depth: int, active: set[int]) -> Any:
    out: dict[str, Any] | None = None
    for i, (k, v) in enumerate(value.items()):
        key = k
        if type(k) is not str:
            if not isinstance(k, str):
                raise _Bad(f"dict keys must be str, found {type(k).__name__} key {k!r}",
                           type(k).__name__)
            key = str(k)  # a str subclass: stored as the plain str, in the same position
        try:
            nv = _prepare(v, depth + 1, active)
        except _Bad as bad:
            bad.path.append(f"[{key!r}]")
            raise
        if out is None and (nv is not v or key is not k):
            out = dict(itertools.islice(value.items(), i))  # the unchanged pairs before
        if out is not None:
            out[key] = nv
    return value if out is None else out


def _prepare_list(value: list[Any] | tuple[Any, ...], depth: int, active: set[int]) -> Any:
    out: list[Any] | None = None
    for i, v in enumerate(value):
        try:
            nv = _prepare(v, depth + 1, active)
        except _Bad as bad:
            bad.path.append(f"[{i}]")
            raise
        if nv is not v:
            out = list(value) if out is None else out
            out[i] = nv
    if out is None:
        return value if type(value) is list else list(value)
    return out


def _prepare_other(value: Any, depth: int, active: set[int]) -> Any:
    """Subclasses of the plain types, and numpy scalars."""
    for base in (int, float, str):
        if isinstance(value, base):
            return _prepare(base(value), depth, active)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, dict):
        return _prepare(dict(value), depth, active)
    if isinstance(value, list):
        return _prepare(list(value), depth, active)
    if type(value).__module__ == "numpy" and hasattr(value, "item") and not value.shape:
        return _prepare(value.item(), depth, active)
    name = type(value).__name__
    raise _Bad(f"values of type {name} cannot be stored", name)


_PACKER = msgpack.Packer(use_bin_type=True, strict_types=True)


def _pack(value: Any) -> bytes:
    # One shared Packer: building one per call costs more than packing a small value.
    # ``pack`` runs in C without callbacks, so no other Python code can interleave.
    packed: bytes = _PACKER.pack(value)
    return packed


def _find_bad_str(value: Any, path: str) -> str | None:
    """Path of the first ``str`` (or dict key) that is not encodable UTF-8, if any."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if _find_bad_str(k, path) is not None:
                return f"{path} (key {k!r})"
            found = _find_bad_str(v, f"{path}[{k!r}]")
            if found is not None:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _find_bad_str(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def encode_many(values: Iterable[Any]) -> list[bytes]:
    """Framed bytes for each of ``values``, as :func:`encode` (one call for a batch).

    Scalars are packed and framed inline, without a Python call each; anything else goes
    through :func:`encode`, which validates it. If packing inline raises (a lone surrogate),
    the whole batch goes through :func:`encode`, which names the bad value.
    """
    values = values if isinstance(values, list) else list(values)
    pack, head, crc32, lo, hi = _PACKER.pack, _FRAME.pack, _crc32, _INT_MIN, _INT_LIMIT
    try:
        return [
            head(_MAGIC, _BODY_MSGPACK, crc32(body := pack(v))) + body
            if (t := type(v)) is bytes or t is str or t is float or t is bool or v is None
            or (t is int and lo <= v < hi)
            else encode(v)
            for v in values
        ]
    except UnicodeEncodeError:
        return [encode(v) for v in values]


def encode(value: Any) -> bytes:
    """Framed bytes for ``value``; raises :class:`UnsupportedValue` naming the bad part."""
    t = type(value)
    try:
        if t is str or t is bytes or t is float or t is bool or value is None or (
            t is int and _INT_MIN <= value < _INT_LIMIT
        ):
            body = _pack(value)  # hot path: nothing to validate
        elif (t is dict and _STR.issuperset(map(type, value))
              and _FLAT.issuperset(map(type, value.values()))) or (
                  t is list and _FLAT.issuperset(map(type, value))):
            # Flat containers skip the walk: msgpack refuses what the codec refuses (_FLAT).
            try:
                body = _pack(value)
            except OverflowError:  # an int out of range: the walk names where
                body = _pack(_prepare(value, 0, set()))
        elif t is not bytearray and t not in _CONTAINERS and typed_kind(value):
            # Large arrays: checksum the chunks in place and copy them once, into the frame.
            chunks = encode_typed(value)
            crc = 0
            for chunk in chunks:
                crc = _crc32(chunk, crc)
            return b"".join([_FRAME.pack(_MAGIC, _BODY_TYPED, crc), *chunks])
        else:
            body = _pack(_prepare(value, 0, set()))
    except _Bad as bad:
        where = "value" + "".join(reversed(bad.path))
        raise UnsupportedValue(
            f"{bad.message} (at {where})", type_name=bad.type_name, path=where
        ) from None
    except UnicodeEncodeError:
        where = _find_bad_str(value, "value") or "value"
        raise UnsupportedValue(
            f"str is not valid Unicode (lone surrogate) at {where}", type_name="str", path=where
        ) from None
    return _FRAME.pack(_MAGIC, _BODY_MSGPACK, _crc32(body)) + body


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_TYPED:
        return decode_typed(data)
    if code == _EXT_TUPLE:
        return tuple(_unpack(data))
    if code == _EXT_BYTEARRAY:
        return bytearray(data)
    raise ValueError(f"unknown extension type {code}")


def _unpack(data: bytes | memoryview) -> Any:
    # A tuple's body is unpacked from inside the outer unpack, once per nesting level.
    # ``unpackb`` keeps its ~40 KB parse stack on the C stack, so 200 nested tuples overflowed
    # an 8 MB stack (a crash, not an error); an ``Unpacker`` keeps it on the heap.
    unpacker = msgpack.Unpacker(None, raw=False, strict_map_key=True, ext_hook=_ext_hook,
                                use_list=True, max_buffer_size=max(len(data), 1))
    unpacker.feed(data)
    value = unpacker.unpack()
    if unpacker.tell() != len(data):
        raise ValueError("extra bytes after a tuple's items")
    return value


def parts_head(kind: str, nbytes: int, digest: bytes) -> bytes:
    """The head of a layout-2 value (its frame without the data).

    ``kind`` is a typed-array kind (``"Float64Array"``) or ``"bytes"``, ``nbytes`` the data's
    byte length, ``digest`` its SHA-256. Raises :class:`UnsupportedValue` for an unknown kind
    or a length that is not a whole number of elements, ``ValueError`` for a bad digest.
    """
    if len(digest) != 32:
        raise ValueError(f"a SHA-256 digest has 32 bytes, not {len(digest)}")
    if kind == "bytes":
        body_type, rest = _BODY_BYTES_SHA, bytes(digest)
    else:
        body_type, rest = _BODY_TYPED_SHA, bytes(digest) + typed_header_js(kind, nbytes)
    return _FRAME.pack(_MAGIC, body_type, _crc32(rest)) + rest


def _head_length(frame: bytes | bytearray | memoryview) -> int:
    """Length of the head at the start of a layout-2 frame (0 if it cannot be one)."""
    if len(frame) < HEAD_BYTES:
        return 0
    if frame[1] == _BODY_BYTES_SHA:
        return HEAD_BYTES
    if len(frame) < HEAD_BYTES + 4:
        return 0
    return HEAD_BYTES + 4 + 8 * frame[HEAD_BYTES + 3]  # the typed header's ndim


def parse_head(head: bytes, key: object = None) -> tuple[str, bytes, int]:
    """``(kind, digest, count)`` of a layout-2 head (:func:`parts_head`).

    The value's kind (``"bytes"`` or a typed-array kind), the SHA-256 its data must have, and
    its length in elements (``-1`` for bytes: any). Raises :class:`IntegrityError` naming
    ``key`` when the head is corrupt.
    """
    if (len(head) < 6 or head[0] != _MAGIC or head[1] not in (_BODY_TYPED_SHA, _BODY_BYTES_SHA)
            or _head_length(head) != len(head)
            or _FRAME.unpack_from(head)[2] != _crc32(memoryview(head)[6:])):
        raise IntegrityError(f"stored value for {key!r} has a corrupt head", key=key)
    digest = bytes(head[6:HEAD_BYTES])
    if head[1] == _BODY_BYTES_SHA:
        return "bytes", digest, -1
    header = memoryview(head)[HEAD_BYTES:]
    return typed_js_kind(header, key), digest, struct.unpack_from("<Q", header, 4)[0]


def _decode_sha(frame: bytes | bytearray | memoryview, key: object) -> Any:
    """A layout-2 frame (head and data joined): check both, then decode."""
    size = _head_length(frame)
    if not size or len(frame) < size:
        raise IntegrityError(f"stored value for {key!r} is truncated ({len(frame)} bytes)",
                             key=key)
    view = memoryview(frame)
    kind, digest, _ = parse_head(bytes(view[:size]), key)
    data = view[size:]
    got = hashlib.sha256(data).digest()
    if got != digest:
        raise IntegrityError(
            f"stored value for {key!r} is corrupt: SHA-256 mismatch",
            key=key, expected=digest.hex(), got=got.hex(),
        )
    if kind == "bytes":
        return bytes(data)
    return decode_typed(view[HEAD_BYTES:], key)


def decode(frame: bytes | bytearray | memoryview, key: object = None) -> Any:
    """The value in ``frame``; raises :class:`IntegrityError` naming ``key`` if corrupt."""
    try:
        magic, kind, crc = _unpack_frame(frame)
    except struct.error:
        raise IntegrityError(f"stored value for {key!r} is truncated ({len(frame)} bytes)",
                             key=key) from None
    if magic == _MAGIC and kind in (_BODY_TYPED_SHA, _BODY_BYTES_SHA):
        return _decode_sha(frame, key)
    # Small values: slicing bytes is cheaper than a memoryview; large ones: avoid the copy.
    body = frame[6:] if len(frame) < 65536 else memoryview(frame)[6:]
    got = _crc32(body)
    if got != crc or magic != _MAGIC:
        raise IntegrityError(
            f"stored value for {key!r} is corrupt: checksum mismatch",
            key=key, expected=f"{crc:08x}", got=f"{got:08x}",
        )
    try:
        if kind == _BODY_MSGPACK:
            return _unpackb(body, raw=False, strict_map_key=True, ext_hook=_ext_hook)
        if kind == _BODY_TYPED:
            return decode_typed(memoryview(body), key)
    except IntegrityError:
        raise
    except Exception as exc:  # checksum passed but the body does not parse: a writer bug
        raise IntegrityError(f"stored value for {key!r} cannot be decoded: {exc}",
                             key=key) from exc
    raise IntegrityError(f"stored value for {key!r} has unknown body type {kind}", key=key)


def decode_many(frames: Sequence[bytes | None], keys: Sequence[str], default: Any = None,
                strip: int = 0) -> list[Any]:
    """:func:`decode` of each frame (``default`` for ``None``), ``keys[i][strip:]`` naming it.

    Small msgpack frames are checked and unpacked inline (``bytes`` of up to 255 bytes, msgpack
    bin 8, by slicing past its 2-byte header); others, and any that fail the check, go through
    :func:`decode`, which raises the same errors as for a single value.
    """
    crc32, unpackb, head, hook = _crc32, _unpackb, _HEAD.unpack_from, _ext_hook
    magic = _HEAD_MSGPACK
    try:
        # msgpack >= 1.0 defaults to raw=False, strict_map_key=True, as decode asks for.
        return [
            default if f is None
            else (f[8:] if body[0] == 0xC4 else unpackb(body, ext_hook=hook))
            if len(f) < 65536 and head(f) == (magic, crc32(body := f[6:]))
            else decode(f, k[strip:])
            for f, k in zip(frames, keys, strict=True)
        ]
    except IntegrityError:
        raise
    except Exception:  # a body that passed its checksum but does not unpack: decode names it
        return [default if f is None else decode(f, k[strip:])
                for f, k in zip(frames, keys, strict=True)]


_HEAD = struct.Struct("<HI")  # the frame's magic and body type as one little-endian number
_HEAD_MSGPACK = _MAGIC | _BODY_MSGPACK << 8
_unpack_frame = _FRAME.unpack_from
_unpackb = msgpack.unpackb
_crc32 = zlib.crc32
