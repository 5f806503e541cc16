// localStorage side of webstore.platform.localstorage: a function of `shared` (shared.js),
// called once per interpreter.
//
// Keys: `${location}\u0000${key}`. Values: bytes packed 15 bits per UTF-16 code unit into
// U+0800..U+87FF (no surrogates, no controls, so every engine stores them verbatim), after
// one marker char 'a'+padding bits. Each operation is one synchronous JS call, which no other
// script of this tab can interleave with; writes additionally hold a Web Lock named after the
// location (where navigator.locks exists) so tabs of one origin take turns.
((shared) => {
  const { guarded, pack } = shared;
  const SEP = "\u0000";
  const BASE = 0x800;

  function encode(bytes) {
    const n = bytes.length;
    const chars = Math.ceil((n * 8) / 15);
    const codes = new Uint16Array(chars + 1);
    codes[0] = 0x61 + (chars * 15 - n * 8); // 'a' + padding bits (0..14)
    let acc = 0;
    let bits = 0;
    let j = 1;
    for (let i = 0; i < n; i += 1) {
      acc = (acc << 8) | bytes[i];
      bits += 8;
      if (bits >= 15) {
        bits -= 15;
        codes[j++] = BASE + ((acc >>> bits) & 0x7fff);
        acc &= (1 << bits) - 1;
      }
    }
    if (bits > 0) codes[j++] = BASE + ((acc << (15 - bits)) & 0x7fff);
    return utf16.decode(codes);
  }

  function decode(text) {
    const pad = text.charCodeAt(0) - 0x61;
    const chars = text.length - 1;
    if (pad < 0 || pad > 14 || (chars * 15 - pad) % 8 !== 0) {
      const e = new Error("stored text is not webstore-packed bytes");
      e.name = "DataError";
      throw e;
    }
    const out = new Uint8Array((chars * 15 - pad) / 8);
    let acc = 0;
    let bits = 0;
    let j = 0;
    for (let i = 1; i <= chars; i += 1) {
      acc = (acc << 15) | ((text.charCodeAt(i) - BASE) & 0x7fff);
      bits += 15;
      while (bits >= 8 && j < out.length) {
        bits -= 8;
        out[j++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
    return out;
  }

  const utf16 = new TextDecoder("utf-16le");

  // Text that is not packed bytes (cut short, or written by other code) reads as zero bytes,
  // which no webstore layer accepts: Store values, objects and refs then raise IntegrityError
  // naming the key, and fsck lists it, instead of one bad key failing a whole batch.
  function read(storage, full) {
    const text = storage.getItem(full);
    if (text === null) return null;
    try { return decode(text); } catch { return new Uint8Array(0); }
  }

  function withLock(location, fn) {
    return shared.withLock(`webstore-localstorage:${location}`, fn);
  }

  function fullKeys(storage, location, prefix) {
    const head = location + SEP + prefix;
    const found = [];
    for (let i = 0; i < storage.length; i += 1) {
      const k = storage.key(i);
      if (k !== null && k.startsWith(head)) found.push(k);
    }
    return found;
  }

  // Set every pair or none: on a failure midway, put back what was there, newest first.
  function setAll(storage, pairs) {
    const previous = [];
    try {
      for (const [full, text] of pairs) {
        previous.push([full, storage.getItem(full)]);
        storage.setItem(full, text);
      }
    } catch (error) {
      for (const [full, old] of previous.reverse()) {
        if (old === null) storage.removeItem(full); else storage.setItem(full, old);
      }
      throw error;
    }
  }

  const api = {
    getMany(storage, location, keys) {
      return pack(keys.map((k) => read(storage, location + SEP + k)));
    },
    setMany(storage, location, keys, blob, lengths) {
      const pairs = [];
      let at = 0;
      keys.forEach((k, i) => {
        pairs.push([location + SEP + k, encode(blob.subarray(at, at + lengths[i]))]);
        at += lengths[i];
      });
      return withLock(location, () => setAll(storage, pairs));
    },
    deleteMany(storage, location, keys) {
      return withLock(location, () => {
        for (const k of keys) storage.removeItem(location + SEP + k);
      });
    },
    deletePrefix(storage, location, prefix) {
      return withLock(location, () => {
        for (const full of fullKeys(storage, location, prefix)) storage.removeItem(full);
      });
    },
    keys(storage, location, prefix) {
      const cut = location.length + 1;
      return fullKeys(storage, location, prefix).map((full) => full.slice(cut));
    },
    // One snapshot: keys and values read in the same synchronous call.
    items(storage, location, prefix) {
      const cut = location.length + 1;
      const full = fullKeys(storage, location, prefix);
      return [full.map((k) => k.slice(cut)), ...pack(full.map((k) => read(storage, k)))];
    },
    setIfEquals(storage, location, key, expected, value) {
      const full = location + SEP + key;
      const text = value == null ? null : encode(value);
      return withLock(location, () => {
        const current = storage.getItem(full);
        const want = expected == null ? null : encode(expected);
        if (current !== want) return false;
        if (text === null) storage.removeItem(full); else setAll(storage, [[full, text]]);
        return true;
      });
    },
  };
  const guardedApi = { encode, decode };
  for (const [name, fn] of Object.entries(api)) guardedApi[name] = guarded(fn);
  return guardedApi;
})
