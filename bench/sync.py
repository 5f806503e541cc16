#!/usr/bin/env python3
"""Sync with a Git server: webstore vs real git (CPython) and vs isomorphic-git (Chromium).

One throw-away server (``tests/gitserver.py``: lighttpd + ``git http-backend`` on 127.0.0.1,
CORS on). A repo of ``--keys`` values ``{"n": i, "text": ...}`` at ``k/0042/004200``-style
paths (100 keys a folder) is built once with webstore and pushed to a SHA-256 server repo, and
the same content from a SHA-1 webstore repo to a SHA-1 server repo (isomorphic-git speaks
SHA-1 only). Every operation runs ``--runs`` times, each into a fresh target, interleaved;
medians, per-run ratios and the targets are printed. Targets (from the issue):

- clone, CPython: webstore ``clone`` into SQLite / ``git clone`` <= 2;
- clone, Chromium: webstore (Pyodide, IndexedDB) / isomorphic-git into lightning-fs <= 1;
- push of 1 change into the repo: webstore ``push`` / ``git push`` <= 1.5 (git: a clone with
  one file edited and committed; only ``git push`` is timed; each push to a fresh copy of the
  server repo).

``git clone --bare`` (objects only, no working tree: what webstore's clone stores) and
isomorphic-git ``noCheckout`` are printed too, for reference. A missed target gets a cProfile
of the webstore side (top functions by cumulative time), also inside Pyodide.

The browser part runs in a child process under ``flock /tmp/browser.lock`` (the machine has
2 cores; other browser runs wait for it, and it for them): do not wrap this script itself in
``flock /tmp/browser.lock``, the child would wait for its parent's lock forever. Run
``python3 wasm/build.py`` and ``npm install`` first; Chromium is /usr/bin/chromium (Debian),
never a Playwright download.
Usage: ``.venv/bin/python bench/sync.py [--runs 3] [--push-runs 9] [--keys 10000]
[--no-browser] [--profile] [--tmp DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import http.server
import io
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/gitserver.py

from gitserver import GitServer, git  # noqa: E402

import webstore.remote  # noqa: E402
import webstore.versioned  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TARGETS = {"clone": 2.0, "browser clone": 1.0, "push": 1.5}
CHANGED = 4200  # the key a push changes (clamped to --keys)


def path_of(i: int) -> str:
    return f"k/{i // 100:04d}/{i:06d}"


def value_of(i: int, extra: str = "") -> dict[str, Any]:
    return {"n": i, "text": f"value {i}: lorem ipsum dolor sit amet, consectetur {extra}"}


def now() -> float:
    return time.perf_counter()


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def profile_text(prof: cProfile.Profile, top: int = 25) -> str:
    """The top functions of ``prof`` by cumulative time."""
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


class TimedTransport(webstore.remote.UrllibTransport):
    """urllib transport that records every request: (method, service/command, ms, out, in)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str, float, int, int]] = []

    async def request(self, method: str, url: str, headers: Any, body: bytes | None) -> Any:
        t0 = now()
        status, found, data = await super().request(method, url, headers, body)
        what = url.rsplit("/", 1)[-1]
        if body and b"command=" in body[:40]:
            what += " " + body[4:40].split(b"\n")[0].decode(errors="replace")
        self.log.append((method, what, (now() - t0) * 1000, len(body or b""), len(data)))
        return status, found, data


def requests_text(log: list[tuple[str, str, float, int, int]]) -> str:
    lines = [f"  {m:5} {w:48} {ms:8.1f} ms  sent {o:>9,} B  received {i:>9,} B"
             for m, w, ms, o, i in log]
    lines.append(f"  {len(log)} requests, {sum(x[2] for x in log):.1f} ms in HTTP")
    return "\n".join(lines)


