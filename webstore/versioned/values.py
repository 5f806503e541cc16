r"""Values at paths, and the mergeable value types; a blob is text whenever it can be.

How a value is written (so ``git show``, ``git diff`` and a text editor work on a checkout):

* a ``str``: its UTF-8 text, byte for byte, unless that text would read back as something
  else (it parses as JSON: ``"123"``, ``"true"``, ``'"x"'``...); then as a JSON string.
* ``None``, ``bool``, ``int``, finite ``float``, ``list``, ``dict`` with ``str`` keys (holding
  only these): JSON, UTF-8, keys in insertion order, ``indent=2`` so diffs are line-based,
  ending with a newline. Subclasses (``IntEnum``...) and numpy scalars are stored as the plain
  value, as the codec does.
* mergeable types are tagged dicts (``{"__webstore__": "counter", "v": 3}``): JSON too when
  their contents are, so a person reads and edits them as the JSON object they are.
* anything else (``bytes``, typed arrays, ``tuple``, ``bytearray``, NaN/infinity, or a
  container holding one): ``webstore.kv.codec.encode(value)``, the framed binary form the
  key-value store writes. It starts with ``0xC1``, a byte that never begins valid UTF-8.

The codec stays the authority on what can be stored. Values of exact JSON types are written
directly, checked against the codec's own limits (its int range and ``MAX_DEPTH``; a lone
surrogate fails the UTF-8 encoding); anything else, or anything past a limit, is handed to
``codec.encode``, so what it refuses (``2**64``, ``"\ud800"``, cycles...) is refused here with
the same error, and a text form is chosen only for a value it accepted.

How a blob is read: ``0xC1`` first -> ``codec.decode`` (blobs of webstore 0.1.0 included);
valid UTF-8 holding one JSON value -> that value (mergeable tags restored); other valid UTF-8
-> that ``str``; anything else (a PNG added with Git, or a file that starts with ``0xC1`` but
fails the frame's CRC) -> ``bytes``. Text that is not a value webstore could have written
reads as the ``str`` it is, never as an error: a JSON syntax error, ``NaN``/``Infinity``, a
number that overflows (``1e400``) or an int outside the 64-bit range, nesting deeper than
``codec.MAX_DEPTH``, an escaped lone surrogate (``\ud800``), a malformed ``__webstore__``
object. Every value webstore writes reads back equal and of the same type
(JSON numbers are written with ``repr``: a float always has ``.`` or ``e``, an int never).

Text blobs carry no CRC: in the versioned store integrity is the object id, the SHA-256 of the
object's bytes, re-checked whenever it is read from storage and by ``fsck`` (as in Git), so a
flipped byte in any blob is already caught. The key-value store has no such hash, which is
why its values keep the CRC frame.

The same value can now sit in a repo in two encodings (a 0.1.0 framed blob, the JSON one written
when the path is set again). Merge compares the values when blob ids differ, so that is never a
conflict; a diff across the rewrite shows one ``Updated`` entry whose old and new are equal.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from json import JSONDecoder
from json.encoder import encode_basestring
from typing import Any, Final

from webstore.errors import IntegrityError, InvalidArgument, UnsupportedValue
from webstore.kv import codec
from webstore.kv.typed import typed_kind

__all__ = ["TAG", "AddWinsSet", "Counter", "LastWriterWins", "decode_value", "encode_value"]

#: Reserved dict key marking a mergeable value; plain dicts must not use it.
TAG = "__webstore__"

_FRAME_BYTE: Final = b"\xc1"
_SCALAR_TYPES = (str, int, float, bytes, bool)


@dataclass(frozen=True)
class Counter:
    """An integer merged by adding both sides' increments: ``ours + theirs - base``."""

    value: int = 0

    def __add__(self, other: int) -> Counter:
        return Counter(self.value + other)

    def __sub__(self, other: int) -> Counter:
        return Counter(self.value - other)


@dataclass(frozen=True)
class LastWriterWins:
    """A register: the write with the larger ``(timestamp, writer)`` wins a merge."""

    value: Any
    timestamp: float
    writer: str = ""


def _elem_key(x: Any) -> tuple[str, Any]:
    return (type(x).__name__, x)


