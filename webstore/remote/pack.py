"""Git packfiles (``gitformat-pack``) with SHA-256 object names: read any, write without deltas.

Own code, not dulwich. dulwich reads SHA-256 packs, but it is not a dependency of webstore,
brings urllib3 with it, and adds ~130 ms to a Pyodide cold start for what is ~200 lines here:
a pack is a header, zlib streams with a small type/size prefix, two delta encodings and a
trailing SHA-256. Reading resolves ``OFS_DELTA`` and ``REF_DELTA`` (bases must be in the same
pack: webstore never asks for thin packs) and verifies the trailing checksum first, so a
truncated or altered pack raises :class:`~webstore.errors.IntegrityError` before any object
comes out. Writing stores every object whole: a server must accept a pack without deltas.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from webstore.errors import IntegrityError
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex

__all__ = ["DEFAULT_MAX_OBJECT_BYTES", "TYPE_CODES", "apply_delta", "read_pack", "write_pack"]

#: Pack type code of each object type (5 is reserved, 6 and 7 are deltas).
TYPE_CODES = {b"commit": 1, b"tree": 2, b"blob": 3, b"tag": 4}
_TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}
_OFS_DELTA, _REF_DELTA = 6, 7
_CHUNK = 1 << 16
#: Default cap on one object's size while reading (a declared size is checked before inflating).
DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024


def _fail(message: str) -> IntegrityError:
    return IntegrityError(f"bad pack: {message}", key="pack")


def _inflate(data: bytes, pos: int, size: int, end: int) -> tuple[bytes, int]:
    """Inflate the zlib stream at ``pos`` (before ``end``) that must yield ``size`` bytes."""
    view = memoryview(data)[:end]
    d = zlib.decompressobj()
    out: list[bytes] = []
    got = 0
    at = pos
    try:
        while not d.eof:
            if at >= end:
                raise _fail(f"zlib stream at byte {pos} is truncated")
            chunk = view[at:at + _CHUNK]
            at += len(chunk)
            piece = d.decompress(chunk, size + 1 - got)
            got += len(piece)
            out.append(piece)
            if got > size:
                raise _fail(f"object at byte {pos} inflates past its declared {size} bytes")
            while d.unconsumed_tail and not d.eof:  # output limit reached mid-chunk
                piece = d.decompress(d.unconsumed_tail, size + 1 - got)
                got += len(piece)
                out.append(piece)
                if got > size:
                    raise _fail(f"object at byte {pos} inflates past its declared {size} bytes")
    except zlib.error as exc:
        raise _fail(f"zlib stream at byte {pos} is corrupt ({exc})") from None
    if got != size:
        raise _fail(f"object at byte {pos} inflates to {got} bytes, header says {size}")
    return b"".join(out), at - len(d.unused_data)


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Little-endian base-128 integer (delta headers)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise _fail("delta header is truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def apply_delta(base: bytes, delta: bytes, limit: int = DEFAULT_MAX_OBJECT_BYTES) -> bytes:
    """Rebuild an object from its base and a Git delta (copy / insert instructions).

    The result's declared size is checked against ``limit`` before building it, and building
    stops as soon as it passes that size: a small delta cannot expand without bound.
    """
    try:
        return _apply_delta(base, delta, limit)
    except IndexError:
        raise _fail("delta is truncated") from None


def _apply_delta(base: bytes, delta: bytes, limit: int) -> bytes:
    src_size, pos = _varint(delta, 0)
    dst_size, pos = _varint(delta, pos)
    if src_size != len(base):
        raise _fail(f"delta expects a {src_size}-byte base, got {len(base)} bytes")
    if dst_size > limit:
        raise _fail(f"delta makes a {dst_size}-byte object, over max_object_bytes={limit}")
    out = bytearray()
    end = len(delta)
    while pos < end:
        op = delta[pos]
        pos += 1
        if op & 0x80:  # copy from base: offset (4 bytes) and size (3 bytes), each byte optional
            offset = size = 0
            for i in range(4):
                if op & (1 << i):
                    offset |= delta[pos] << (8 * i)
                    pos += 1
            for i in range(3):
                if op & (0x10 << i):
                    size |= delta[pos] << (8 * i)
                    pos += 1
            size = size or 0x10000
            if offset + size > len(base) or pos > end:
                raise _fail("delta copies past the end of its base")
            out += base[offset:offset + size]
            if len(out) > dst_size:
                raise _fail(f"delta makes more than the {dst_size} bytes its header says")
        elif op:  # insert the next `op` bytes
            if pos + op > end:
                raise _fail("delta insert runs past the end of the delta")
            out += delta[pos:pos + op]
            pos += op
        else:
            raise _fail("delta has the reserved instruction 0")
    if len(out) != dst_size:
        raise _fail(f"delta makes {len(out)} bytes, its header says {dst_size}")
    return bytes(out)


def _raw(type_name: bytes, body: bytes) -> bytes:
    return b"%s %d\x00%s" % (type_name, len(body), body)


def read_pack(data: bytes, *, max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
              fmt: ObjectFormat = SHA256) -> list[tuple[ObjectId, bytes]]:
    r"""Every object of a pack as ``(id, b"<type> <len>\\0" + body)``, in pack order.

    Ids and the trailing checksum are in the repo's object format ``fmt``. The checksum is
    checked before anything else; any malformed part, a missing delta base, or an object over
    ``max_object_bytes`` raises :class:`IntegrityError`.
    """
    width = fmt.id_length
    if len(data) < 12 + width or data[:4] != b"PACK":
        raise _fail("no PACK header (truncated or not a pack)")
    body, trailer = data[:-width], data[-width:]
    if fmt.hash_object(body) != trailer:
        raise _fail(f"trailing {fmt.name} checksum does not match (truncated or altered)")
    version = int.from_bytes(data[4:8], "big")
    if version not in (2, 3):
        raise _fail(f"unsupported pack version {version}")
    count = int.from_bytes(data[8:12], "big")
    try:
        entries, order = _scan(data, count, len(body), max_object_bytes, width)
    except IndexError:
        raise _fail("an object header runs past the end of the pack") from None
    return _resolve(entries, order, max_object_bytes, fmt)


_Entries = dict[int, tuple[int, bytes, int | bytes | None]]


def _scan(data: bytes, count: int, end: int, max_object_bytes: int, width: int
          ) -> tuple[_Entries, list[int]]:
    """Split the pack into inflated entries keyed by offset, checking every header."""
    # offset -> (type code, body or delta, base offset or base id for deltas)
    entries: _Entries = {}
    order: list[int] = []
    pos = 12
    for _ in range(count):
        start = pos
        if pos >= end:
            raise _fail(f"pack says {count} objects but ends after {len(order)}")
        byte = data[pos]
        pos += 1
        code, size, shift = (byte >> 4) & 7, byte & 0x0F, 4
        while byte & 0x80:
            if pos >= end:
                raise _fail(f"object header at byte {start} is truncated")
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
        if size > max_object_bytes:
            raise _fail(f"object at byte {start} is {size} bytes, over max_object_bytes="
                        f"{max_object_bytes}")
        base: int | bytes | None = None
        if code == _OFS_DELTA:
            byte = data[pos]
            pos += 1
            back = byte & 0x7F
            while byte & 0x80:
                byte = data[pos]
                pos += 1
                back = ((back + 1) << 7) | (byte & 0x7F)
            base = start - back
            if back <= 0 or base not in entries:
                raise _fail(f"delta at byte {start} names no object at byte {base}")
        elif code == _REF_DELTA:
            base = data[pos:pos + width]
            pos += width
        elif code not in _TYPE_NAMES:
            raise _fail(f"object at byte {start} has unknown type code {code}")
        content, pos = _inflate(data, pos, size, end)
        entries[start] = (code, content, base)
        order.append(start)
    if pos != end:
        raise _fail(f"{end - pos} stray bytes after the last object")
    return entries, order


def _resolve(entries: _Entries, order: list[int], limit: int,
             fmt: ObjectFormat) -> list[tuple[ObjectId, bytes]]:
    """Apply deltas (in any order of dependency) and name every object."""
    done: dict[int, tuple[bytes, bytes]] = {}  # offset -> (type name, body)
    by_id: dict[bytes, int] = {}
    out: dict[int, ObjectId] = {}

    def finish(offset: int, type_name: bytes, content: bytes) -> None:
        done[offset] = (type_name, content)
        oid = fmt.hash_object(_raw(type_name, content))
        out[offset] = oid
        by_id[oid] = offset

    for offset in order:
        code, content, _ = entries[offset]
        if code in _TYPE_NAMES:
            finish(offset, _TYPE_NAMES[code], content)
    pending = [o for o in order if o not in done]
    while pending:
        left: list[int] = []
        for offset in pending:
            _, delta, base = entries[offset]
            base_at = by_id.get(base) if isinstance(base, bytes) else base
            if base_at is None or base_at not in done:
                left.append(offset)
                continue
            type_name, base_body = done[base_at]
            target = apply_delta(base_body, delta, limit)
            finish(offset, type_name, target)
        if len(left) == len(pending):
            missing = entries[left[0]][2]
            name = to_hex(ObjectId(missing)) if isinstance(missing, bytes) else f"@{missing}"
            raise _fail(f"{len(left)} deltas have no base in the pack (first: {name})")
        pending = left
    return [(out[o], _raw(*done[o])) for o in order]


def _object_header(code: int, size: int) -> bytes:
    byte = (code << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    out.append(byte)
    return bytes(out)


def write_pack(objects: Iterable[tuple[ObjectId, bytes]], fmt: ObjectFormat = SHA256) -> bytes:
    """A version-2 pack of whole (undeltified) objects with its trailer in ``fmt``."""
    parts: list[bytes] = []
    count = 0
    for oid, raw in objects:
        nul = raw.find(b"\x00")
        type_name, _, _ = raw[:nul].partition(b" ")
        code = TYPE_CODES.get(type_name)
        if nul < 0 or code is None:
            raise IntegrityError(f"object {to_hex(oid)} is not a Git object", key=to_hex(oid))
        content = raw[nul + 1:]
        parts.append(_object_header(code, len(content)))
        parts.append(zlib.compress(content))
        count += 1
    head = b"PACK" + (2).to_bytes(4, "big") + count.to_bytes(4, "big")
    body = head + b"".join(parts)
    return body + fmt.hash_object(body)
