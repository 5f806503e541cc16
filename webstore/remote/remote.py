"""``GitEndpoint``: one Git repository on a smart-HTTP server, seen through a :class:`Transport`.

The wire level: refs, packs, statuses. :class:`webstore.remote.GitRemote` adds what sync does
with them, so it can stand wherever ``push``/``pull``/``fetch``/``clone`` take a repo.

It knows URLs, headers, credentials and HTTP statuses; the wire format is in
:mod:`webstore.remote.protocol`. Credentials (from arguments or the URL's ``user:pass@``) go
only into the ``Authorization`` header: ``url``, ``repr`` and every error message show the URL
without them, and extra headers are never shown at all (they may hold tokens).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping, Sequence

from webstore.errors import AuthenticationFailed, InvalidArgument, RefMoved, StorageUnavailable
from webstore.remote.pack import DEFAULT_MAX_OBJECT_BYTES, read_pack, write_pack
from webstore.remote.protocol import (
    Advertisement,
    RemoteRef,
    fetch_request,
    ls_refs_request,
    parse_fetch_response,
    parse_ls_refs,
    parse_receive_advertisement,
    parse_report,
    parse_v2_advertisement,
    receive_pack_request,
)
from webstore.remote.transport import Transport, redact
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex

__all__ = ["GitEndpoint", "RemoteRef"]

_UPLOAD, _RECEIVE = "git-upload-pack", "git-receive-pack"
#: Reasons a server gives when a ref was not where the push said it was.
_MOVED_REASONS = ("failed to lock", "stale info", "non-fast-forward", "fetch first",
                  "cannot lock ref")


class GitEndpoint:
    """A repository at ``url`` (``http(s)://host/path``, with or without ``.git``).

    ``cors_proxy`` (for pages whose Git server sends no CORS headers, as isomorphic-git's
    ``corsProxy``): requests go to ``<cors_proxy>/<url without its scheme>``; the proxy then
    sees the credentials, so use one you run yourself.
    """

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 headers: Mapping[str, str] | None = None,
                 transport: Transport | None = None, cors_proxy: str | None = None) -> None:
        if type(url) is not str:
            raise InvalidArgument(f"url must be a str, not {type(url).__name__}",
                                  argument="url")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidArgument(f"url must be an http:// or https:// URL, not "
                                  f"{redact(url)!r}", argument="url")
        if username is None and parts.username is not None:
            username = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "") if password is None \
                else password
        self.url = redact(url).rstrip("/")
        self._base = self.url
        if cors_proxy is not None:
            if type(cors_proxy) is not str or not cors_proxy.startswith(("http://", "https://")):
                raise InvalidArgument("cors_proxy must be an http(s) URL", argument="cors_proxy")
            self._base = cors_proxy.rstrip("/") + "/" + self.url.split("://", 1)[1]
        self._headers = dict(headers or {})
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        if transport is None:  # the runtime's (Pyodide: fetch), else urllib in a thread
            from webstore._runtime import services
            from webstore.remote.transport import UrllibTransport

            transport = services().http() or UrllibTransport()
        if not isinstance(transport, Transport):
            raise InvalidArgument("transport must have an async request(method, url, headers, "
                                  f"body) method, not {type(transport).__name__}",
                                  argument="transport")
        self.transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- HTTP --------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, headers: Mapping[str, str],
                    body: bytes | None = None) -> bytes:
        url = f"{self._base}/{path}"
        status, resp_headers, data = await self.transport.request(
            method, url, {**self._headers, **headers}, body)
        self._check(status, url)
        service = path.rsplit("?service=", maxsplit=1)[-1]
        expected = f"application/x-{service}-{'advertisement' if '?' in path else 'result'}"
        got = resp_headers.get("content-type", "").split(";")[0].strip()
        if got != expected:
            raise StorageUnavailable(
                f"{url} is not a smart-HTTP Git endpoint (content type {got!r}, expected "
                f"{expected!r})", backend="git-remote", reason="not smart HTTP")
        return data

    def _check(self, status: int, url: str) -> None:
        if status in (401, 403):
            how = "wrong credentials" if "Authorization" in self._headers else \
                "no credentials given"
            raise AuthenticationFailed(
                f"authentication failed for {url} (HTTP {status}, {how})",
                backend="git-remote", reason="authentication failed")
        if status == 404:
            raise StorageUnavailable(f"no Git repository at {self.url} (HTTP 404 for {url})",
                                     backend="git-remote", reason="not found")
        if not 200 <= status < 300:
            raise StorageUnavailable(f"the Git server answered HTTP {status} for {url}",
                                     backend="git-remote", reason=f"HTTP {status}")

    async def _upload_pack(self, body: bytes) -> bytes:
        return await self._call("POST", _UPLOAD, {
            "Git-Protocol": "version=2",
            "Content-Type": f"application/x-{_UPLOAD}-request",
            "Accept": f"application/x-{_UPLOAD}-result"}, body)

    async def capabilities(self) -> dict[str, str]:
        """The server's protocol-v2 capabilities (``name -> value``)."""
        adv = await self._call("GET", f"info/refs?service={_UPLOAD}",
                               {"Git-Protocol": "version=2"})
        return parse_v2_advertisement(adv)

    # -- fetching ----------------------------------------------------------------------------

    async def list_refs(self, *, fmt: ObjectFormat = SHA256) -> list[RemoteRef]:
        """Branches and tags with their ids (annotated tags also give their peeled commit).

        ``fmt`` is the object format the caller's repo uses; a server repo of another format
        raises :class:`StorageUnavailable` naming both (so do the other calls).
        """
        caps = await self.capabilities()
        return parse_ls_refs(await self._upload_pack(ls_refs_request(caps, fmt)), fmt)

    async def ls_refs(self, *, peel: bool = False,
                      fmt: ObjectFormat = SHA256) -> dict[str, ObjectId]:
        """Git ref name (``refs/heads/main``) -> id; ``peel``: a tag's commit, not the tag."""
        return {r.name: (r.peeled or r.id) if peel else r.id
                for r in await self.list_refs(fmt=fmt)}

    async def fetch_pack(self, wants: Sequence[ObjectId], haves: Sequence[ObjectId] = (), *,
                         max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
                         fmt: ObjectFormat = SHA256) -> list[tuple[ObjectId, bytes]]:
        """Objects needed for ``wants`` given ``haves``: ``(id, raw)`` pairs, unverified.

        The pack's checksum and structure are verified (:class:`IntegrityError` otherwise);
        whether the objects make sense is the caller's check.
        """
        if not wants:
            return []
        caps = await self.capabilities()
        answer = await self._upload_pack(fetch_request(caps, wants, haves, fmt))
        return read_pack(parse_fetch_response(answer), max_object_bytes=max_object_bytes,
                         fmt=fmt)

    # -- pushing -----------------------------------------------------------------------------

    async def receive_refs(self, *, fmt: ObjectFormat = SHA256) -> Advertisement:
        """The receive-pack advertisement: refs and push capabilities."""
        return parse_receive_advertisement(
            await self._call("GET", f"info/refs?service={_RECEIVE}", {}), fmt)

    async def push_pack(self, updates: Sequence[tuple[str, ObjectId | None, ObjectId | None]],
                        objects: Sequence[tuple[ObjectId, bytes]], *,
                        fmt: ObjectFormat = SHA256) -> None:
        """Move each Git ref from ``old`` to ``new`` (``None``: absent) sending ``objects``.

        The server moves a ref only if it still points at ``old``: a ref that moved raises
        :class:`RefMoved`; any other refusal raises :class:`StorageUnavailable` with the
        server's reason. Refs of one push are checked one by one, not atomically.
        """
        if not updates:
            return
        adv = await self.receive_refs(fmt=fmt)
        body, sideband = receive_pack_request(adv, list(updates), write_pack(objects, fmt), fmt)
        answer = await self._call("POST", _RECEIVE, {
            "Content-Type": f"application/x-{_RECEIVE}-request",
            "Accept": f"application/x-{_RECEIVE}-result"}, body)
        report = parse_report(answer, sideband)
        if report.unpack != "ok":
            raise StorageUnavailable(f"{self.url} could not unpack the pushed objects: "
                                     f"{report.unpack}", backend="git-remote",
                                     reason=report.unpack)
        for ref, old, new in updates:
            reason = report.refs.get(ref, "not reported by the server")
            if reason is None:
                continue
            now = (await self.receive_refs(fmt=fmt)).refs.get(ref)
            if now != old or any(r in reason for r in _MOVED_REASONS):
                raise RefMoved(
                    f"{ref} on {self.url} moved: it is at "
                    f"{to_hex(now) if now else 'nothing'}, the push expected "
                    f"{to_hex(old) if old else 'nothing'} ({reason}); fetch or pull first",
                    ref=ref, expected=old, got=now)
            raise StorageUnavailable(f"{self.url} refused to move {ref} to "
                                     f"{to_hex(new) if new else 'nothing'}: {reason}",
                                     backend="git-remote", reason=reason)
