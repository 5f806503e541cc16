"""pkt-line, pack and protocol units, against packs made by git itself."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest
from gitserver import git

from webstore.errors import IntegrityError
from webstore.remote import pktline, protocol
from webstore.remote.pack import apply_delta, read_pack, write_pack
from webstore.versioned.ids import hash_object


def test_pktline_roundtrip_and_specials() -> None:
    data = pktline.encode("hello\n") + pktline.DELIM + pktline.encode(b"\x01x") + pktline.FLUSH
    assert data[:4] == b"000a"
    assert list(pktline.parse(data)) == [b"hello\n", pktline.Special.DELIM, b"\x01x",
                                         pktline.Special.FLUSH]
    assert pktline.encode_lines(["a", b"b\n"]) == b"0006a\n0006b\n"


@pytest.mark.parametrize("bad", [b"00", b"zzzz", b"0003", b"0009abc"])
def test_pktline_malformed(bad: bytes) -> None:
    with pytest.raises(IntegrityError):
        list(pktline.parse(bad))


def test_pktline_payload_limits() -> None:
    with pytest.raises(ValueError, match="pkt-line"):
        pktline.encode(b"")
    with pytest.raises(ValueError, match="pkt-line"):
        pktline.encode(b"x" * (pktline.MAX_PAYLOAD + 1))


def _git_repo(tmp_path: Path, files: int = 30) -> Path:
    work = tmp_path / "work"
    git("init", "-q", "--object-format=sha256", "-b", "main", work)
    base = "".join(f"line {i} of a file that git will store as a delta\n" for i in range(400))
    for i in range(files):
        (work / f"f{i}.txt").write_text(base + f"file {i}\n")
    git("-C", work, "add", ".")
    git("-C", work, "commit", "-qm", "one")
    for i in range(0, files, 3):
        (work / f"f{i}.txt").write_text(base + f"changed {i}\n")
    git("-C", work, "commit", "-qam", "two")
    return work


def _objects(work: Path) -> dict[str, bytes]:
    """Every object of a git repo as hex id -> raw loose serialisation (via cat-file)."""
    ids = git("-C", work, "rev-list", "--objects", "--all").stdout.decode().split("\n")
    out = {}
    for line in ids:
        if not line:
            continue
        oid = line.split(" ")[0]
        kind = git("-C", work, "cat-file", "-t", oid).stdout.strip()
        body = git("-C", work, "cat-file", kind.decode(), oid).stdout
        out[oid] = b"%s %d\x00%s" % (kind, len(body), body)
    return out


@pytest.mark.parametrize("delta_flag", ["--delta-base-offset", "--no-delta-base-offset"])
def test_read_pack_from_git_with_deltas(tmp_path: Path, delta_flag: str) -> None:
    work = _git_repo(tmp_path)
    pack = git("-C", work, "pack-objects", "--stdout", "--revs", "--window=50", "--depth=50",
               delta_flag, input=b"main\n").stdout
    idx = tmp_path / "p.pack"
    idx.write_bytes(pack)
    git("-C", work, "index-pack", "-o", tmp_path / "p.idx", idx)
    listing = git("-C", work, "verify-pack", "-v", tmp_path / "p.idx").stdout.decode()
    deltas = [ln for ln in listing.splitlines() if len(ln.split()) == 7]
    assert len(deltas) >= 10, "the fixture pack should hold deltas"
    objects = read_pack(pack)
    expected = _objects(work)
    assert {oid.hex(): raw for oid, raw in objects} == expected
    assert all(hash_object(raw) == oid for oid, raw in objects)


def test_corrupt_or_truncated_pack_is_refused(tmp_path: Path) -> None:
    work = _git_repo(tmp_path, files=6)
    pack = git("-C", work, "pack-objects", "--stdout", "--revs", input=b"main\n").stdout
    assert read_pack(pack)
    flipped = bytearray(pack)
    flipped[len(pack) // 2] ^= 0x40
    for bad in (bytes(flipped), pack[:-1], pack[: len(pack) // 2], pack[:20], b""):
        with pytest.raises(IntegrityError, match="bad pack"):
            read_pack(bad)


def _repack(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def test_pack_with_valid_checksum_but_broken_content_is_refused() -> None:
    blob = b"blob 5\x00hello"
    good = write_pack([(hash_object(blob), blob)])
    assert read_pack(good) == [(hash_object(blob), blob)]
    body = bytearray(good[:-32])
    body[11] = 2  # claims two objects, holds one
    with pytest.raises(IntegrityError, match="2 objects"):
        read_pack(_repack(bytes(body)))
    # header says 5 bytes, stream inflates to 6
    bad = good[:12] + bytes([0x35]) + zlib.compress(b"hello!")
    with pytest.raises(IntegrityError, match="declared"):
        read_pack(_repack(bad))
    # a REF_DELTA whose base is not in the pack (webstore never asks for thin packs)
    delta = bytes([5, 5, 0x90, 5])  # copy 5 bytes from offset 0
    thin = good[:8] + (1).to_bytes(4, "big") + bytes([0x74]) + b"\x11" * 32 + \
        zlib.compress(delta)
    with pytest.raises(IntegrityError, match="no base"):
        read_pack(_repack(thin))
    with pytest.raises(IntegrityError, match="over max_object_bytes"):
        read_pack(good, max_object_bytes=4)


def test_apply_delta_rejects_out_of_range_copies() -> None:
    assert apply_delta(b"hello", bytes([5, 7, 0x90, 5, 2]) + b"!!") == b"hello!!"
    with pytest.raises(IntegrityError):
        apply_delta(b"hello", bytes([5, 9, 0x90, 9]))
    with pytest.raises(IntegrityError):
        apply_delta(b"hello", bytes([5, 5, 0x91]))  # truncated copy instruction
    bomb = bytes([5, 0x80, 0x80, 0x80, 0x80, 0x04]) + bytes([0x90, 5]) * 1000  # claims 1 GiB
    with pytest.raises(IntegrityError, match="over max_object_bytes"):
        apply_delta(b"hello", bomb, limit=1 << 20)
    liar = bytes([5, 10]) + bytes([0x90, 5]) * 1000  # says 10 bytes, copies 5000
    with pytest.raises(IntegrityError, match="more than the 10 bytes"):
        apply_delta(b"hello", liar)


def test_written_pack_passes_git_index_pack_strict(tmp_path: Path) -> None:
    work = _git_repo(tmp_path, files=4)
    objects = [(bytes.fromhex(k), v) for k, v in _objects(work).items()]
    pack = write_pack(objects)  # type: ignore[arg-type]
    bare = tmp_path / "bare.git"
    git("init", "-q", "--bare", "--object-format=sha256", bare)
    git("-C", bare, "index-pack", "--strict", "--stdin", input=pack)
    assert {oid.hex() for oid, _ in read_pack(pack)} == {k.hex() for k, _ in objects}


def test_report_status_parsing() -> None:
    inner = pktline.encode_lines(["unpack ok", "ok refs/heads/a", "ng refs/heads/b failed "
                                  "to update ref"]) + pktline.FLUSH
    sideband = b"".join(pktline.encode(b"\x01" + inner[i:i + 10])
                        for i in range(0, len(inner), 10)) + pktline.FLUSH
    for body, band in ((inner, False), (sideband, True)):
        report = protocol.parse_report(body, band)
        assert report.unpack == "ok"
        assert report.refs == {"refs/heads/a": None, "refs/heads/b": "failed to update ref"}
