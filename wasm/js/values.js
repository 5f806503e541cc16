// JS values in, converted once: one walk gives JSON text plus one buffer holding the bytes of
// every typed array and ArrayBuffer in it, which Python's json.loads turns into the codec's
// values (webstore/platform/jsvalues.py, `from_js`). Values read come back the same way
// (`fromPython`, made by jsvalues.py `batch_to_js`): two objects cross between JS and
// WebAssembly however many arrays a batch holds, not one proxy per array. (A hand-written
// walk, then JSON.stringify without a replacer: 3-5x faster in V8 than a replacer function.)
// The Python codec (webstore/kv/codec.py) is the one judge of what can be stored (integer
// range, nesting depth, valid Unicode, ...): nothing here repeats its rules. This file only
// refuses what JSON would silently change, naming the path: undefined (at the top level or in
// arrays; object properties that are undefined are skipped, as JSON.stringify does),
// functions, symbols, Date, Map, Set, DataView, class instances, cycles.
//
// What JSON cannot carry travels as a placeholder object with the single key "\u0000":
//   ["t", kind, start, end]  a typed array of that kind, bytes [start, end) of the buffer
//   ["b", start, end]        an ArrayBuffer (Python bytes), bytes [start, end)
//   ["n", s]  BigInt, decimal text        ["f", s]  a number JSON would change (-0, NaN,
//                                                   ±Infinity, integers beyond 2**53: floats)
// An object key starting with "\u0000" gets one more "\u0000" in front, removed on the other
// side, so user data can never be read as a placeholder.
import { UnsupportedValue } from "./errors.js";

// In the order of their codes in webstore/kv/typed.py (KINDS): binary batches send codes.
const KIND_NAMES = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array"];
const TYPED = new Set(KIND_NAMES);
const BYTES_CODE = 254; // an ArrayBuffer (Python bytes)
const MISSING_CODE = 255; // getMany: no value
const MARK = "\u0000";

/** Whether `value` is a typed array of a kind webstore stores (DataView is not). */
export function isTypedArray(value) {
  return ArrayBuffer.isView(value) && TYPED.has(value.constructor?.name);
}

function bad(message, type, path) {
  return new UnsupportedValue(`${message} at ${path}`, { type_name: type, path });
}

/** `[jsonText, bytes]` for a JS value, ready for jsvalues.from_js. */
export function toPython(value, path = "value") {
  const views = [];
  let size = 0;
  const trail = []; // keys from the root to where we are, made into a path only for an error
  const active = new Set(); // containers being converted: meeting one again is a cycle
  const here = () => path + trail.map((k) => (typeof k === "number" ? `[${k}]`
    : `[${JSON.stringify(k)}]`)).join("");
  const place = (tag, view) => {
    views.push(view);
    tag.push(size, size + view.byteLength);
    size += view.byteLength;
    return { [MARK]: tag };
  };
  function convert(v) {
    switch (typeof v) {
      case "string": case "boolean": return v;
      case "number":
        if (Object.is(v, -0) || !Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v))) {
          return { [MARK]: ["f", Object.is(v, -0) ? "-0.0" : String(v)] };
        }
        return v;
      case "bigint": return { [MARK]: ["n", v.toString()] };
      case "undefined":
        throw bad("undefined cannot be stored (use null, or delete the key)", "undefined", here());
      case "object": break;
      default: throw bad(`values of type ${typeof v} cannot be stored`, typeof v, here());
    }
    if (v === null) return null;
    if (ArrayBuffer.isView(v)) {
      const name = v.constructor?.name;
      if (!TYPED.has(name)) throw bad(`${name} cannot be stored (use a typed array)`, name, here());
      return place(["t", name], new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    if (v instanceof ArrayBuffer) return place(["b"], new Uint8Array(v));
    const isArray = Array.isArray(v);
    if (!isArray) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = v.constructor?.name ?? "object";
        const hint = name === "Date" ? " (store date.toISOString() or date.getTime())" : "";
        throw bad(`values of type ${name} cannot be stored${hint}`, name, here());
      }
    }
    if (active.has(v)) throw bad("cyclic structure: a container contains itself", "object", here());
    active.add(v);
    let out;
    if (isArray) {
      out = new Array(v.length);
      for (let i = 0; i < v.length; i += 1) {
        trail.push(i);
        out[i] = convert(v[i]);
        trail.pop();
      }
    } else {
      out = Object.create(null); // a "__proto__" key stays a key
      for (const k of Object.keys(v)) {
        const x = v[k];
        if (x === undefined) continue; // skipped, as JSON.stringify does
        trail.push(k);
        out[k.startsWith(MARK) ? MARK + k : k] = convert(x);
        trail.pop();
      }
    }
    active.delete(v);
    return out;
  }
  try {
    const text = JSON.stringify(convert(value));
    return [text, joined(views, size)];
  } catch (error) {
    if (error instanceof RangeError) { // the engine's stack: far deeper than the codec allows
      throw bad("value nested too deeply", "object", path);
    }
    throw error;
  }
}

