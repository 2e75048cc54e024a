"""One instantiated policy module and its memory: checks the exports the ABI requires, writes
images (growing memory as needed, refusing what cannot fit) and runs ``warrant_decide``.
A port of hosts/js/instance.mjs on the ``wasmtime`` package."""

import wasmtime

from .abi import check_abi_major
from .abi_generated import (
    DECIDE_ALLOW,
    DECIDE_DENY,
    EXPORT_ABI_VERSION,
    EXPORT_DECIDE,
    EXPORT_HEAP_BASE,
    EXPORT_MEMORY,
    IMAGE_ALIGN,
)
from .errors import WarrantError

#: How often the engine's epoch advances, and how many ticks one guest call may run: the Rust
#: engine's ``EPOCH_TICK`` and ``CALL_DEADLINE_TICKS`` (engine/src/host/mod.rs), so a guest that
#: loops forever traps after about 100 ms instead of hanging the caller.
EPOCH_TICK_SECONDS = 0.010
CALL_DEADLINE_TICKS = 10

_WASM_PAGE_BYTES = 65_536
_U32_MAX = 0xFFFF_FFFF


class GuestInstance:
    """A store with one instance of a policy module (no imports: policies are standalone), whose
    code was checked to speak this host's ABI major version, whatever its manifest claims."""

    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module):
        self.store = wasmtime.Store(engine)
        self.store.set_epoch_deadline(CALL_DEADLINE_TICKS)
        try:
            instance = wasmtime.Instance(self.store, module, [])
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            raise _invalid(f"cannot instantiate: {error}") from error
        exports = instance.exports(self.store)
        self.memory = exports.get(EXPORT_MEMORY)
        if not isinstance(self.memory, wasmtime.Memory):
            raise _invalid(f"missing export `{EXPORT_MEMORY}`")
        self.decide_export = exports.get(EXPORT_DECIDE)
        if not isinstance(self.decide_export, wasmtime.Func):
            raise _invalid(f"missing export `{EXPORT_DECIDE}`")
        heap_base = exports.get(EXPORT_HEAP_BASE)
        value = heap_base.value(self.store) if isinstance(heap_base, wasmtime.Global) else None
        if type(value) is not int:
            raise _invalid(f"missing export `{EXPORT_HEAP_BASE}`")
        if value < 0 or value % IMAGE_ALIGN != 0:
            raise _invalid(f"`{EXPORT_HEAP_BASE}` is not an aligned address")
        self.heap_base = value
        version = exports.get(EXPORT_ABI_VERSION)
        if not isinstance(version, wasmtime.Func):
            raise _invalid(f"missing export `{EXPORT_ABI_VERSION}`")
        try:
            self.store.set_epoch_deadline(CALL_DEADLINE_TICKS)
            word = version(self.store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            raise _invalid(f"export `{EXPORT_ABI_VERSION}`: {error}") from error
        if type(word) is not int:
            raise _invalid(f"export `{EXPORT_ABI_VERSION}` did not return an i32")
        check_abi_major((word >> 16) & 0xFFFF)

    def write(self, at: int, data: bytes) -> None:
        """Copies ``data`` to guest memory at ``at``, growing the memory if needed."""
        self.reserve(at, len(data))
        self.memory.write(self.store, data, at)

    def zero(self, at: int, length: int) -> None:
        """Zeroes ``length`` bytes of guest memory at ``at``, growing the memory if needed."""
        self.write(at, bytes(length))

    def decide(self, data_base: int, request_base: int, output_base: int, output_length: int):
        """Calls ``warrant_decide``; returns ``(allowed, output)`` where ``output`` holds the
        ``output_length`` bytes of the output area. Traps and negative codes are errors."""
        try:
            self.store.set_epoch_deadline(CALL_DEADLINE_TICKS)
            code = self.decide_export(self.store, _i32(data_base), _i32(request_base), _i32(output_base))
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            raise WarrantError("trap", f"policy module trapped: {error}") from error
        if type(code) is not int:
            raise WarrantError(
                "inconsistent_verdict", f"policy module returned verdict {code} inconsistent with its fired rules"
            )
        if code < 0:
            raise WarrantError("guest_rejected", f"policy module reported malformed input (code {code})")
        if code not in (DECIDE_ALLOW, DECIDE_DENY):
            raise WarrantError(
                "inconsistent_verdict", f"policy module returned verdict {code} inconsistent with its fired rules"
            )
        self.reserve(output_base, output_length)
        return code == DECIDE_ALLOW, bytes(self.memory.read(self.store, output_base, output_base + output_length))

    def reserve(self, at: int, length: int) -> None:
        """Makes ``[at, at + length)`` addressable in the 32-bit guest memory."""
        end = at + length
        too_large = WarrantError("input_too_large", f"input too large for guest memory: {end} bytes needed")
        if end > _U32_MAX:
            raise too_large
        size = self.memory.data_len(self.store)
        if end > size:
            try:
                self.memory.grow(self.store, -(-(end - size) // _WASM_PAGE_BYTES))
            except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
                raise too_large from error


def _i32(address: int) -> int:
    """An address as the signed i32 the export takes (``| 0`` in JavaScript)."""
    return address - (1 << 32) if address >= 1 << 31 else address


def _invalid(message: str) -> WarrantError:
    return WarrantError("invalid_module", f"invalid policy module: {message}")
