"""pkt-line framing (Git's ``gitprotocol-common``): every message of the smart protocol.

A pkt-line is four hex digits giving the length (header included) and the payload; ``0000``
(flush), ``0001`` (delimiter) and ``0002`` (response end) are the special packets. Own code,
not dulwich: it is forty lines and must run unchanged under Pyodide.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator

from webstore.errors import IntegrityError

__all__ = ["DELIM", "FLUSH", "MAX_PAYLOAD", "RESPONSE_END", "Special", "encode", "encode_lines",
           "parse"]

FLUSH = b"0000"
DELIM = b"0001"
RESPONSE_END = b"0002"
#: Largest payload a pkt-line may carry (65520 bytes in total, minus the 4-byte header).
MAX_PAYLOAD = 65516


class Special(enum.IntEnum):
    """The length-only packets, as :func:`parse` yields them."""

    FLUSH = 0
    DELIM = 1
    RESPONSE_END = 2


def encode(payload: bytes | str) -> bytes:
    """One data pkt-line; ``str`` payloads are UTF-8 encoded."""
    data = payload.encode() if isinstance(payload, str) else payload
    if not data or len(data) > MAX_PAYLOAD:
        raise ValueError(f"a pkt-line payload holds 1..{MAX_PAYLOAD} bytes, not {len(data)}")
    return b"%04x" % (len(data) + 4) + data


def encode_lines(lines: Iterable[bytes | str]) -> bytes:
    """Several data pkt-lines, each ending in a newline as text lines should."""
    out = []
    for line in lines:
        data = line.encode() if isinstance(line, str) else line
        out.append(encode(data if data.endswith(b"\n") else data + b"\n"))
    return b"".join(out)


def parse(data: bytes) -> Iterator[bytes | Special]:
    """Packets of ``data`` in order: payload bytes, or a :class:`Special` packet.

    A short or malformed stream raises :class:`IntegrityError`.
    """
    pos, end = 0, len(data)
    while pos < end:
        head = data[pos:pos + 4]
        try:
            size = int(head, 16) if len(head) == 4 else -1
        except ValueError:
            size = -1
        if size < 0 or size == 3 or (size > 4 and pos + size > end):
            raise IntegrityError(f"malformed pkt-line at byte {pos}: {head!r}", key="pkt-line")
        if size < 3:
            yield Special(size)
            pos += 4
        else:
            yield data[pos + 4:pos + size]
            pos += size
