// The demo app: notes + a pixel sketch in a versioned webstore repo, with history, time
// travel, branches, merges (with a conflict view), diffs, live updates across tabs, and push /
// pull with a Git server (demo/serve.py runs one and says where in /demo/remote.json).
// Stored text is only ever put in the page through textContent.
import { open, openRepo } from "../wasm/js/index.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const forced = params.get("backend") || undefined;
const el = (tag, text, cls) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
};
const show = (value) => (value === undefined ? "(absent)"
  : value instanceof Uint8ClampedArray ? `sketch (${value.length} bytes)`
  : typeof value === "object" && value !== null && "text" in value ? String(value.text)
  : JSON.stringify(value, (k, v) => (typeof v === "bigint" ? `${v}n` : v)));

const state = { branch: localStorage.getItem("demo-branch") || "main", viewing: null, stop: null };
let repo;
let settings;

const onProgress = ({ fraction, phase }) => { $("progress").value = fraction; $("phase").textContent = phase; };

// The engine runs in a worker so a big write never freezes this page; workers have no
// localStorage, so forcing that backend keeps the engine on the page.
const worker = forced !== "localstorage" && params.get("worker") !== "0";

async function boot() {
  try {
    settings = await open("demo-settings", { backend: forced, onProgress, worker });
    repo = await openRepo("demo", { backend: forced, worker });
  } catch (error) {
    $("phase").textContent = `${error.name}: ${error.message}`;
    return;
  }
  $("loading").hidden = true;
  $("backend-box").hidden = false;
  $("app").hidden = false;
  $("backend").textContent = settings.backend;
  $("engine").textContent = worker ? "in a worker" : "on this page";
  await followDraft();
  $("reason").textContent = `(${settings.selection.reason}${settings.capabilities.persistent ? "" : ", not persistent"})`;
  for (const [name, why] of Object.entries(settings.selection.refused)) $("refused").append(el("li", `${name}: ${why}`));
  if (!Object.keys(settings.selection.refused).length) $("refused").append(el("li", "nothing refused"));
  $("force").value = forced ?? "";
  await showStorage();
  await findRemote();
  if (!(await repo.branches()).includes(state.branch)) state.branch = "main";
  await switchBranch(state.branch);
  document.body.dataset.ready = "1";
}

async function showStorage() {
  const info = await settings.storageInfo();
  if (info.estimate) {
    const mb = (n) => (n / 1048576).toFixed(1);
    $("estimate").textContent = `using ${mb(info.estimate.usage)} MB of ${mb(info.estimate.quota)} MB`
      + (info.persisted ? " · persistent" : "");
    $("persist").hidden = !!info.persisted;
  } else {
    $("estimate").textContent = "no storage estimate here";
  }
}

async function switchBranch(name) {
  state.stop?.();
  state.branch = name;
  state.viewing = null;
  localStorage.setItem("demo-branch", name);
  state.stop = repo.branch(name).watch(({ changes }) => {
    $("live").textContent = `Live update on ${name}: ${changes.map((c) => `${c.type} ${c.path}`).join(", ") || "moved"}`;
    refresh();
  });
  await refresh();
}

function view() { return state.viewing ? repo.at(state.viewing) : repo.branch(state.branch); }

async function refresh() {
  const names = await repo.branches();
  if (!names.includes(state.branch)) names.push(state.branch);
  for (const select of [$("branch"), $("merge-source")]) {
    const keep = select.value;
    select.replaceChildren(...names.sort().map((n) => el("option", n)));
    select.value = select === $("branch") ? state.branch : (names.includes(keep) ? keep : names.find((n) => n !== state.branch) ?? "");
  }
  const v = view();
  $("viewing").textContent = state.viewing ? `at ${state.viewing.slice(0, 10)}` : `on ${state.branch}`;
  $("sync-branch").textContent = `branch ${state.branch}`;
  $("time-travel").hidden = !state.viewing;
  for (const id of ["note-form", "save-canvas", "clear-canvas"]) {
    for (const c of $(id).querySelectorAll?.("input,textarea,button") ?? []) c.disabled = !!state.viewing;
    if ($(id).tagName === "BUTTON") $(id).disabled = !!state.viewing;
  }
  const notes = await v.items("notes");
  $("notes").replaceChildren(...notes.map(([path, note]) => {
    const li = el("li");
    li.append(el("b", path.slice("notes/".length)), el("span", show(note)));
    li.onclick = () => { $("note-title").value = path.slice(6); $("note-text").value = note?.text ?? ""; };
    return li;
  }));
  if (!notes.length) $("notes").append(el("li", "No notes yet: write one below.", "hint"));
  drawPixels(await v.get("sketch"));
  await showHistory();
}

