"""Layout 2 of the key-value codec (values whose data a runtime keeps apart, the JS API's),
and batches of layout-1 frames decoded as single values are.

The browser side (IndexedDB records, JS reads, the 0.1.0 fixture) is
``tests/browser/test_kv_layout.py``; here the codec's rules, on CPython.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

import webstore
from webstore.errors import IntegrityError, InvalidArgument, UnsupportedValue
from webstore.kv.codec import (
    HEAD_BYTES,
    decode,
    decode_many,
    encode,
    encode_many,
    parse_head,
    parts_head,
)
from webstore.kv.typed import TypedArray

DATA = TypedArray.from_values("Float64Array", [1.5, -2.0, 3.25, 1e300]).data


def _frame(kind: str, data: bytes) -> bytes:
    return parts_head(kind, len(data), hashlib.sha256(data).digest()) + data


def test_head_and_data_decode_as_the_value() -> None:
    assert decode(_frame("Float64Array", DATA)) == TypedArray("Float64Array", DATA)
    assert decode(_frame("bytes", b"\x00\xff")) == b"\x00\xff"
    assert decode(_frame("bytes", b"")) == b""
    head = parts_head("Int16Array", 6, hashlib.sha256(b"abcdef").digest())
    assert parse_head(head) == ("Int16Array", hashlib.sha256(b"abcdef").digest(), 3)
    assert parse_head(parts_head("bytes", 1, bytes(32))) == ("bytes", bytes(32), -1)


@pytest.mark.parametrize("kind", ["Float64Array", "bytes"])
def test_every_flipped_bit_is_caught(kind: str) -> None:
    frame = _frame(kind, DATA)
    for i in range(len(frame) * 8):
        bad = bytearray(frame)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(IntegrityError) as caught:
            decode(bytes(bad), "k")
        assert caught.value.key == "k"


def test_truncated_and_bad_heads_are_integrity_errors() -> None:
    frame = _frame("Float64Array", DATA)
    for cut in (2, 10, HEAD_BYTES, HEAD_BYTES + 5, len(frame) - 1):
        with pytest.raises(IntegrityError):
            decode(frame[:cut], "k")
    with pytest.raises(IntegrityError):
        parse_head(frame, "k")  # head and data: not a head


def test_bad_parts_are_refused_before_writing() -> None:
    with pytest.raises(UnsupportedValue):
        parts_head("DataView", 8, bytes(32))
    with pytest.raises(UnsupportedValue):
        parts_head("Float64Array", 12, bytes(32))  # not whole elements
    with pytest.raises(ValueError):
        parts_head("bytes", 1, bytes(31))


def test_python_keeps_writing_layout_1() -> None:
    assert encode(TypedArray("Float64Array", DATA))[1] == 2


def test_backends_without_split_values_refuse_set_parts(tmp_path) -> None:
    async def run() -> None:
        store = await webstore.open("s", "sqlite", path=str(tmp_path / "s.db"))
        assert not store.backend.capabilities.split_values
        with pytest.raises(InvalidArgument):
            await store.set_parts("k", parts_head("bytes", 1, bytes(32)), b"x")
        await store.set("k", 1)
        assert await store.get_parts("k") == 1  # the plain value where nothing is split
        await store.close()

    asyncio.run(run())


def test_batches_decode_as_single_values_and_name_a_corrupt_one() -> None:
    values = [b"", b"\xc4\x01", b"x" * 255, b"y" * 256, b"z" * 70_000, "s", 1, None, [b"a"],
              (1, 2), bytearray(b"ab")]
    frames = encode_many(values)
    assert frames == [encode(v) for v in values]
    keys = [f"p:{i}" for i in range(len(values))]
    got = decode_many([*frames, None], [*keys, "p:gone"], "dflt", strip=2)
    assert got == [*values, "dflt"]
    assert [type(v) for v in got[:-1]] == [type(v) for v in values]
    for i, frame in enumerate(frames[:4]):  # bytes up to 256 bytes: the sliced fast path
        for at in range(0, len(frame), max(1, len(frame) // 7)):
            bad = bytearray(frame)
            bad[at] ^= 0x10
            with pytest.raises(IntegrityError) as caught:
                decode_many([*frames[:i], bytes(bad), *frames[i + 1:]], keys, strip=2)
            assert caught.value.key == str(i)
