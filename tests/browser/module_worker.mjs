// A dedicated module worker that runs one exported function of a test module and posts back
// {ok: result} or {error: text} (page.html's `workerModule`).
onmessage = async ({ data: { path, fn, args } }) => {
  try {
    postMessage({ ok: await (await import(path))[fn](...args) });
  } catch (error) {
    postMessage({ error: `${error?.name}: ${error?.message}\n${error?.stack ?? ""}` });
  }
};
