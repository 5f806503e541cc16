"""HTTP for :mod:`webstore.remote` in Pyodide: the runtime's ``fetch`` (page, worker, Node).

One ``fetch`` per request, the body read whole as an ``ArrayBuffer`` (Git's smart protocol
answers a request with one response). Redirects are refused (``redirect: "error"``): a
browser may strip ``Authorization`` on a cross-origin hop, but a Git server that moved should
be named by its new URL rather than followed silently. ``credentials: "omit"``: cookies of the
page never ride along; authentication is the ``Authorization`` header webstore sets. A page
needs the server to answer CORS (README, "Sync with a Git server"); a failure there looks like
a network error to the page, so the message says so.

Both Promises are awaited through ``shared.js``'s ``guarded``, which rejects with a plain
``Error`` carrying the original name and message. WebKitGTK 2.50 rejects a failed ``fetch``
(refused connection, refused redirect, CORS) with a ``TypeError`` that Pyodide 314 cannot turn
into a Python exception: the ``await`` never settled, even with a Python rejection handler.
"""

from __future__ import annotations

from collections.abc import Mapping

import js
from pyodide.ffi import JsException, to_js

from webstore.errors import StorageUnavailable
from webstore.platform.bridge import shared

__all__ = ["FetchTransport"]


def _redact(url: str) -> str:
    from webstore.remote.transport import redact

    return redact(url)


class FetchTransport:
    """``webstore.remote.Transport`` over the JavaScript ``fetch`` API."""

    def __repr__(self) -> str:
        return "FetchTransport()"

    async def request(self, method: str, url: str, headers: Mapping[str, str],
                      body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        """Perform one request; any HTTP status is a response, a failed fetch raises."""
        init = {"method": method, "headers": dict(headers), "redirect": "error",
                "credentials": "omit", "cache": "no-store"}
        if body is not None:
            init["body"] = to_js(body)
        guarded = shared().guarded
        try:
            response = await guarded(js.fetch)(
                url, to_js(init, dict_converter=js.Object.fromEntries))
            data = await guarded(response.arrayBuffer.bind(response))()
        except JsException as exc:
            where = _redact(url)
            cors = " (in a page this is also how a missing CORS answer or a redirect shows)" \
                if exc.name == "TypeError" else ""  # fetch's one error for the network
            raise StorageUnavailable(
                f"cannot reach the Git server at {where}: {exc.name} ({exc.message}){cors}",
                backend="git-remote", reason=f"fetch failed{cors}") from None
        found: dict[str, str] = {}
        for pair in response.headers.entries():
            name, value = pair
            found[str(name).lower()] = str(value)
        return int(response.status), found, js.Uint8Array.new(data).to_bytes()