// One Uint8Array of every part (the only view itself when there is one: no copy here).
function joined(views, size) {
  if (views.length === 0) return undefined;
  if (views.length === 1) return views[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const view of views) {
    out.set(view, at);
    at += view.byteLength;
  }
  return out;
}

// `take(start, end)`: bytes [start, end) of an answer's buffer as an ArrayBuffer of their own,
// the whole buffer itself (once, no copy) for a value that spans it, else a slice.
function ownBuffers(bytes) {
  const whole = bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  let given = false;
  return (start, end) => {
    if (whole && !given && start === 0 && end === bytes.byteLength) {
      given = true;
      return bytes.buffer;
    }
    return bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + end);
  };
}

/** The JS value of `[jsonText, bytes]` made by jsvalues.batch_to_js. */
export function fromPython([text, bytes]) {
  const value = JSON.parse(text);
  if (value === null || typeof value !== "object") return value;
  const take = ownBuffers(bytes);
  function revive(v) {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i += 1) {
        const x = v[i];
        if (x !== null && typeof x === "object") v[i] = revive(x);
      }
      return v;
    }
    const mark = v[MARK]; // only placeholders have this key: user keys arrive escaped
    if (mark !== undefined) {
      const [tag, a, b, c] = mark;
      switch (tag) {
        case "t":
          if (!TYPED.has(a)) throw new TypeError(`webstore: unknown typed array kind ${a}`);
          return new globalThis[a](take(b, c));
        case "b": return take(a, b);
        case "n": return BigInt(a);
        case "f": return Number(a);
        default: throw new TypeError(`webstore: unknown placeholder ${tag}`);
      }
    }
    let escaped = false;
    for (const k in v) {
      const x = v[k];
      if (x !== null && typeof x === "object") v[k] = revive(x);
      if (k.startsWith(MARK)) escaped = true;
    }
    if (!escaped) return v;
    return Object.fromEntries(Object.entries(v).map(
      ([k, x]) => [k.startsWith(MARK) ? k.slice(1) : k, x]));
  }
  return revive(value);
}

// -- binary batches: every value one typed array or ArrayBuffer ------------------------------
//
// The commonest batch of a typed-array store, sent without JSON: a code per value (its kind,
// BYTES_CODE or MISSING_CODE), where each value ends in one buffer of all their bytes, and
// the buffer. For 10,000 small arrays this skips parsing 10,000 placeholders on each side
// (jsvalues.py `binary_from_js` / `binary_to_js`).

/** `[codes, ends, bytes]` for a list of values if every one is binary, else `null`. */
export function binaryBatch(values) {
  const codes = new Uint8Array(values.length);
  const ends = new Float64Array(values.length);
  const views = [];
  let size = 0;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    let view;
    if (v instanceof ArrayBuffer) {
      codes[i] = BYTES_CODE;
      view = new Uint8Array(v);
    } else if (isTypedArray(v)) {
      codes[i] = KIND_NAMES.indexOf(v.constructor.name);
      view = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    } else {
      return null;
    }
    views.push(view);
    size += view.byteLength;
    ends[i] = size;
  }
  return [codes, ends, joined(views, size) ?? new Uint8Array(0)];
}

/** Whether a read's answer is a binary batch (else it is `[jsonText, bytes]`). */
export function isBinaryBatch(answer) {
  return answer[0] instanceof Uint8Array;
}

/** The values of a binary batch (`undefined` where MISSING_CODE), each with its own buffer. */
export function fromBinaryBatch([codes, ends, bytes]) {
  const out = new Array(codes.length).fill(undefined); // no holes: undefined, as missing
  const take = ownBuffers(bytes);
  let start = 0;
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i];
    const end = ends[i];
    if (code !== MISSING_CODE) {
      const buffer = take(start, end);
      if (code === BYTES_CODE) out[i] = buffer;
      else if (code < KIND_NAMES.length) out[i] = new globalThis[KIND_NAMES[code]](buffer);
      else throw new TypeError(`webstore: unknown value code ${code}`);
    }
    start = end;
  }
  return out;
}
