"""Hand-made policy modules for the unit tests: the exports the current ABI asks for, a chosen
``warrant_decide`` body and a chosen manifest, so each host check can be driven directly."""

import json

import wasmtime

from warrant_wasm.abi_generated import ABI_VERSION_MAJOR, ABI_VERSION_WORD

ALLOW_MANIFEST = {
    "abi_version": {"major": ABI_VERSION_MAJOR, "minor": 0},
    "package": "handmade",
    "source_hash": "00",
    "literals": [],
    "slots": [{"source": {"claim": ["blob"]}, "ty": "str"}],
    "rules": [{"name": "anything", "kind": "allow", "line": 1}],
    "undecided": [],
}

#: Sets the fired bit of rule 0 and returns allow.
FIRES_RULE_0_ALLOW = "(i32.store (local.get 2) (i32.const 1)) (i32.const 1)"
TRAPS = "unreachable"
LOOPS_FOREVER = "(loop $forever (br $forever)) (i32.const 0)"
#: Traps on the first call of an instance (its state then is half-written), allows afterwards.
TRAPS_ONCE = (
    f"(if (i32.eqz (global.get $calls)) (then (global.set $calls (i32.const 1)) unreachable)) {FIRES_RULE_0_ALLOW}"
)


def deny_entry(entry: int) -> str:
    """Fires rule 0 (a deny rule) with output entry ``entry`` and returns deny."""
    return (
        f"(i32.store (local.get 2) (i32.const 1)) (i32.store offset=4 (local.get 2) (i32.const {entry})) (i32.const 0)"
    )


def module(body: str = FIRES_RULE_0_ALLOW, manifest=None, abi_word: int = ABI_VERSION_WORD, max_pages=None) -> bytes:
    """A module whose ``warrant_decide`` runs ``body`` (WAT), with ``manifest`` (a dict, or raw
    bytes, or None for no manifest section) as its ``warrant.manifest`` custom section."""
    limits = "1" if max_pages is None else f"1 {max_pages}"
    wasm = wasmtime.wat2wasm(
        f"""(module
          (memory (export "memory") {limits})
          (global (export "warrant_heap_base") i32 (i32.const 1024))
          (global $calls (mut i32) (i32.const 0))
          (func (export "warrant_abi_version") (result i32) (i32.const {abi_word}))
          (func (export "warrant_decide") (param i32 i32 i32) (result i32) {body}))"""
    )
    if manifest is None:
        return bytes(wasm)
    payload = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    name = b"warrant.manifest"
    contents = _leb(len(name)) + name + payload
    return bytes(wasm) + b"\x00" + _leb(len(contents)) + contents


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
