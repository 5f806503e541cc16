"""Git's smart protocol, sans I/O: request bodies to send and parsers of the answers.

Fetching speaks protocol v2 (``gitprotocol-v2``): ``ls-refs`` and ``fetch`` with
``object-format=sha256`` repeated on every command, the pack arriving on side-band 1.
Pushing speaks v0/v1 ``receive-pack`` (there is no v2 push): one ``old new ref`` line per
update, the first carrying the capabilities, then the pack; the server checks each ``old`` id
before moving the ref, which makes a push a compare-and-set. The answer is parsed into a
:class:`Report`; mapping it to errors is the caller's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from webstore.errors import IntegrityError, StorageUnavailable
from webstore.remote.pktline import DELIM, FLUSH, Special, encode, encode_lines, parse
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex

__all__ = [
    "AGENT",
    "Advertisement",
    "RemoteRef",
    "Report",
    "fetch_request",
    "ls_refs_request",
    "parse_fetch_response",
    "parse_ls_refs",
    "parse_receive_advertisement",
    "parse_report",
    "parse_v2_advertisement",
    "receive_pack_request",
]

AGENT = "webstore"


def _protocol_error(message: str) -> IntegrityError:
    return IntegrityError(f"malformed answer from the Git server: {message}", key="protocol")


def _mismatch(server: str, fmt: ObjectFormat) -> StorageUnavailable:
    return StorageUnavailable(
        f"the Git repository uses object format {server} but this webstore repo uses "
        f"{fmt.name}; push or pull only between repos of one format (make the server's with "
        f"git init --bare --object-format={fmt.name}, or open the webstore repo with "
        f"object_format={server!r})", backend="git-remote", reason="object format")


def _parse_id(text: bytes, fmt: ObjectFormat) -> ObjectId:
    if len(text) != fmt.hex_length:
        server = {40: "sha1", 64: "sha256"}.get(len(text), f"with {len(text)}-digit ids")
        raise _mismatch(server, fmt)
    try:
        return ObjectId(bytes.fromhex(text.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        raise _protocol_error(f"bad object id {text[:80]!r}") from None


def _server_error(line: bytes) -> StorageUnavailable:
    text = line[4:].decode("utf-8", "replace").strip()
    return StorageUnavailable(f"the Git server reported an error: {text}",
                              backend="git-remote", reason=text)


def _lines(body: bytes) -> Iterator[bytes | Special]:
    """Packets with a trailing newline removed; an ``ERR`` packet raises."""
    for pkt in parse(body):
        if isinstance(pkt, Special):
            yield pkt
            continue
        if pkt.startswith(b"ERR "):
            raise _server_error(pkt)
        yield pkt.removesuffix(b"\n")


def _skip_service_header(packets: list[bytes | Special]) -> list[bytes | Special]:
    """Drop ``# service=...`` and its flush, which smart HTTP puts before the real answer."""
    if packets and isinstance(packets[0], bytes) and packets[0].startswith(b"# service="):
        return packets[2:] if len(packets) > 1 and packets[1] is Special.FLUSH else packets[1:]
    return packets


# -- protocol v2: capabilities, ls-refs, fetch ----------------------------------------------

def parse_v2_advertisement(body: bytes) -> dict[str, str]:
    """Capabilities of a v2 server (``name`` or ``name=value``; value ``""`` when none)."""
    packets = _skip_service_header(list(_lines(body)))
    if not packets or packets[0] != b"version 2":
        raise StorageUnavailable(
            "the Git server does not speak protocol version 2 (needed to fetch)",
            backend="git-remote", reason="protocol v2")
    caps: dict[str, str] = {}
    for pkt in packets[1:]:
        if isinstance(pkt, Special):
            break
        name, _, value = pkt.decode("utf-8", "replace").partition("=")
        caps[name] = value
    return caps


def _check_v2(caps: dict[str, str], command: str, fmt: ObjectFormat) -> None:
    if command not in caps:
        raise StorageUnavailable(f"the Git server does not offer the v2 command {command!r}",
                                 backend="git-remote", reason=command)
    formats = caps.get("object-format", "sha1").split()
    if fmt.name not in formats:
        raise _mismatch(caps.get("object-format", "sha1"), fmt)


def _command(caps: dict[str, str], command: str, args: Iterable[str],
             fmt: ObjectFormat) -> bytes:
    _check_v2(caps, command, fmt)
    head = [f"command={command}"]
    if "object-format" in caps:  # said on every command once the server speaks of formats
        head.append(f"object-format={fmt.name}")
    if "agent" in caps:
        head.append(f"agent={AGENT}")
    return (encode_lines(head) + DELIM + encode_lines(args)
            + FLUSH)


def ls_refs_request(caps: dict[str, str], fmt: ObjectFormat = SHA256,
                    prefixes: Iterable[str] = ("refs/heads/", "refs/tags/")) -> bytes:
    """``ls-refs`` of branches and tags, with annotated tags peeled."""
    return _command(caps, "ls-refs", ["peel", "symrefs",
                                      *(f"ref-prefix {p}" for p in prefixes)], fmt)


@dataclass(frozen=True)
class RemoteRef:
    """One ref of the server: its Git name, the object it names and, for a tag, its commit."""

    name: str
    id: ObjectId
    peeled: ObjectId | None = None
    symref_target: str | None = None


