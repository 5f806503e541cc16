// JS values in: checked here (so errors name the path, like the Python codec's), then handed
// to Pyodide's toPy. Typed arrays, ArrayBuffers and -0 are wrapped so toPy leaves them alone;
// webstore/platform/jsapi.py unwraps them.
//
// Accepted: null, booleans, numbers, strings, BigInt (64-bit range), arrays, plain objects,
// every TypedArray kind, ArrayBuffer. Not accepted: undefined (at the top level or in arrays;
// object properties that are undefined are skipped, as JSON.stringify does), Date, Map, Set,
// DataView, functions, symbols, class instances, cycles.
import { UnsupportedValue } from "./errors.js";

class Wrapped {
  constructor(kind, value) { this.kind = kind; this.value = value; }
}

const TYPED = new Set(["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array"]);
const MIN = -(2n ** 63n);
const LIMIT = 2n ** 64n;

function bad(message, type, path) {
  return new UnsupportedValue(`${message} at ${path}`, { type_name: type, path });
}

function prepare(value, path, active) {
  switch (typeof value) {
    case "string": case "boolean": return value;
    case "number": return Object.is(value, -0) ? new Wrapped("negzero", 0) : value;
    case "bigint":
      if (value < MIN || value >= LIMIT) {
        throw bad("BigInt out of the 64-bit range [-2**63, 2**64)", "bigint", path);
      }
      return value;
    case "undefined":
      throw bad("undefined cannot be stored (use null, or delete the key)", "undefined", path);
    case "object": break;
    default: throw bad(`values of type ${typeof value} cannot be stored`, typeof value, path);
  }
  if (value === null) return null;
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor?.name;
    if (!TYPED.has(name)) throw bad(`${name} cannot be stored (use a typed array)`, name, path);
    return new Wrapped("typed", value);
  }
  if (value instanceof ArrayBuffer) return new Wrapped("buffer", new Uint8Array(value));
  if (active.has(value)) throw bad("cyclic structure: a container contains itself", "object", path);
  active.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => prepare(v, `${path}[${i}]`, active));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = value.constructor?.name ?? "object";
      const hint = name === "Date" ? " (store date.toISOString() or date.getTime())" : "";
      throw bad(`values of type ${name} cannot be stored${hint}`, name, path);
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = prepare(v, `${path}[${JSON.stringify(k)}]`, active);
    }
    return out;
  } finally {
    active.delete(value);
  }
}

/** A JS value as a Python object (a PyProxy to destroy, or a primitive). */
export function toPython(pyodide, value, path = "value") {
  const prepared = prepare(value, path, new Set());
  if (prepared === null || typeof prepared !== "object") return prepared;
  return pyodide.toPy(prepared, { depth: -1 });
}
