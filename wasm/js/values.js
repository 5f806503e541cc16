// JS values in, converted once: one JSON.stringify pass gives JSON text plus the binary values
// beside it, which Python's json.loads turns into the codec's values
// (webstore/platform/jsapi.py, `from_js`). The Python codec (webstore/kv/codec.py) is the one
// judge of what can be stored (integer range, nesting depth, valid Unicode, ...): nothing here
// repeats its rules. This file only refuses what JSON would silently change, naming the path:
// undefined (at the top level or in arrays; object properties that are undefined are skipped,
// as JSON.stringify does), functions, symbols, Date, Map, Set, DataView, class instances,
// cycles.
//
// What JSON cannot carry travels as a placeholder object with the single key "\u0000":
//   ["t", i]  typed array buffers[i] (kept as that JS typed array: same kind comes back)
//   ["b", i]  ArrayBuffer buffers[i] (bytes)
//   ["n", s]  BigInt, decimal text        ["f", s]  a number JSON would change (-0, NaN,
//                                                   ±Infinity, integers beyond 2**53: floats)
// An object key starting with "\u0000" gets one more "\u0000" in front, removed in Python,
// so user data can never be read as a placeholder.
import { UnsupportedValue } from "./errors.js";

const TYPED = new Set(["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array"]);
const MARK = "\u0000";

/** Whether `value` is a typed array of a kind webstore stores (DataView is not). */
export function isTypedArray(value) {
  return ArrayBuffer.isView(value) && TYPED.has(value.constructor?.name);
}

function bad(message, type, path) {
  return new UnsupportedValue(`${message} at ${path}`, { type_name: type, path });
}

function escapeKeys(value) {
  let out;
  for (const key of Object.keys(value)) {
    if (key.startsWith(MARK)) {
      out ??= {};
      break;
    }
  }
  if (!out) return value;
  for (const [k, v] of Object.entries(value)) out[k.startsWith(MARK) ? MARK + k : k] = v;
  return out;
}

/** `[jsonText, buffers]` for a JS value, ready for jsapi.from_js. */
export function toPython(value, path = "value") {
  const buffers = [];
  const paths = new Map();
  let where = path;
  function replacer(key, converted) {
    const holder = this;
    const original = holder[key];
    const base = paths.get(holder);
    where = base === undefined ? path
      : Array.isArray(holder) ? `${base}[${key}]` : `${base}[${JSON.stringify(key)}]`;
    switch (typeof original) {
      case "string": case "boolean": return original;
      case "number":
        if (Object.is(original, -0) || !Number.isFinite(original)
            || (Number.isInteger(original) && !Number.isSafeInteger(original))) {
          return { [MARK]: ["f", Object.is(original, -0) ? "-0.0" : String(original)] };
        }
        return original;
      case "bigint": return { [MARK]: ["n", original.toString()] };
      case "undefined":
        if (base !== undefined && !Array.isArray(holder)) return undefined; // skipped, as JSON
        throw bad("undefined cannot be stored (use null, or delete the key)", "undefined", where);
      case "object": break;
      default: throw bad(`values of type ${typeof original} cannot be stored`, typeof original,
        where);
    }
    if (original === null) return null;
    if (ArrayBuffer.isView(original)) {
      const name = original.constructor?.name;
      if (!TYPED.has(name)) throw bad(`${name} cannot be stored (use a typed array)`, name, where);
      buffers.push(original);
      return { [MARK]: ["t", buffers.length - 1] };
    }
    if (original instanceof ArrayBuffer) {
      buffers.push(new Uint8Array(original));
      return { [MARK]: ["b", buffers.length - 1] };
    }
    if (Array.isArray(original)) {
      paths.set(original, where);
      return original;
    }
    const proto = Object.getPrototypeOf(original);
    if (proto !== Object.prototype && proto !== null) {
      const name = original.constructor?.name ?? "object";
      const hint = name === "Date" ? " (store date.toISOString() or date.getTime())" : "";
      throw bad(`values of type ${name} cannot be stored${hint}`, name, where);
    }
    const out = escapeKeys(original);
    paths.set(out, where);
    return out;
  }
  try {
    return [JSON.stringify(value, replacer), buffers];
  } catch (error) {
    if (error instanceof UnsupportedValue) throw error;
    if (error instanceof TypeError && /circular|cyclic/i.test(error.message)) {
      throw bad("cyclic structure: a container contains itself", "object", where);
    }
    if (error instanceof RangeError) { // the engine's stack: far deeper than the codec allows
      throw bad("value nested too deeply", "object", where);
    }
    throw error;
  }
}
