#!/usr/bin/env python3
"""Serve the repository root statically on 127.0.0.1 and print the demo's URL (Ctrl-C stops).

Usage: ``python3 demo/serve.py [--port N] [--root DIR]`` (default: port 8000, or a free port
if it is taken; the repository root). ``--root`` serves another directory the same way (the npm
package test serves an app that installed webstore).
``demo/serve.sh`` installs and builds first, then runs this.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the right types for .mjs/.wasm and no caching (edits show at once)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".whl": "application/zip",
                      ".json": "application/json"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    handler = functools.partial(Handler, directory=str(args.root))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    port = server.server_address[1]
    print(f"webstore demo: http://127.0.0.1:{port}/demo/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
