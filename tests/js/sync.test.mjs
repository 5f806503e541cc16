// Sync with a real Git server from the JS API (Pyodide under Node 20, memory backend, the JS
// fetch transport): lighttpd + git http-backend from tests/gitserver.py, started by
// tests/js/gitserver_cli.py and stopped when this process closes its stdin. Checked with git.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuthenticationFailed, RefMoved, StorageUnavailable, cloneRepo, openRepo }
  from "../../wasm/js/index.js";

const REPOS = ["pushed", "pulled", "private:private", "sha1:sha1", "raced"];
let server;
let info;
let work;
let n = 0;

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a",
  GIT_COMMITTER_EMAIL: "a@b", GIT_TERMINAL_PROMPT: "0" };
const git = (...args) => execFileSync("git", args, { env: GIT_ENV, encoding: "utf8" });
const fresh = (options = {}) => openRepo(`sync${n}`, { backend: "memory", path: `sync-${Date.now()}-${n++}`, ...options });
const url = (name) => info.repos[name].url;

before(async () => {
  const python = existsSync(".venv/bin/python") ? ".venv/bin/python" : "python3";
  server = spawn(python, ["tests/js/gitserver_cli.py", ...REPOS],
    { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((_, reject) => server.once("exit",
    (code) => reject(new Error(`gitserver_cli.py exited (${code}) before it started`))));
  const line = new Promise((resolve) => createInterface({ input: server.stdout }).once("line", resolve));
  info = JSON.parse(await Promise.race([line, exited]));
  work = mkdtempSync(join(tmpdir(), "webstore-sync-"));
});

after(() => {
  server?.stdin.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("a pushed commit is a valid Git commit: git clone, git fsck --strict, git log", async () => {
  const repo = await fresh();
  const main = repo.branch("main");
  await main.set("notes/a", "first text", { message: "add a" });
  const head = await main.setMany({ "notes/b": { n: 1, tags: ["x"] } }, { message: "add b" });
  const seen = [];
  const result = await repo.push(url("pushed"), { onProgress: (p) => seen.push(p) });
  assert.deepEqual({ commit: result.commit, fastForward: result.fastForward, changed: result.changed },
    { commit: head, fastForward: true, changed: true });
  assert.deepEqual(seen.map((p) => p.phase), ["counted", "sent"]);
  assert.ok(seen[0].objects >= 6, JSON.stringify(seen));
  const again = await repo.push(url("pushed"));
  assert.equal(again.changed, false);
  const dir = join(work, "pushed");
  git("clone", "-q", url("pushed"), dir);
  git("-C", dir, "fsck", "--strict");
  assert.equal(git("-C", dir, "rev-parse", "HEAD").trim(), head);
  assert.deepEqual(git("-C", dir, "log", "--format=%s").trim().split("\n"), ["add b", "add a"]);
  assert.equal(readFileSync(join(dir, "notes/a"), "utf8"), "first text");
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "notes/b"), "utf8")), { n: 1, tags: ["x"] });
  const { refs } = await repo.fetch(url("pushed"));
  assert.deepEqual(refs, { "heads/main": head });
  await repo.close();
});

test("a commit made with git is pulled and readable; then a merge; cloneRepo", async () => {
  const repo = await fresh();
  await repo.branch("main").set("notes/a", "from webstore", { message: "start" });
  await repo.push(url("pulled"));
  const dir = join(work, "pulled");
  git("clone", "-q", url("pulled"), dir);
  writeFileSync(join(dir, "notes/a"), "edited with git");
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "data/c.json"), JSON.stringify({ k: [1, 2] }, null, 2) + "\n");
  git("-C", dir, "add", "-A");
  git("-C", dir, "commit", "-q", "-m", "edit with git");
  git("-C", dir, "push", "-q", "origin", "main");
  const theirs = git("-C", dir, "rev-parse", "HEAD").trim();
  const phases = [];
  const pulled = await repo.pull(url("pulled"), { onProgress: (p) => phases.push(p.phase) });
  assert.deepEqual(pulled, { ok: true, commit: theirs, fastForward: true, changed: true, conflicts: [] });
  assert.deepEqual(phases, ["wanted", "received", "stored"]);
  const main = repo.branch("main");
  assert.equal(await main.get("notes/a"), "edited with git");
  assert.deepEqual(await main.get("data/c"), undefined);
  assert.deepEqual(await main.get("data/c.json"), { k: [1, 2] });
  // both sides change the same path: the conflict comes back in merge's shape, nothing committed
  await main.set("notes/a", "ours", { message: "ours" });
  writeFileSync(join(dir, "notes/a"), "theirs");
  git("-C", dir, "commit", "-q", "-am", "theirs");
  git("-C", dir, "push", "-q", "origin", "main");
  const before = await main.head();
  const conflicted = await repo.pull(url("pulled"));
  assert.equal(conflicted.ok, false);
  assert.deepEqual(conflicted.conflicts, [{ path: "notes/a", base: { kind: "value", value: "edited with git" },
    ours: { kind: "value", value: "ours" }, theirs: { kind: "value", value: "theirs" } }]);
  assert.equal(await main.head(), before);
  await assert.rejects(repo.push(url("pulled")), RefMoved);
  await repo.close();
  const copy = await cloneRepo(url("pulled"), `clone${n++}`, { backend: "memory", path: `clone-${Date.now()}` });
  assert.equal(await copy.branch("main").get("notes/a"), "theirs");
  assert.deepEqual(await copy.branches(), ["main"]);
  await copy.close();
});