class AddWinsSet(frozenset[Any]):
    """A set of scalars; merging keeps what either side added and both sides kept."""

    def __repr__(self) -> str:
        return f"AddWinsSet({sorted(self, key=_elem_key)!r})"


# -- writing --------------------------------------------------------------------------------


def encode_value(value: Any, argument: str = "value") -> bytes:
    """Blob bytes of a value: text, JSON, or the codec's frame (see the module docs)."""
    plain = _to_plain(value, argument)
    try:  # plain JSON types within the codec's limits: a subset of what it accepts
        return _text_blob(plain)
    except (_NotJson, UnicodeEncodeError):
        pass
    framed = codec.encode(plain)  # the authority: refuses here what cannot be stored
    try:
        return _text_blob(_json_ready(plain))  # subclasses and numpy scalars made plain
    except _NotJson:
        return framed


def _to_plain(value: Any, argument: str, depth: int = 0) -> Any:
    if isinstance(value, Counter):
        if type(value.value) is not int:
            raise InvalidArgument(f"{argument}: Counter holds an int", argument=argument)
        return {TAG: "counter", "v": value.value}
    if isinstance(value, LastWriterWins):
        return {TAG: "lww", "v": _to_plain(value.value, argument), "t": value.timestamp,
                "w": value.writer}
    if isinstance(value, AddWinsSet):
        for x in value:
            if not isinstance(x, _SCALAR_TYPES) and x is not None:
                raise InvalidArgument(f"{argument}: AddWinsSet holds only scalars, not "
                                      f"{type(x).__name__}", argument=argument)
        return {TAG: "awset", "v": sorted(value, key=_elem_key)}
    if type(value) is dict and depth < codec.MAX_DEPTH:  # deeper (or a cycle): codec refuses
        if TAG in value:
            raise InvalidArgument(f"{argument}: dict key {TAG!r} is reserved", argument=argument)
        out: dict[str, Any] | None = None  # a copy only if a mergeable value is inside
        for i, (k, v) in enumerate(value.items()):
            nv = _to_plain(v, argument, depth + 1)
            if nv is not v and out is None:
                out = dict(itertools.islice(value.items(), i))
            if out is not None:
                out[k] = nv
        return value if out is None else out
    return value


class _NotJson(Exception):
    """Internal: the value holds something JSON cannot carry exactly; use the frame."""


_quote = encode_basestring  # what json.dumps(ensure_ascii=False) uses


def _text_blob(value: Any) -> bytes:
    """Text or JSON bytes of a value of exact JSON types; :class:`_NotJson` for any other."""
    if type(value) is str:
        data = value.encode()  # UnicodeEncodeError: a lone surrogate, the codec's to report
        return data if _read_text(value) is _NOT_JSON else _quote(value).encode() + b"\n"
    return (_json(value, "", 0) + "\n").encode()


def _json(value: Any, pad: str, depth: int) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, refusing what the codec would.

    Written out because ``json`` only has its C encoder without ``indent``: this is ~3x faster.
    Ints outside the codec's range and nesting past its depth raise :class:`_NotJson`, so the
    codec then reports them (a cycle ends there too).
    """
    t = type(value)
    if t is str:
        return _quote(value)
    if t is int:
        if codec._INT_MIN <= value < codec._INT_LIMIT:
            return int.__repr__(value)
        raise _NotJson
    if t is dict or t is list:
        if depth >= codec.MAX_DEPTH:
            raise _NotJson
        if not value:
            return "{}" if t is dict else "[]"
        inner = pad + "  "
        parts = []
        if t is dict:
            for k, v in value.items():
                if type(k) is not str:
                    raise _NotJson
                parts.append(f"{inner}{_quote(k)}: {_json(v, inner, depth + 1)}")
            return "{\n" + ",\n".join(parts) + f"\n{pad}}}"
        for v in value:
            parts.append(inner + _json(v, inner, depth + 1))
        return "[\n" + ",\n".join(parts) + f"\n{pad}]"
    if t is float:
        if math.isfinite(value):
            return float.__repr__(value)
        raise _NotJson
    if t is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    raise _NotJson


def _json_ready(value: Any) -> Any:
    """``value`` as plain JSON types (subclasses made plain, as the codec stores them).

    Only called on values the codec accepted, so ranges, depth and cycles are already checked.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        if math.isfinite(value):
            return value
        raise _NotJson
    if t is dict:
        return {k if type(k) is str else str(k): _json_ready(v) for k, v in value.items()}
    if t is list:
        return [_json_ready(v) for v in value]
    if t in (tuple, bytes, bytearray) or typed_kind(value):
        raise _NotJson
    for base in (int, float, str):  # subclasses, e.g. IntEnum: the plain value
        if isinstance(value, base):
            return _json_ready(base(value))
    if isinstance(value, dict):
        return _json_ready(dict(value))
    if isinstance(value, list):
        return _json_ready(list(value))
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _json_ready(value.item())
    raise _NotJson  # e.g. a bytes subclass