async function showHistory() {
  const page = await repo.branch(state.branch).history({ limit: 100 });
  $("history").replaceChildren(...page.entries.map((e) => {
    const li = el("li");
    li.append(el("span", e.message), " ", el("code", `${e.id.slice(0, 8)} · ${new Date(e.time).toLocaleTimeString()}`));
    if (e.id === state.viewing) li.className = "selected";
    li.onclick = () => travel(e);
    return li;
  }));
}

async function travel(entry) {
  state.viewing = entry.id;
  await refresh();
  const changes = await repo.diff(entry.parents[0] ?? null, entry.id);
  $("diff").replaceChildren(el("p", `${entry.message} (${entry.id.slice(0, 8)})`, "hint"),
    ...changes.map((c) => el("div", c.type === "updated"
      ? `~ ${c.path}: ${show(c.old)} → ${show(c.new)}`
      : `${c.type === "added" ? "+" : "−"} ${c.path}: ${show(c.value)}`, c.type)));
}

// -- notes ------------------------------------------------------------------------------
// The note being typed is a key-value draft: every tab of this origin sees it change at once
// through a key-value watch (store.watch), before anything is committed.
async function followDraft() {
  const draft = await settings.get("draft");
  if (draft) { $("note-title").value = draft.title; $("note-text").value = draft.text; }
  settings.watch(async () => {
    const now = await settings.get("draft");
    if (!now || document.activeElement === $("note-text") || document.activeElement === $("note-title")) return;
    $("note-title").value = now.title;
    $("note-text").value = now.text;
    $("live").textContent = "Draft updated from another tab";
  }, { prefix: "draft" });
  for (const id of ["note-title", "note-text"]) {
    $(id).addEventListener("input", () => settings.set("draft", { title: $("note-title").value, text: $("note-text").value }));
  }
}

$("note-form").onsubmit = async (event) => {
  event.preventDefault();
  const title = $("note-title").value.trim();
  await repo.branch(state.branch).set(`notes/${title}`, { text: $("note-text").value },
    { message: $("note-message").value || `edit note ${title}` });
  $("note-message").value = "";
  await settings.delete("draft");
};
$("delete-note").onclick = async () => {
  const title = $("note-title").value.trim();
  if (title) await repo.branch(state.branch).remove(`notes/${title}`, { message: `delete note ${title}` });
};

