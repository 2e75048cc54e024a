"""Reading and checking the manifest a policy module carries (wasm-guest/ABI.md §2), and the
layout helpers every image shares. The constants come from the generated ``abi_generated``."""

import json

from .abi_generated import (
    ABI_VERSION_MAJOR,
    IMAGE_ALIGN,
    MANIFEST_SECTION,
    OUTPUT_WORD_SIZE,
    RULE_KINDS,
    SLOT_TYPES,
    VOCABULARY,
)
from .errors import WarrantError
from .reason import is_template

#: Request fields and the type each is read as (ABI.md §2), from the generated vocabulary.
FIELD_TYPES = {field["name"]: field["ty"] for field in VOCABULARY}
_WASM_HEADER = b"\0asm"


def align_image(offset: int) -> int:
    """``offset`` rounded up to the image alignment: every image starts aligned."""
    return -(-offset // IMAGE_ALIGN) * IMAGE_ALIGN


def output_bytes(rule_count: int) -> int:
    """Bytes of the output area: the fired bitmap, then one i32 entry per rule (ABI.md §7)."""
    return (bitmap_words(rule_count) + rule_count) * OUTPUT_WORD_SIZE


def bitmap_words(rule_count: int) -> int:
    """Words of the fired bitmap: one bit per rule, 32 rules a word."""
    return -(-rule_count // (OUTPUT_WORD_SIZE * 8))


def check_abi_major(major: int) -> None:
    """Refuses a module built for another major ABI version, whichever part of it says so."""
    if major != ABI_VERSION_MAJOR:
        raise WarrantError(
            "abi_mismatch",
            f"policy module uses ABI {major}.x; this host supports ABI {ABI_VERSION_MAJOR}.x "
            "(rebuild it with a matching `warrant build`)",
        )


def read_manifest(wasm: bytes) -> dict:
    """The checked manifest ``{abi_version, package, source_hash, literals, slots, rules,
    undecided}`` of a module that wasmtime already validated, after refusing another ABI major."""
    section = _custom_section(wasm, MANIFEST_SECTION)
    if section is None:
        raise WarrantError("manifest", f"not a Warrant policy module: no `{MANIFEST_SECTION}` custom section")
    try:
        manifest = json.loads(section.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _invalid(str(error)) from error
    if not isinstance(manifest, dict):
        raise _invalid("`abi_version` must be {major, minor}")
    version = manifest.get("abi_version")
    if not isinstance(version, dict) or not _is_u16(version.get("major")) or not _is_u16(version.get("minor")):
        raise _invalid("`abi_version` must be {major, minor}")
    check_abi_major(version["major"])
    if not isinstance(manifest.get("package"), str) or not isinstance(manifest.get("source_hash"), str):
        raise _invalid("`package` and `source_hash` must be strings")
    _check_literals(manifest.get("literals"))
    _check_slots(manifest.get("slots"))
    _check_rules(manifest.get("rules"), manifest.get("slots"))
    undecided = manifest.get("undecided")
    if not isinstance(undecided, list) or not all(isinstance(m, str) for m in undecided):
        raise _invalid("`undecided` must be an array of strings")
    return manifest


def _custom_section(wasm: bytes, name: str):
    """The contents of the first custom section called ``name``, or None. The module is valid
    (wasmtime compiled it), so the section framing can be trusted; bounds are checked anyway."""
    if wasm[:4] != _WASM_HEADER:
        return None
    pos = 8
    while pos < len(wasm):
        section_id = wasm[pos]
        size, pos = _read_leb(wasm, pos + 1)
        end = pos + size
        if section_id == 0:
            name_length, start = _read_leb(wasm, pos)
            if wasm[start : start + name_length] == name.encode():
                return bytes(wasm[start + name_length : end])
        pos = end
    return None


def _read_leb(data: bytes, pos: int):
    """An unsigned LEB128 value at ``pos`` and the position after it."""
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return value, pos


def _check_literals(literals) -> None:
    if not isinstance(literals, list) or not all(isinstance(item, str) for item in literals):
        raise _invalid("`literals` must be an array of strings")
    # Interning relies on a literal's id being the only id of its string.
    if len(set(literals)) != len(literals):
        raise _invalid("duplicate literal")


def _check_slots(slots) -> None:
    if not isinstance(slots, list):
        raise _invalid("`slots` must be an array")
    for slot in slots:
        source = slot.get("source") if isinstance(slot, dict) else None
        valid = (
            isinstance(slot, dict)
            and _is_one_of(slot.get("ty"), SLOT_TYPES)
            and isinstance(source, dict)
            and len(source) == 1
            and (
                _is_one_of(source.get("field"), FIELD_TYPES)
                or _is_path(source.get("claim"))
                or _is_path(source.get("context"))
                or _is_path(source.get("actor_claim"))
                or _is_path(source.get("data"))
                or (
                    isinstance(source.get("data_table"), dict)
                    and _is_path(source["data_table"].get("table"))
                    and _is_path(source["data_table"].get("field"))
                )
            )
        )
        if not valid:
            raise _invalid(f"unknown slot {json.dumps(slot)}")


def _check_rules(rules, slots) -> None:
    if not isinstance(rules, list):
        raise _invalid("`rules` must be an array")
    for rule in rules:
        valid = (
            isinstance(rule, dict)
            and isinstance(rule.get("name"), str)
            and _is_one_of(rule.get("kind"), RULE_KINDS)
            and (rule["kind"] != "deny" or isinstance(rule.get("reason"), str))
            and ("template" not in rule or (rule["kind"] == "deny" and is_template(rule["template"], slots)))
        )
        if not valid:
            raise _invalid(f"invalid rule {json.dumps(rule)}")


def _is_one_of(value, names) -> bool:
    """Whether ``value`` is one of the string ``names`` (never a TypeError on unhashable JSON)."""
    return isinstance(value, str) and value in names


def _is_path(value) -> bool:
    return isinstance(value, list) and all(isinstance(step, str) for step in value)


def _is_u16(value) -> bool:
    return type(value) is int and 0 <= value <= 0xFFFF


def _invalid(detail: str) -> WarrantError:
    return WarrantError("manifest", f"not a Warrant policy module: invalid manifest: {detail}")
