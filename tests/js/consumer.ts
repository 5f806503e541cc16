// An example consumer, type-checked against wasm/js/index.d.ts by `tsc --noEmit`.
import {
  open, openRepo, cloneRepo, KeyNotFound, AuthenticationFailed, RefMoved,
  type Change, type MergeResult, type SyncProgress,
} from "webstore";

async function main(): Promise<void> {
  const store = await open("notes", { backend: "memory", onProgress: (p) => console.log(p.fraction) });
  console.log(store.selection.reason, store.capabilities.persistent);
  await store.set("pixels", new Uint8ClampedArray([1, 2, 3, 4]));
  const pixels = await store.get<Uint8ClampedArray>("pixels");
  console.log(pixels?.length);
  await store.setMany([["a", 1], ["b", { nested: [1n, "x", null] }]]);
  const values: (number | undefined)[] = await store.getMany<number>(["a"]);
  console.log(values);
  const repo = await openRepo("notes");
  const main = repo.branch("main");
  const id: string = await main.set("todo/1", { text: "milk" }, { message: "add milk" });
  const stop: () => void = main.watch(({ changes }) => {
    for (const c of changes as Change[]) if (c.type === "updated") console.log(c.old, c.new);
  });
  const result: MergeResult = await repo.merge("main", "feature");
  for (const c of result.conflicts) if (c.ours.kind === "value") console.log(c.path, c.ours.value);
  console.log(id, (await main.history({ limit: 5 })).entries[0]?.message);
  stop();
  const sync = { username: "me", password: "secret",
    onProgress: (p: SyncProgress) => console.log(p.phase, p.objects) };
  try {
    const pulled: MergeResult = await repo.pull("https://git.example.org/notes.git", sync);
    console.log(pulled.fastForward, pulled.conflicts.length);
    await repo.push("https://git.example.org/notes.git", { ...sync, branch: "main", to: "main" });
  } catch (e) {
    if (e instanceof RefMoved) console.log("pull, then push again", e.ref);
    else if (e instanceof AuthenticationFailed) console.log(e.reason);
  }
  const refs: Record<string, string> = (await repo.fetch("https://git.example.org/notes.git")).refs;
  const copy = await cloneRepo("https://git.example.org/notes.git", "copy",
    { backend: "memory", objectFormat: "sha1", headers: { "X-Token": "t" } });
  console.log(refs["heads/main"], await copy.branches());
  try { await store.get("x"); } catch (e) { if (e instanceof KeyNotFound) console.log(e.key); }
}
void main();