def parse_ls_refs(body: bytes, fmt: ObjectFormat = SHA256) -> list[RemoteRef]:
    """The answer to ``ls-refs``: ``id name [symref-target:x] [peeled:y]`` lines."""
    refs = []
    for pkt in _lines(body):
        if isinstance(pkt, Special):
            break
        parts = pkt.split(b" ")
        if len(parts) < 2:
            raise _protocol_error(f"ls-refs line {pkt[:80]!r}")
        peeled: ObjectId | None = None
        target: str | None = None
        for attr in parts[2:]:
            if attr.startswith(b"peeled:"):
                peeled = _parse_id(attr[7:], fmt)
            elif attr.startswith(b"symref-target:"):
                target = attr[14:].decode("utf-8", "replace")
        if parts[0] == b"unborn":
            continue
        refs.append(RemoteRef(parts[1].decode("utf-8", "replace"), _parse_id(parts[0], fmt),
                              peeled, target))
    return refs


def fetch_request(caps: dict[str, str], wants: Iterable[ObjectId],
                  haves: Iterable[ObjectId], fmt: ObjectFormat = SHA256) -> bytes:
    """One stateless ``fetch`` round: every want and have, then ``done``."""
    args = ["ofs-delta", "no-progress"]
    args += [f"want {to_hex(w)}" for w in wants]
    args += [f"have {to_hex(h)}" for h in haves]
    args.append("done")
    return _command(caps, "fetch", args, fmt)


def _demux(packets: Iterable[bytes | Special]) -> Iterator[bytes]:
    """Side-band data (band 1); band 2 is progress (dropped), band 3 a fatal error."""
    for pkt in packets:
        if isinstance(pkt, Special):
            return
        if not pkt:
            continue
        band, data = pkt[0], pkt[1:]
        if band == 1:
            yield data
        elif band == 3:
            text = data.decode("utf-8", "replace").strip()
            raise StorageUnavailable(f"the Git server reported an error: {text}",
                                     backend="git-remote", reason=text)
        elif band != 2:
            raise _protocol_error(f"unknown side-band {band}")


def parse_fetch_response(body: bytes) -> bytes:
    """The pack carried in the ``packfile`` section of a v2 ``fetch`` answer."""
    packets: Iterator[bytes | Special] = parse(body)
    for pkt in packets:
        if isinstance(pkt, Special):
            continue
        if pkt.startswith(b"ERR "):
            raise _server_error(pkt)
        if pkt.removesuffix(b"\n") == b"packfile":
            return b"".join(_demux(packets))
    raise _protocol_error("the fetch answer has no packfile section")


# -- v0 receive-pack: push ------------------------------------------------------------------

@dataclass
class Advertisement:
    """A v0 ref advertisement: refs by Git name, and the server's capabilities."""

    refs: dict[str, ObjectId] = field(default_factory=dict)
    capabilities: dict[str, str] = field(default_factory=dict)


def parse_receive_advertisement(body: bytes, fmt: ObjectFormat = SHA256) -> Advertisement:
    r"""``id name\0caps`` then ``id name`` lines (an empty repo sends ``capabilities^{}``)."""
    adv = Advertisement()
    packets = _skip_service_header(list(_lines(body)))
    for i, pkt in enumerate(packets):
        if isinstance(pkt, Special):
            break
        line = pkt
        if i == 0:
            line, _, caps = pkt.partition(b"\x00")
            for cap in caps.decode("utf-8", "replace").split():
                key, _, value = cap.partition("=")
                adv.capabilities[key] = value
        oid, _, name = line.partition(b" ")
        if name != b"capabilities^{}":
            adv.refs[name.decode("utf-8", "replace")] = _parse_id(oid, fmt)
    return adv


def receive_pack_request(adv: Advertisement,
                         updates: list[tuple[str, ObjectId | None, ObjectId | None]],
                         pack: bytes | None, fmt: ObjectFormat = SHA256
                         ) -> tuple[bytes, bool]:
    """Body of a push and whether the answer comes side-band multiplexed.

    ``updates`` are ``(git ref name, old or None, new or None)``; the pack is sent when any
    update creates or moves a ref.
    """
    if "report-status" not in adv.capabilities:
        raise StorageUnavailable("the Git server does not offer report-status; refusing to "
                                 "push blind", backend="git-remote", reason="report-status")
    sideband = "side-band-64k" in adv.capabilities
    caps = ["report-status", f"agent={AGENT}"]
    if "object-format" in adv.capabilities:
        caps.insert(1, f"object-format={fmt.name}")
    zero = ObjectId(bytes(fmt.id_length))  # "no such ref" in the old and new columns
    if sideband:
        caps.insert(1, "side-band-64k")
    lines = []
    for i, (ref, old, new) in enumerate(updates):
        line = f"{to_hex(old or zero)} {to_hex(new or zero)} {ref}".encode()
        if i == 0:
            line += b"\x00" + " ".join(caps).encode()
        lines.append(encode(line + b"\n"))
    body = b"".join(lines) + FLUSH
    if any(new is not None for _, _, new in updates):
        body += pack or b""
    return body, sideband


@dataclass
class Report:
    """``report-status``: the unpack result and, per ref, ``None`` (ok) or the reason."""

    unpack: str
    refs: dict[str, str | None] = field(default_factory=dict)


def parse_report(body: bytes, sideband: bool) -> Report:
    """Parse ``unpack ok|<error>`` and ``ok <ref>`` / ``ng <ref> <reason>`` lines."""
    data = b"".join(_demux(parse(body))) if sideband else body
    report: Report | None = None
    for pkt in _lines(data):
        if isinstance(pkt, Special):
            break
        text = pkt.decode("utf-8", "replace")
        if report is None:
            if not text.startswith("unpack "):
                raise _protocol_error(f"report-status starts with {text[:80]!r}")
            report = Report(text[len("unpack "):])
        elif text.startswith("ok "):
            report.refs[text[3:]] = None
        elif text.startswith("ng "):
            ref, _, reason = text[3:].partition(" ")
            report.refs[ref] = reason or "rejected"
        else:
            raise _protocol_error(f"report-status line {text[:80]!r}")
    if report is None:
        raise _protocol_error("empty report-status")
    return report
