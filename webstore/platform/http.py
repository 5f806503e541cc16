"""HTTP for :mod:`webstore.remote` in Pyodide: the runtime's ``fetch`` (page, worker, Node).

One ``fetch`` per request, the body read whole as an ``ArrayBuffer`` (Git's smart protocol
answers a request with one response). Redirects are refused (``redirect: "error"``): a
browser may strip ``Authorization`` on a cross-origin hop, but a Git server that moved should
be named by its new URL rather than followed silently. ``credentials: "omit"``: cookies of the
page never ride along; authentication is the ``Authorization`` header webstore sets. A page
needs the server to answer CORS (README, "Sync with a Git server"); a failure there looks like
a network error to the page, so the message says so.
"""

from __future__ import annotations

from collections.abc import Mapping

import js
from pyodide.ffi import JsException, to_js

from webstore.errors import StorageUnavailable

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
        try:
            response = await js.fetch(url, to_js(init, dict_converter=js.Object.fromEntries))
            data = await response.arrayBuffer()
        except JsException as exc:
            where = _redact(url)
            cors = " (in a page this is also how a missing CORS answer or a redirect shows)" \
                if "fetch" in str(exc).lower() else ""
            raise StorageUnavailable(
                f"cannot reach the Git server at {where}: {exc.name}{cors}",
                backend="git-remote", reason=f"fetch failed{cors}") from None
        found: dict[str, str] = {}
        for pair in response.headers.entries():
            name, value = pair
            found[str(name).lower()] = str(value)
        return int(response.status), found, js.Uint8Array.new(data).to_bytes()