test("wrong or missing credentials: AuthenticationFailed, no secret in the message", async () => {
  const repo = await fresh();
  await repo.branch("main").set("k", 1);
  const wrong = `${info.password}-not`;
  for (const options of [{ username: info.username, password: wrong }, {}]) {
    await assert.rejects(repo.push(url("private"), options), (e) => {
      assert.ok(e instanceof AuthenticationFailed && e instanceof StorageUnavailable, String(e));
      assert.equal(e.name, "AuthenticationFailed");
      assert.equal(e.reason, "authentication failed");
      assert.ok(!e.message.includes(wrong) && !e.message.includes(info.password), e.message);
      assert.ok(!JSON.stringify(e).includes(wrong), JSON.stringify(e));
      return true;
    });
  }
  const withUrl = url("private").replace("http://", `http://${info.username}:${encodeURIComponent(wrong)}@`);
  await assert.rejects(repo.fetch(withUrl), (e) => e instanceof AuthenticationFailed
    && !e.message.includes(wrong) && !e.message.includes(info.username + ":"));
  const ok = await repo.push(url("private"), { username: info.username, password: info.password });
  assert.equal(ok.changed, true);
  await assert.rejects(cloneRepo(url("private"), "nope", { backend: "memory", path: `nope-${Date.now()}`,
    password: wrong, username: info.username }), AuthenticationFailed);
  await repo.close();
});

test("a sha1 repo syncs with a sha1 server; a sha256 repo is refused there", async () => {
  const repo = await fresh({ objectFormat: "sha1" });
  const head = await repo.branch("main").set("notes/a", "sha1 text", { message: "sha1 commit" });
  assert.equal(head.length, 40);
  await repo.push(url("sha1"));
  const dir = join(work, "sha1");
  git("clone", "-q", url("sha1"), dir);
  git("-C", dir, "fsck", "--strict");
  assert.equal(git("-C", dir, "rev-parse", "--show-object-format").trim(), "sha1");
  assert.equal(git("-C", dir, "log", "--format=%H %s").trim(), `${head} sha1 commit`);
  const copy = await cloneRepo(url("sha1"), `sha1copy${n++}`, { backend: "memory", path: `s1-${Date.now()}` });
  assert.equal(await copy.branch("main").head(), head);
  assert.equal(await copy.branch("main").get("notes/a"), "sha1 text");
  const other = await fresh();
  await other.branch("main").set("x", 1);
  await assert.rejects(other.push(url("sha1")), (e) => e instanceof StorageUnavailable
    && /sha1/.test(e.message) && /sha256/.test(e.message));
  await Promise.all([repo.close(), copy.close(), other.close()]);
});

test("a push over a moved server branch: RefMoved; pull then push succeeds", async () => {
  const [a, b] = [await fresh(), await fresh()];
  await a.branch("main").set("notes/a", "A", { message: "A" });
  await a.push(url("raced"));
  await b.pull(url("raced"));
  await b.branch("main").set("notes/b", "B", { message: "B" });
  await a.branch("main").set("notes/a2", "A2", { message: "A2" });
  await a.push(url("raced"));
  await assert.rejects(b.push(url("raced")), (e) => e instanceof RefMoved && e.name === "RefMoved");
  const merged = await b.pull(url("raced"));
  assert.equal(merged.ok, true);
  assert.equal(merged.fastForward, false);
  await b.push(url("raced"));
  await a.pull(url("raced"));
  assert.deepEqual((await a.branch("main").items("notes/")).map(([p]) => p).sort(),
    ["notes/a", "notes/a2", "notes/b"]);
  await Promise.all([a.close(), b.close()]);
});