TRACE = {"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}


def git_requests(*args: str | Path) -> str:
    """Run ``git *args`` once with curl tracing: the HTTP requests it made."""
    return requests_of(git(*args, env=TRACE).stderr)


def requests_of(trace: bytes) -> str:
    sent = [line.split("Send header: ", 1)[1] for line in
            trace.decode(errors="replace").splitlines()
            if "Send header: GET " in line or "Send header: POST " in line]
    return "\n".join(f"  {line}" for line in sent) + f"\n  {len(sent)} requests"


# -- setup -----------------------------------------------------------------------------------

async def build(path: Path, keys: int, fmt: str) -> float:
    """A webstore repo of ``keys`` values on SQLite (one commit); seconds taken."""
    repo = await webstore.versioned.Repo.open("bench", path=str(path), object_format=fmt)
    t0 = now()
    async with repo.branch("main").transaction("load") as tx:
        for i in range(keys):
            tx.set(path_of(i), value_of(i))
    took = now() - t0
    await repo.close()
    return took


async def push_all(path: Path, url: str, fmt: str) -> float:
    repo = await webstore.versioned.Repo.open("bench", path=str(path), object_format=fmt)
    t0 = now()
    await webstore.remote.push(repo, webstore.remote.GitRemote(url), "main")
    took = now() - t0
    await repo.close()
    return took


def copy_sqlite(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def server_copy(server: GitServer, base: str, name: str) -> str:
    """A fresh server repo ``name`` equal to ``base`` (its URL)."""
    shutil.copytree(server.path(base), server.path(name))
    return server.url(name)


# -- CPython: clone --------------------------------------------------------------------------

async def ws_clone(url: str, target: Path, fmt: str = "sha256",
                   transport: webstore.remote.Transport | None = None,
                   prof: cProfile.Profile | None = None) -> float:
    repo = await webstore.versioned.Repo.open("bench", path=str(target), object_format=fmt)
    remote = webstore.remote.GitRemote(url, transport=transport)
    t0 = now()
    if prof is not None:
        prof.enable()
    await webstore.remote.clone(remote, repo)
    if prof is not None:
        prof.disable()
    took = now() - t0
    assert await repo.branch("main").get(path_of(0)) == value_of(0)
    await repo.close()
    return took


def git_clone(url: str, target: Path, *flags: str) -> float:
    t0 = now()
    git("clone", "-q", *flags, url, target)
    took = now() - t0
    shutil.rmtree(target)
    return took


def bench_clone(tmp: Path, url: str, runs: int) -> dict[str, list[float]]:
    t: dict[str, list[float]] = {"webstore": [], "git": [], "git bare": []}
    for r in range(runs):
        target = tmp / f"clone-{r}.sqlite3"
        t["webstore"].append(asyncio.run(ws_clone(url, target)))
        remove_sqlite(target)
        t["git"].append(git_clone(url, tmp / f"gitclone-{r}"))
        t["git bare"].append(git_clone(url, tmp / f"gitbare-{r}", "--bare"))
        print(f"  clone run {r + 1}/{runs}: webstore {t['webstore'][-1] * 1000:.0f} ms, "
              f"git clone {t['git'][-1] * 1000:.0f} ms, --bare {t['git bare'][-1] * 1000:.0f} ms"
              f" -> webstore/git {t['webstore'][-1] / t['git'][-1]:.2f}", flush=True)
    return t


# -- CPython: push of one change -------------------------------------------------------------

async def ws_push(source: Path, url: str, key: int, r: int,
                  transport: webstore.remote.Transport | None = None,
                  prof: cProfile.Profile | None = None) -> float:
    repo = await webstore.versioned.Repo.open("bench", path=str(source))
    await repo.branch("main").set(path_of(key), value_of(key, f"changed {r}"),
                                  message=f"change {r}")
    remote = webstore.remote.GitRemote(url, transport=transport)
    t0 = now()
    if prof is not None:
        prof.enable()
    await webstore.remote.push(repo, remote, "main")
    if prof is not None:
        prof.disable()
    took = now() - t0
    head = await repo.branch("main").head()
    await repo.close()
    return took if head is not None else float("nan")


def git_push(work: Path, base: str, url: str, key: int, r: int,
             trace: list[bytes] | None = None) -> float:
    git("-C", work, "reset", "-q", "--hard", base)
    file = work / path_of(key)
    file.write_text(json.dumps(value_of(key, f"changed {r}"), indent=1) + "\n")
    git("-C", work, "commit", "-q", "-am", f"change {r}")
    t0 = now()
    done = git("-C", work, "push", "-q", url, "HEAD:refs/heads/main",
               env=TRACE if trace is not None else None)
    took = now() - t0
    if trace is not None:
        trace.append(done.stderr)
    return took


def server_head(server: GitServer, name: str) -> str:
    return git("--git-dir", server.path(name), "rev-parse", "main").stdout.decode().strip()


def bench_push(tmp: Path, server: GitServer, source: Path, runs: int, key: int
               ) -> dict[str, list[float]]:
    base_url = server.url("base256")
    work = tmp / "gitwork"
    git("clone", "-q", base_url, work)
    base = git("-C", work, "rev-parse", "HEAD").stdout.decode().strip()
    t: dict[str, list[float]] = {"webstore": [], "git": []}
    for r in range(runs):
        local = tmp / f"push-{r}.sqlite3"
        copy_sqlite(source, local)
        url = server_copy(server, "base256", f"wspush{r}")
        t["webstore"].append(asyncio.run(ws_push(local, url, key, r)))
        assert server_head(server, f"wspush{r}") != base, "webstore push did not move main"
        remove_sqlite(local)
        url = server_copy(server, "base256", f"gitpush{r}")
        t["git"].append(git_push(work, base, url, key, r))
        assert server_head(server, f"gitpush{r}") != base, "git push did not move main"
        for name in (f"wspush{r}", f"gitpush{r}"):
            shutil.rmtree(server.path(name))
        print(f"  push run {r + 1}/{runs}: webstore {t['webstore'][-1] * 1000:.1f} ms, "
              f"git push {t['git'][-1] * 1000:.1f} ms -> webstore/git "
              f"{t['webstore'][-1] / t['git'][-1]:.2f}", flush=True)
    return t


# -- Chromium (child process, under flock) ---------------------------------------------------

BUFFER_PATH = "/bench/sync_buffer.js"


def buffer_bundle() -> bytes:
    """isomorphic-git needs a global ``Buffer``: npm ``buffer`` bundled by the local esbuild."""
    entry = 'import { Buffer } from "buffer"; globalThis.Buffer = Buffer;'
    return subprocess.run([str(ROOT / "node_modules" / ".bin" / "esbuild"), "--bundle",
                           "--format=iife", "--minify"], input=entry.encode(), cwd=ROOT,
                          capture_output=True, check=True).stdout


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,  # noqa: RUF012
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json",
                      ".whl": "application/zip"}
    buffer_js = b""

    def do_GET(self) -> None:
        if self.path == BUFFER_PATH:
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(self.buffer_js)))
            self.end_headers()
            self.wfile.write(self.buffer_js)
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


