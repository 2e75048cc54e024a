"""Strict JSON parsing with the acceptance rules of the Rust host (serde_json), a port of
hosts/js/json.mjs, so that a request or data document is accepted, refused or read as an integer
identically in every host. Python's ``json`` module cannot be used: it accepts ``NaN`` and
``Infinity``, lone surrogates (``"\\ud800"``) and integers of any size, and has no nesting limit
below the interpreter's recursion limit.

The tree it returns: objects are dicts (a duplicate key keeps its first position and its last
value), arrays are lists, strings are well-formed strings, integers that fit in i64 are ``int``,
every other number is a finite ``float`` (it never reads as an integer), plus ``True``,
``False`` and ``None``.
"""

import math
import re

#: Nesting deeper than this is refused (serde_json's recursion limit).
MAX_NESTING = 127
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsonSyntaxError(ValueError):
    """Invalid JSON text (or a Python value that is not JSON); ``offset`` is where, in text."""

    def __init__(self, message: str, offset=None):
        super().__init__(message if offset is None else f"{message} at offset {offset}")


def parse_json(data):
    """Parses JSON text (``str``, or UTF-8 ``bytes``) into the tree described above."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            # No BOM stripping: a BOM is not JSON whitespace.
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonSyntaxError("invalid UTF-8", 0) from None
    elif isinstance(data, str):
        text = data
        if not _well_formed(text):
            raise JsonSyntaxError("text contains a lone surrogate", 0)
    else:
        raise TypeError("JSON input must be str or bytes")
    parser = _Parser(text)
    value = parser.value(0)
    parser.skip_whitespace()
    if parser.pos != len(text):
        parser.fail("trailing characters")
    return value


def from_python_value(value, containers: int = 0):
    """Checks an already-built Python value (dicts with string keys, lists/tuples, str, int,
    float, bool, None) and returns the tree ``parse_json`` returns. Unlike JavaScript, Python
    keeps ``1.0`` and ``1`` apart, so the serde_json rule holds here too: only ``int`` values in
    i64 range read as integers."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not _well_formed(value):
            raise JsonSyntaxError("string contains a lone surrogate")
        return value
    if isinstance(value, int):
        return int(value) if I64_MIN <= value <= I64_MAX else float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonSyntaxError("number is not finite")
        return value
    if not isinstance(value, (dict, list, tuple)):
        raise JsonSyntaxError(f"cannot use a {type(value).__name__} as JSON")
    # The same nesting limit as for text; it also stops cyclic values.
    depth = containers + 1
    if depth > MAX_NESTING:
        raise JsonSyntaxError("recursion limit exceeded")
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise JsonSyntaxError("object keys must be strings")
        return {from_python_value(key): from_python_value(item, depth) for key, item in value.items()}
    return [from_python_value(item, depth) for item in value]


def is_integer(value) -> bool:
    """Whether a tree value reads as an integer (``bool`` is an ``int`` subclass in Python)."""
    return type(value) is int


def _well_formed(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, message: str):
        raise JsonSyntaxError(message, self.pos)

    def skip_whitespace(self) -> None:
        self.pos = _WHITESPACE.match(self.text, self.pos).end()

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def value(self, depth: int):
        """One value; ``depth`` counts the containers it is nested in."""
        self.skip_whitespace()
        c = self.peek()
        if c == "{":
            return self.object(depth + 1)
        if c == "[":
            return self.array(depth + 1)
        if c == '"':
            return self.string()
        if c == "t":
            return self.keyword("true", True)
        if c == "f":
            return self.keyword("false", False)
        if c == "n":
            return self.keyword("null", None)
        if c == "":
            self.fail("unexpected end of input")
        if c == "-" or "0" <= c <= "9":
            return self.number()
        return self.fail("expected a value")

    def keyword(self, word: str, value):
        if not self.text.startswith(word, self.pos):
            self.fail("expected a value")
        self.pos += len(word)
        return value

    def object(self, depth: int) -> dict:
        if depth > MAX_NESTING:
            self.fail("recursion limit exceeded")
        self.pos += 1  # {
        result = {}
        self.skip_whitespace()
        if self.peek() == "}":
            self.pos += 1
            return result
        while True:
            self.skip_whitespace()
            if self.peek() != '"':
                self.fail("expected a string key")
            key = self.string()
            self.skip_whitespace()
            if self.peek() != ":":
                self.fail("expected `:`")
            self.pos += 1
            result[key] = self.value(depth)
            self.skip_whitespace()
            following = self.peek()
            self.pos += 1
            if following == "}":
                return result
            if following != ",":
                self.fail("expected `,` or `}`")

    def array(self, depth: int) -> list:
        if depth > MAX_NESTING:
            self.fail("recursion limit exceeded")
        self.pos += 1  # [
        items = []
        self.skip_whitespace()
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value(depth))
            self.skip_whitespace()
            following = self.peek()
            self.pos += 1
            if following == "]":
                return items
            if following != ",":
                self.fail("expected `,` or `]`")

    def string(self) -> str:
        text = self.text
        self.pos += 1  # opening quote
        parts = []
        while True:
            end = _PLAIN.match(text, self.pos).end()
            parts.append(text[self.pos : end])
            self.pos = end
            if end >= len(text):
                self.fail("unterminated string")
            c = text[end]
            if c == '"':
                self.pos += 1
                return "".join(parts)
            if c != "\\":
                self.fail("control character in string")
            self.pos += 1  # backslash
            parts.append(self.escape())

    def escape(self) -> str:
        """The character an escape stands for; ``pos`` is just after the backslash."""
        c = self.peek()
        self.pos += 1
        if c == "u":
            return self.unicode_escape()
        if c in _ESCAPES:
            return _ESCAPES[c]
        return self.fail("invalid escape")

    def unicode_escape(self) -> str:
        """``\\uXXXX``, with surrogates required to come in (high, low) pairs."""
        high = self.hex4()
        if 0xDC00 <= high <= 0xDFFF:
            self.fail("lone trailing surrogate in \\u escape")
        if not 0xD800 <= high <= 0xDBFF:
            return chr(high)
        if self.text[self.pos : self.pos + 2] != "\\u":
            self.fail("lone leading surrogate in \\u escape")
        self.pos += 2
        low = self.hex4()
        if not 0xDC00 <= low <= 0xDFFF:
            self.fail("lone leading surrogate in \\u escape")
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))

    def hex4(self) -> int:
        digits = _HEX4.match(self.text, self.pos)
        if digits is None:
            self.fail("invalid \\u escape")
        self.pos += 4
        return int(digits.group(), 16)

    def number(self):
        """An ``int`` when it is an integer in i64 range (not ``-0``), else a finite float."""
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            self.fail("invalid number")
        literal, fraction, exponent = match.group(0), match.group(1), match.group(2)
        self.pos = match.end()
        # More than 20 characters is outside i64 anyway; skipping int() keeps huge literals cheap.
        if fraction is None and exponent is None and literal != "-0" and len(literal) <= 20:
            integer = int(literal)
            if I64_MIN <= integer <= I64_MAX:
                return integer
        try:
            double = float(literal)
        except OverflowError:
            double = math.inf
        if not math.isfinite(double):
            self.fail("number out of range")
        return double