// -- sketch -----------------------------------------------------------------------------
const canvas = $("canvas");
const ctx = canvas.getContext("2d", { willReadFrequently: true });
function drawPixels(pixels) {
  if (pixels instanceof Uint8ClampedArray && pixels.length === canvas.width * canvas.height * 4) {
    ctx.putImageData(new ImageData(pixels, canvas.width, canvas.height), 0, 0);
  } else {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
}
let drawing = false;
const point = (e) => {
  const r = canvas.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
};
canvas.onpointerdown = (e) => {
  if (state.viewing) return;
  drawing = true; canvas.setPointerCapture(e.pointerId);
  ctx.beginPath(); ctx.moveTo(...point(e));
};
canvas.onpointermove = (e) => {
  if (!drawing) return;
  ctx.strokeStyle = $("color").value; ctx.lineWidth = 3; ctx.lineCap = "round";
  ctx.lineTo(...point(e)); ctx.stroke();
};
canvas.onpointerup = () => { drawing = false; };
$("save-canvas").onclick = async () => {
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  await repo.branch(state.branch).set("sketch", data, { message: "update sketch" });
};
$("clear-canvas").onclick = () => drawPixels(null);

// -- branches, merge, time travel ----------------------------------------------------------
$("branch").onchange = () => switchBranch($("branch").value);
$("fork-form").onsubmit = async (event) => {
  event.preventDefault();
  const name = $("fork-name").value.trim();
  try {
    if (await repo.branch(state.branch).head()) await repo.branch(state.branch).fork(name);
    else await repo.createBranch(name);
    $("fork-name").value = "";
    await switchBranch(name);
  } catch (error) {
    $("merge-result").replaceChildren(el("p", `${error.name}: ${error.message}`, "removed"));
  }
};
$("merge-form").onsubmit = async (event) => {
  event.preventDefault();
  const source = $("merge-source").value;
  const box = $("merge-result");
  if (!source || source === state.branch) { box.replaceChildren(el("p", "Pick another branch to merge.", "hint")); return; }
  try {
    const result = await repo.merge(state.branch, source);
    if (result.ok) {
      box.replaceChildren(el("p", result.changed
        ? `Merged ${source} into ${state.branch}${result.fastForward ? " (fast-forward)" : ""}.`
        : `Nothing to merge: ${state.branch} already has ${source}.`, "added"));
      return;
    }
    box.replaceChildren(el("p", `${result.conflicts.length} conflict(s): nothing was committed. Edit one side and merge again.`, "removed"),
      ...conflictViews(result.conflicts, source));
  } catch (error) {
    box.replaceChildren(el("p", `${error.name}: ${error.message}`, "removed"));
  }
};
// One box per conflicting path: base, ours (the current branch) and theirs side by side.
function conflictViews(conflicts, theirs) {
  return conflicts.map((c) => {
    const div = el("div", undefined, "conflict");
    const sides = el("div", undefined, "sides");
    for (const [label, side] of [["base", c.base], [`ours (${state.branch})`, c.ours], [`theirs (${theirs})`, c.theirs]]) {
      const col = el("div");
      col.append(el("b", label), el("pre", side.kind === "value" ? show(side.value) : `(${side.kind})`));
      sides.append(col);
    }
    div.append(el("strong", c.path), sides);
    return div;
  });
}

// -- sync with a Git server -----------------------------------------------------------------
// The current branch is pulled from / pushed to the server's branch of the same name. The
// result box says what happened; its data-state ("ok", "conflict", "error") and data-seq
// (one more per finished action) are what tests/js/demo.browser.mjs waits on.
async function findRemote() {
  try {
    const response = await fetch("remote.json", { cache: "no-store" });
    const { url } = response.ok ? await response.json() : {};
    if (url && !$("sync-url").value) $("sync-url").value = url;
  } catch { /* served without demo/serve.py: type a URL */ }
  if (!$("sync-url").value) {
    syncResult("hint", "No Git remote here: demo/serve.py starts one (needs lighttpd); or type a URL.");
  }
}

function syncResult(kind, text, extra = [], error = "") {
  const box = $("sync-result");
  box.replaceChildren(el("p", text, kind === "ok" ? "added" : kind === "hint" ? "hint" : "removed"), ...extra);
  box.dataset.state = kind;
  box.dataset.error = error;
  box.dataset.seq = String(Number(box.dataset.seq) + 1);
}

async function sync(action) {
  const url = $("sync-url").value.trim();
  if (!url) { syncResult("hint", "Type the URL of a Git repository first."); return; }
  const branch = state.branch;
  const short = (id) => (id ? id.slice(0, 8) : "(none)");
  for (const b of [$("pull"), $("push")]) b.disabled = true;
  const onProgress = ({ phase, objects }) => { $("sync-progress").textContent = `${action}: ${objects} object(s) ${phase}`; };
  try {
    if (action === "push") {
      const result = await repo.push(url, { branch, onProgress });
      syncResult("ok", result.changed ? `Pushed ${branch}: the server fast-forwarded to ${short(result.commit)}.`
        : `Up to date: the server's ${branch} is already ${short(result.commit)}.`);
    } else {
      const result = await repo.pull(url, { branch, onProgress });
      if (!result.ok) {
        syncResult("conflict", `${result.conflicts.length} conflict(s) pulling ${branch}: nothing was committed. `
          + "Edit our side (or theirs on the server), then pull again.", conflictViews(result.conflicts, `server ${branch}`));
      } else {
        syncResult("ok", !result.changed ? `Up to date with the server's ${branch} (${short(result.commit)}).`
          : result.fastForward ? `Pulled ${branch}: fast-forward to ${short(result.commit)}.`
            : `Pulled ${branch}: merged the server's changes, commit ${short(result.commit)}.`);
      }
    }
  } catch (error) {
    const why = error.name === "RefMoved" ? ` The server's ${branch} has commits this tab lacks: pull, then push again.`
      : error.name === "KeyNotFound" ? ` The server has no branch ${branch} yet: push it.`
        : error.name === "AuthenticationFailed" ? " The server wants credentials." : "";
    syncResult("error", `${error.name}: ${error.message}.${why}`, [], error.name);
  } finally {
    $("sync-progress").textContent = "";
    for (const b of [$("pull"), $("push")]) b.disabled = false;
  }
}
$("pull").onclick = () => sync("pull");
$("push").onclick = () => sync("push");

$("back").onclick = () => { state.viewing = null; $("diff").replaceChildren(el("p", "Pick a commit to see what it changed.", "hint")); refresh(); };
$("force").onchange = () => {
  const url = new URL(location.href);
  if ($("force").value) url.searchParams.set("backend", $("force").value); else url.searchParams.delete("backend");
  location.href = url.href;
};
$("persist").onclick = async () => {
  const granted = await settings.persist();
  $("live").textContent = granted ? "The browser will keep this data." : "The browser declined to persist (it may ask again later).";
  await showStorage();
};

boot();