def browser_child(url256: str, url1: str, runs: int, profile: bool) -> int:
    """Runs under ``flock /tmp/browser.lock``: one page, clones interleaved; JSON on stdout."""
    from playwright.sync_api import sync_playwright

    Handler.buffer_js = buffer_bundle()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    page_url = f"http://127.0.0.1:{httpd.server_address[1]}/bench/sync_page.html"
    out: dict[str, Any] = {"webstore": [], "webstore sha1": [], "isogit": [],
                           "isogit noCheckout": [], "errors": [], "profile": ""}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.on("pageerror", lambda e: out["errors"].append(str(e)))
        page.goto(page_url)
        t0 = now()
        page.evaluate("window.bench.ready")
        out["boot_s"] = now() - t0
        ws = "([u, l, f, p]) => window.bench.webstoreClone(u, l, f, p)"
        ig = "([u, n, c]) => window.bench.isogitClone(u, n, c)"
        try:
            for r in range(runs):
                w = page.evaluate(ws, [url256, f"bench-sync-{r}", "sha256", False])
                out["webstore"].append(w["ms"])
                g = page.evaluate(ig, [url1, f"bench-sync-isogit-{r}", False])
                out["isogit"].append(g["ms"])
                w1 = page.evaluate(ws, [url1, f"bench-sync-sha1-{r}", "sha1", False])
                out["webstore sha1"].append(w1["ms"])
                g1 = page.evaluate(ig, [url1, f"bench-sync-isogit-nc-{r}", True])
                out["isogit noCheckout"].append(g1["ms"])
                print(f"  browser run {r + 1}/{runs}: webstore {w['ms']:.0f} ms (sha1 "
                      f"{w1['ms']:.0f}), isomorphic-git {g['ms']:.0f} ms (noCheckout "
                      f"{g1['ms']:.0f}) -> webstore/isomorphic-git {w['ms'] / g['ms']:.2f}",
                      file=sys.stderr, flush=True)
            if profile or med(out["webstore"]) > TARGETS["browser clone"] * med(out["isogit"]):
                out["profile"] = page.evaluate(
                    ws, [url256, "bench-sync-profile", "sha256", True])["profile"]
        except Exception as exc:  # report what the page said; the parent prints it
            out["errors"].append(f"{type(exc).__name__}: {exc}")
        browser.close()
    httpd.shutdown()
    json.dump(out, sys.stdout)
    return 0


