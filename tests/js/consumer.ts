// An example consumer, type-checked against wasm/js/index.d.ts by `tsc --noEmit`.
import { open, openRepo, KeyNotFound, type Change, type MergeResult } from "webstore";

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
  try { await store.get("x"); } catch (e) { if (e instanceof KeyNotFound) console.log(e.key); }
}
void main();
