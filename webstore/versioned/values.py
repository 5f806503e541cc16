"""Values at paths, and the mergeable value types.

A blob's content is exactly ``webstore.kv.codec.encode(value)``: the same CRC-framed bytes the
key-value store writes, so ``git cat-file -p <commit>:<path>`` prints them unchanged.
Mergeable types are stored as tagged dicts (``{"__webstore__": "counter", "v": 3}``) and come
back as their class; a plain dict is merged key by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webstore.errors import InvalidArgument
from webstore.kv import codec

__all__ = ["TAG", "AddWinsSet", "Counter", "LastWriterWins", "decode_value", "encode_value"]

#: Reserved dict key marking a mergeable value; plain dicts must not use it.
TAG = "__webstore__"


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


def encode_value(value: Any, argument: str = "value") -> bytes:
    """Codec bytes of a value, mergeable types turned into tagged dicts."""
    return codec.encode(_to_plain(value, argument))


def _to_plain(value: Any, argument: str) -> Any:
    if isinstance(value, Counter):
        if type(value.value) is not int:
            raise InvalidArgument(f"{argument}: Counter holds an int", argument=argument)
        return {TAG: "counter", "v": value.value}
    if isinstance(value, LastWriterWins):
        return {TAG: "lww", "v": _to_plain(value.value, argument), "t": value.timestamp,
                "w": value.writer}
    if isinstance(value, AddWinsSet):
        for x in value:
            if not isinstance(x, (str, int, float, bytes, bool)) and x is not None:
                raise InvalidArgument(f"{argument}: AddWinsSet holds only scalars, not "
                                      f"{type(x).__name__}", argument=argument)
        return {TAG: "awset", "v": sorted(value, key=_elem_key)}
    if type(value) is dict:
        if TAG in value:
            raise InvalidArgument(f"{argument}: dict key {TAG!r} is reserved", argument=argument)
        return {k: _to_plain(v, argument) for k, v in value.items()}
    return value


def _from_plain(value: Any) -> Any:
    if type(value) is dict:
        tag = value.get(TAG)
        if tag == "counter":
            return Counter(value["v"])
        if tag == "lww":
            return LastWriterWins(_from_plain(value["v"]), value["t"], value["w"])
        if tag == "awset":
            return AddWinsSet(value["v"])
        return {k: _from_plain(v) for k, v in value.items()}
    return value


def decode_value(data: bytes, path: str = "") -> Any:
    """The value stored in a blob (mergeable types restored)."""
    return _from_plain(codec.decode(data, path))