def run_browser(url256: str, url1: str, runs: int, profile: bool) -> dict[str, Any]:
    cmd = ["flock", "/tmp/browser.lock", sys.executable, str(Path(__file__).resolve()),
           "--browser-child", url256, url1, "--runs", str(runs)]
    if profile:
        cmd.append("--profile")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, check=False, cwd=ROOT)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"errors": [f"browser child exited {done.returncode}: "
                           f"{done.stdout.decode(errors='replace')[-2000:]}"]}


# -- report ----------------------------------------------------------------------------------

def verdict(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="samples per operation")
    parser.add_argument("--push-runs", type=int, default=9,
                        help="samples of the push (cheap and the noisiest; default 9)")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--no-browser", action="store_true", help="CPython and git only")
    parser.add_argument("--tmp", default=None,
                        help="directory for the server, clones and SQLite files (default: "
                             "the system's temp dir; /dev/shm for tmpfs)")
    parser.add_argument("--profile", action="store_true",
                        help="print the webstore profiles even where targets are met")
    parser.add_argument("--browser-child", nargs=2, metavar=("URL256", "URL1"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.browser_child:
        return browser_child(*args.browser_child, args.runs, args.profile)

    tmp = Path(tempfile.mkdtemp(prefix="webstore-bench-sync-", dir=args.tmp))
    server = GitServer(tmp / "server")
    server.start()
    try:
        return run(tmp, server, args)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, server: GitServer, args: argparse.Namespace) -> int:
    keys, runs = args.keys, args.runs
    key = min(CHANGED, keys - 1)
    server.make_repo("base256")
    server.make_repo("base1", object_format="sha1")
    src256, src1 = tmp / "src256.sqlite3", tmp / "src1.sqlite3"
    b256 = asyncio.run(build(src256, keys, "sha256"))
    p256 = asyncio.run(push_all(src256, server.url("base256"), "sha256"))
    b1 = asyncio.run(build(src1, keys, "sha1"))
    p1 = asyncio.run(push_all(src1, server.url("base1"), "sha1"))
    print(f"{keys:,} keys: built in {b256:.2f} s (sha1 {b1:.2f} s), pushed whole in "
          f"{p256:.2f} s (sha1 {p1:.2f} s)", flush=True)
    # Equivalent content in both formats: git checks the SHA-1 twin has every path.
    files = git("--git-dir", server.path("base1"), "ls-tree", "-r", "--name-only", "main")
    assert files.stdout.count(b"\n") == keys, "sha1 server repo lacks keys"

    clone = bench_clone(tmp, server.url("base256"), runs)
    push = bench_push(tmp, server, src256, max(runs, args.push_runs), key)
    br: dict[str, Any] | None = None
    if not args.no_browser:
        print("  browser: waiting for /tmp/browser.lock, then Chromium ...", flush=True)
        br = run_browser(server.url("base256"), server.url("base1"), runs, args.profile)

    print(f"\nSync, {keys:,}-key repo, median of {runs} runs (push: "
          f"{max(runs, args.push_runs)}), ms; ratio = webstore / other (of medians)")
    print(f"{'operation':58} {'median ms':>10} {'ratio':>7} {'per run':>18} {'target':>15}")
    rows: list[tuple[str, float, str, str, str]] = []
    missed: list[str] = []

    def add(name: str, xs: list[float], base: list[float] | None, target: float | None) -> None:
        if not xs:
            return
        if base is None:
            rows.append((name, med(xs), "", "", ""))
            return
        n = min(len(xs), len(base))  # a failed browser run may leave one list short
        xs, base = xs[:n], base[:n]
        if not n:
            return
        per = [a / b for a, b in zip(xs, base, strict=True)]
        ratio = med(xs) / med(base)
        tgt = ""
        if target is not None:
            tgt = f"<= {target:g} {verdict(ratio, target)}"
            if ratio > target:
                missed.append(name)
        rows.append((name, med(xs), f"{ratio:.2f}",
                     f"{min(per):.2f}-{max(per):.2f}", tgt))

    ms = {k: [x * 1000 for x in v] for k, v in clone.items()}
    add("clone, CPython: git clone", ms["git"], None, None)
    add("clone, CPython: git clone --bare (objects only)", ms["git bare"], None, None)
    add("clone, CPython: webstore -> SQLite  (vs git clone)", ms["webstore"], ms["git"],
        TARGETS["clone"])
    add("clone, CPython: webstore -> SQLite  (vs git clone --bare)", ms["webstore"],
        ms["git bare"], None)
    pm = {k: [x * 1000 for x in v] for k, v in push.items()}
    add("push 1 change: git push", pm["git"], None, None)
    add("push 1 change: webstore push (vs git push)", pm["webstore"], pm["git"], TARGETS["push"])
    if br is not None and br.get("webstore") and br.get("isogit"):
        add("clone, Chromium: isomorphic-git -> lightning-fs (SHA-1)", br["isogit"], None, None)
        add("clone, Chromium: isomorphic-git noCheckout", br["isogit noCheckout"], None, None)
        add("clone, Chromium: webstore (Pyodide) -> IndexedDB (vs isogit)", br["webstore"],
            br["isogit"], TARGETS["browser clone"])
        add("clone, Chromium: webstore SHA-1 repo (vs isogit noCheckout)", br["webstore sha1"],
            br["isogit noCheckout"], None)
    for name, m, ratio, per, tgt in rows:
        print(f"{name:58} {m:10.1f} {ratio:>7} {per:>18} {tgt:>15}")
    if br is not None:
        if br.get("boot_s"):
            print(f"\n(Chromium: Pyodide + webstore booted in {br['boot_s']:.1f} s)")
        if br.get("errors"):
            print("\nbrowser errors:\n  " + "\n  ".join(br["errors"]))

    if "clone, CPython: webstore -> SQLite  (vs git clone)" in missed or args.profile:
        print("\nprofile, webstore clone (CPython):")
        target = tmp / "clone-profile.sqlite3"
        timed, prof = TimedTransport(), cProfile.Profile()
        took = asyncio.run(ws_clone(server.url("base256"), target, transport=timed, prof=prof))
        print(f"({took * 1000:.0f} ms under the profiler)\n" + profile_text(prof))
        print("HTTP requests of that webstore clone:\n" + requests_text(timed.log))
        print("HTTP requests of git clone:\n"
              + git_requests("clone", "-q", "--bare", server.url("base256"), tmp / "gc-trace"))
    if "push 1 change: webstore push (vs git push)" in missed or args.profile:
        print("\nprofile, webstore push of 1 change (CPython):")
        local = tmp / "push-profile.sqlite3"
        copy_sqlite(src256, local)
        url = server_copy(server, "base256", "wspushprofile")
        timed, prof = TimedTransport(), cProfile.Profile()
        took = asyncio.run(ws_push(local, url, key, 99, transport=timed, prof=prof))
        print(f"({took * 1000:.0f} ms under the profiler)\n" + profile_text(prof))
        print("HTTP requests of that webstore push (ms as seen by the client):\n"
              + requests_text(timed.log))
        work = tmp / "gitwork"
        base = server_head(server, "base256")
        url = server_copy(server, "base256", "gitpushprofile")
        trace: list[bytes] = []
        took = git_push(work, base, url, key, 99, trace)
        print(f"HTTP requests of git push ({took * 1000:.1f} ms, traced):\n"
              + requests_of(trace[0]))
    if br is not None and br.get("profile"):
        print("\nprofile, webstore clone (Pyodide in Chromium):")
        print(br["profile"])
    json.dump({"clone_ms": ms, "push_ms": pm, "browser": br and {
        k: v for k, v in br.items() if k != "profile"}}, sys.stderr)
    print(file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