# -- reading --------------------------------------------------------------------------------


class _Marker:
    def __repr__(self) -> str:
        return "NOT_JSON"


_NOT_JSON: Final = _Marker()


def _parse_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError("number overflows a float")
    return x


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


_JSON_START = re.compile(r'[ \t\n\r]*[{\["\-0-9tfn]').match
_LONG_NUMBER = re.compile(r"[0-9]{19}").search  # every int out of the codec's range has 19+
_DECODER = JSONDecoder(parse_float=_parse_float, parse_constant=_refuse_constant)


def _read_text(text: str) -> Any:
    """The value webstore would have written as ``text``, or :data:`_NOT_JSON`."""
    start = _JSON_START(text)
    if start is None:  # most text: no parse attempt, no exception
        return _NOT_JSON
    try:  # json.loads minus its whitespace handling, done here: ~2x faster on small values
        value, end = _DECODER.raw_decode(text, start.end() - 1)
    except (ValueError, RecursionError):
        return _NOT_JSON
    if text[end:].strip(" \t\n\r"):
        return _NOT_JSON  # more after the value
    escaped = "\\u" in text  # an escape may spell a lone surrogate or the reserved key
    if escaped or _LONG_NUMBER(text) or (len(text) > codec.MAX_DEPTH and
                                         text.count("[") + text.count("{") > codec.MAX_DEPTH):
        try:  # ints out of range, nesting too deep, lone surrogates: as the codec says
            codec.encode(value)
        except UnsupportedValue:
            return _NOT_JSON
    if escaped or TAG in text:
        try:
            return _from_plain(value, strict=True)
        except _Malformed:
            return _NOT_JSON
    return value


class _Malformed(Exception):
    """Internal: a ``__webstore__`` object webstore would not have written."""


_TAG_KEYS: Final = {"counter": ("v",), "lww": ("v", "t", "w"), "awset": ("v",)}


def _check_tagged(value: dict[str, Any]) -> None:
    """Raise :class:`_Malformed` unless ``value`` has the shape :func:`_to_plain` gives."""
    tag = value[TAG]
    if tag not in _TAG_KEYS or sorted(value) != sorted((TAG, *_TAG_KEYS[tag])):
        raise _Malformed
    v = value["v"]
    if tag == "counter" and type(v) is not int:
        raise _Malformed
    if tag == "awset" and (type(v) is not list or not all(
            x is None or type(x) in _SCALAR_TYPES for x in v)):
        raise _Malformed


def _from_plain(value: Any, strict: bool = False) -> Any:
    if type(value) is dict:
        if TAG in value:
            if strict:
                _check_tagged(value)
            tag = value[TAG]
            if tag == "counter":
                return Counter(value["v"])
            if tag == "lww":
                return LastWriterWins(_from_plain(value["v"], strict), value["t"], value["w"])
            if tag == "awset":
                return AddWinsSet(value["v"])
        return {k: _from_plain(v, strict) for k, v in value.items()}
    return value  # lists are not searched: a Counter cannot be put in one


def decode_value(data: bytes, path: str = "") -> Any:
    """The value stored in a blob (mergeable types restored); see the module docs."""
    if data[:1] == _FRAME_BYTE:
        try:
            return _from_plain(codec.decode(data, path))
        except IntegrityError:  # the object hash held, so not a frame: a file added with Git
            return bytes(data)
    try:
        text = str(data, "utf-8")
    except UnicodeDecodeError:
        return bytes(data)
    value = _read_text(text)
    return text if value is _NOT_JSON else value
