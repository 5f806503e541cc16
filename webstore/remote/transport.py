"""How GitRemote talks HTTP: a small async ``Transport`` protocol and a CPython default.

The protocol layer never touches sockets; it hands a request to a :class:`Transport` and gets
``(status, headers, body)`` back, so Pyodide can plug in ``fetch`` later without any change
above. :class:`UrllibTransport` is the CPython implementation: stdlib ``urllib.request`` run in
a worker thread with ``asyncio.to_thread`` (urllib blocks). That is the only use of asyncio in
webstore's core, imported when a request is made, so the protocol above stays importable under
Pyodide, whose event loop is the browser's. It follows a redirect
only within the same origin, so an ``Authorization`` header never reaches another host.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from email.message import Message
from typing import IO, Protocol, runtime_checkable

from webstore.errors import StorageUnavailable

__all__ = ["Response", "Transport", "UrllibTransport", "origin", "redact"]

Response = tuple[int, dict[str, str], bytes]
"""``(status, headers with lower-case names, body)``."""


@runtime_checkable
class Transport(Protocol):
    """Sends one HTTP request; any status is a response, only a network failure raises.

    Note for implementers: raise :class:`~webstore.errors.StorageUnavailable` for a network
    failure, naming the URL exactly as given (GitRemote never puts credentials in it), and
    never include request headers in an exception: they carry ``Authorization``.
    """

    async def request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | None) -> Response:
        """Perform ``method`` on ``url`` and return the whole response."""
        ...


def redact(url: str) -> str:
    """``url`` without a ``user:password@`` part, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect of a GET only, and only within its origin (credentials stay there).

    A redirected POST is not followed (urllib would turn it into a GET without the body): the
    3xx status comes back as the response.
    """

    def redirect_request(  # noqa: PLR0917 (urllib's signature)
            self, req: urllib.request.Request, fp: IO[bytes], code: int,
            msg: str, headers: http.client.HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        if origin(newurl) != origin(req.full_url):
            raise StorageUnavailable(
                f"{redact(req.full_url)} redirects to another origin "
                f"({redact(newurl)}); refused so credentials stay with the server named",
                backend="git-remote", reason="cross-origin redirect")
        if req.get_method() not in ("GET", "HEAD"):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class UrllibTransport:
    """CPython transport: ``urllib.request`` in a thread, same-origin redirects only."""

    def __init__(self, *, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_SameOriginRedirects)

    def __repr__(self) -> str:
        return f"UrllibTransport(timeout={self.timeout!r})"

    async def request(self, method: str, url: str, headers: Mapping[str, str],  # noqa: D102
                      body: bytes | None) -> Response:
        # docstring inherited
        import asyncio  # CPython only: see the module docstring

        return await asyncio.to_thread(self._request, method, url, dict(headers), body)

    def _request(self, method: str, url: str, headers: dict[str, str],
                 body: bytes | None) -> Response:
        req = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, _lower(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:  # a response with an error status
            with exc:
                return exc.code, _lower(exc.headers), exc.read()
        except StorageUnavailable:  # a refused redirect: already says why
            raise
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StorageUnavailable(
                f"cannot reach the Git server at {redact(url)}: {reason}",
                backend="git-remote", reason=str(reason)) from None


def _lower(headers: Message) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
