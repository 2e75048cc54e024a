// Strict JSON parsing with the exact acceptance rules of the Rust host (serde_json), so that a
// request or data document is accepted, refused or read as an integer identically in both hosts.
// `JSON.parse` cannot be used: it loses the integer/float distinction (`1.0` vs `1`), rounds
// 64-bit integers, accepts lone surrogates and has no nesting limit.
//
// The tree it returns: objects are `Map`s (no prototype pitfalls such as `__proto__`; insertion
// order kept, a duplicate key keeps its first position and its last value), arrays are arrays,
// strings are well-formed strings, integers that fit in i64 are `BigInt`s, every other number
// is a JS `number` (it never reads as an integer), plus `true`, `false` and `null`.

/** Nesting deeper than this is refused (serde_json's recursion limit). */
const MAX_NESTING = 127;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
/** JSON's number grammar (RFC 8259 §6), matched at a given position. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/** Invalid JSON text (or a JS value that is not JSON); `offset` is where, in text. */
export class JsonSyntaxError extends Error {
  constructor(message, offset) {
    super(offset === undefined ? message : `${message} at offset ${offset}`);
    this.name = "JsonSyntaxError";
  }
}

/**
 * Parses JSON text (a string, or UTF-8 bytes as a Uint8Array) into the tree described above.
 * @param {string | Uint8Array} input
 */
export function parseJson(input) {
  let text = input;
  if (input instanceof Uint8Array) {
    try {
      // No BOM stripping: a BOM is not JSON whitespace.
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      throw new JsonSyntaxError("invalid UTF-8", 0);
    }
  } else if (typeof input !== "string") {
    throw new TypeError("JSON input must be a string or a Uint8Array");
  }
  if (!text.isWellFormed()) {
    throw new JsonSyntaxError("text contains a lone surrogate", 0);
  }
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail("trailing characters");
  return value;
}

/**
 * Converts an already-parsed JS value (from `JSON.parse` or built in code) to the tree
 * `parseJson` returns. Only a `BigInt` (in i64 range) reads as an integer; every `number` reads
 * as a non-integer, as `1.0` or `1e2` in JSON text do. A `number` cannot say whether it was an
 * integer: `JSON.parse` already rounded `100.000000000000001` to `100` and read `1e2` and `1.0`
 * as `100` and `1`, which the Rust host refuses as integers (ABI §6), so reading safe-integer
 * numbers as integers would let `context.amount > 100` decide (allow) where text is undecided
 * (deny). A value JSON cannot hold (`undefined`, a function, a symbol, a non-finite number) is a
 * `JsonSyntaxError`, so `decide` reports it as a `WarrantError`.
 */
export function fromJsValue(value, containers = 0) {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "string") {
    if (!value.isWellFormed()) throw new JsonSyntaxError("string contains a lone surrogate");
    return value;
  }
  if (typeof value === "bigint") return value >= I64_MIN && value <= I64_MAX ? value : Number(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new JsonSyntaxError("number is not finite");
    return value;
  }
  if (typeof value !== "object") throw new JsonSyntaxError(`cannot use a ${typeof value} as JSON`);
  // The same nesting limit as for text; it also stops cyclic values.
  const depth = containers + 1;
  if (depth > MAX_NESTING) throw new JsonSyntaxError("recursion limit exceeded");
  if (Array.isArray(value)) return value.map((item) => fromJsValue(item, depth));
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return new Map(entries.map(([key, item]) => [String(key), fromJsValue(item, depth)]));
}

/**
 * The entries of a parsed JSON object sorted by key in code point order (= UTF-8 byte order),
 * the order the Rust host reads objects in (`warrant_lang::data_shape::sorted_entries`): the
 * string ids an image assigns and the entry a data-shape error names follow it in every host.
 */
export function sortedEntries(map) {
  return [...map].sort(([a], [b]) => byCodePoints(a, b));
}

