"""The strict JSON reader accepts and refuses what serde_json does, where Python's ``json``
module does not (each case notes what ``json.loads`` would do)."""

import json
import unittest

from warrant_wasm.strict_json import JsonSyntaxError, from_python_value, parse_json


class StrictJsonTest(unittest.TestCase):
    def refused(self, text, message):
        with self.assertRaises(JsonSyntaxError) as caught:
            parse_json(text)
        self.assertIn(message, str(caught.exception))

    def test_non_finite_numbers_are_refused(self):
        self.assertTrue(json.loads("[NaN]"))  # accepted by the standard library
        self.refused("[NaN]", "expected a value")
        self.refused("[Infinity]", "expected a value")
        self.refused("1e400", "number out of range")

    def test_integers_are_i64_only_and_1_0_is_not_an_integer(self):
        self.assertEqual(parse_json("9223372036854775807"), 2**63 - 1)
        self.assertIs(type(parse_json("9223372036854775808")), float)
        self.assertIs(type(parse_json("-9223372036854775808")), int)
        self.assertIs(type(parse_json("1.0")), float)
        self.assertIs(type(parse_json("1e0")), float)
        self.assertIs(type(parse_json("-0")), float)
        self.assertIs(type(parse_json("0")), int)

    def test_lone_surrogates_are_refused(self):
        self.assertEqual(len(json.loads('"\\ud800"')), 1)  # accepted by the standard library
        self.refused('"\\ud800"', "lone leading surrogate")
        self.refused('"\\udc00"', "lone trailing surrogate")
        self.refused('"\\ud800\\u0041"', "lone leading surrogate")
        self.refused('"\ud800"', "lone surrogate")
        self.assertEqual(parse_json('"\\ud83d\\ude00"'), "\U0001f600")

    def test_bom_control_characters_and_bad_utf8_are_refused(self):
        self.refused(b"\xef\xbb\xbf{}", "expected a value")
        self.refused("\ufeff{}", "expected a value")
        self.refused('"a\x01"', "control character in string")
        self.refused(b'"\xff"', "invalid UTF-8")
        self.refused("[1,]", "expected a value")
        self.refused("{} x", "trailing characters")
        self.refused("\x0c{}", "expected a value")  # form feed is not JSON whitespace

    def test_nesting_is_limited_to_127(self):
        self.assertEqual(parse_json("[" * 127 + "]" * 127), parse_json("[" * 127 + "]" * 127))
        self.refused("[" * 128 + "]" * 128, "recursion limit exceeded")
        self.refused('{"a":' * 128 + "1" + "}" * 128, "recursion limit exceeded")

    def test_duplicate_keys_keep_first_position_and_last_value(self):
        self.assertEqual(list(parse_json('{"a": 1, "b": 2, "a": 3}').items()), [("a", 3), ("b", 2)])

    def test_python_values_follow_the_same_rules(self):
        self.assertIs(from_python_value(True), True)
        self.assertIs(type(from_python_value(2**63)), float)
        self.assertIs(type(from_python_value(1.0)), float)
        for bad in (float("nan"), "\ud800", {1: "x"}, object()):
            with self.assertRaises(JsonSyntaxError):
                from_python_value(bad)
        cyclic = []
        cyclic.append(cyclic)
        with self.assertRaises(JsonSyntaxError):
            from_python_value(cyclic)


if __name__ == "__main__":
    unittest.main()