/** Compares two strings by code points (= UTF-8 bytes), not UTF-16 code units as `<` does. */
export function byCodePoints(a, b) {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Whether `value` is a parsed JSON object. */
export function isObject(value) {
  return value instanceof Map;
}

class Parser {
  constructor(text) {
    this.text = text;
    this.pos = 0;
  }

  fail(message) {
    throw new JsonSyntaxError(message, this.pos);
  }

  skipWhitespace() {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) break;
      this.pos++;
    }
  }

  /** One value; `depth` counts the containers it is nested in. */
  value(depth) {
    this.skipWhitespace();
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object(depth + 1);
      case "[":
        return this.array(depth + 1);
      case '"':
        return this.string();
      case "t":
        return this.keyword("true", true);
      case "f":
        return this.keyword("false", false);
      case "n":
        return this.keyword("null", null);
      case undefined:
        return this.fail("unexpected end of input");
      default:
        if (c === "-" || (c >= "0" && c <= "9")) return this.number();
        return this.fail("expected a value");
    }
  }

  keyword(word, value) {
    if (!this.text.startsWith(word, this.pos)) this.fail("expected a value");
    this.pos += word.length;
    return value;
  }

  object(depth) {
    if (depth > MAX_NESTING) this.fail("recursion limit exceeded");
    this.pos++; // {
    const map = new Map();
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return map;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail("expected a string key");
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ":") this.fail("expected `:`");
      this.pos++;
      map.set(key, this.value(depth));
      this.skipWhitespace();
      const next = this.text[this.pos++];
      if (next === "}") return map;
      if (next !== ",") this.fail("expected `,` or `}`");
    }
  }

  array(depth) {
    if (depth > MAX_NESTING) this.fail("recursion limit exceeded");
    this.pos++; // [
    const items = [];
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.value(depth));
      this.skipWhitespace();
      const next = this.text[this.pos++];
      if (next === "]") return items;
      if (next !== ",") this.fail("expected `,` or `]`");
    }
  }

  string() {
    const text = this.text;
    this.pos++; // opening quote
    let out = "";
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail("unterminated string");
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail("control character in string");
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += text.slice(runStart, this.pos);
      this.pos++; // backslash
      out += this.escape();
      runStart = this.pos;
    }
  }

  /** The character an escape stands for; `pos` is just after the backslash. */
  escape() {
    const c = this.text[this.pos++];
    switch (c) {
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "/":
        return "/";
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u":
        return this.unicodeEscape();
      default:
        return this.fail("invalid escape");
    }
  }

  /** `\uXXXX`, with surrogates required to come in (high, low) pairs. */
  unicodeEscape() {
    const high = this.hex4();
    if (high >= 0xdc00 && high <= 0xdfff) this.fail("lone trailing surrogate in \\u escape");
    if (high < 0xd800 || high > 0xdbff) return String.fromCharCode(high);
    if (this.text[this.pos] !== "\\" || this.text[this.pos + 1] !== "u") {
      this.fail("lone leading surrogate in \\u escape");
    }
    this.pos += 2;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) this.fail("lone leading surrogate in \\u escape");
    return String.fromCharCode(high, low);
  }

  hex4() {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail("invalid \\u escape");
    this.pos += 4;
    return parseInt(digits, 16);
  }

  /** A number: a BigInt when it is an integer in i64 range (not `-0`), else a finite double. */
  number() {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail("invalid number");
    const [literal, fraction, exponent] = match;
    this.pos += literal.length;
    // More than 20 characters is outside i64 anyway; skipping BigInt keeps huge literals cheap.
    if (fraction === undefined && exponent === undefined && literal !== "-0" && literal.length <= 20) {
      const integer = BigInt(literal);
      if (integer >= I64_MIN && integer <= I64_MAX) return integer;
    }
    const double = Number(literal);
    if (!Number.isFinite(double)) this.fail("number out of range");
    return double;
  }
}
