"""A loaded policy: its manifest, one instance, the current data image and revocations, and
the decision procedure of hosts/js/warrant.mjs (revocations first, then the guest, then the
output cross-checked against the verdict)."""

import struct
import threading
import time
import weakref

import wasmtime

from .abi import FIELD_TYPES, align_image, bitmap_words, output_bytes, read_manifest
from .abi_generated import FIRED_DECIDED, OUTPUT_WORD_SIZE
from .data_image import build_data_image
from .decision import decision_from_fired, deny_with_reason, undecided_reason
from .errors import WarrantError
from .instance import EPOCH_TICK_SECONDS, GuestInstance
from .reason import render_reason
from .request import DEFAULT_INSTANCE_CLAIM, DEFAULT_MAX_CHAIN_DEPTH, RequestError, request_from_json
from .request_image import encode_request
from .revocation import revocation_refusal, revocations_from_data
from .strict_json import JsonSyntaxError, from_python_value, parse_json

_engine = None
_engine_lock = threading.Lock()


def _shared_engine() -> wasmtime.Engine:
    """One wasmtime engine per process: engines are costly and modules compiled by one can be
    instantiated in any of its stores. Its epoch advances every ``EPOCH_TICK_SECONDS`` (as in the
    Rust engine), so that every guest call has a deadline."""
    global _engine
    with _engine_lock:
        if _engine is None:
            config = wasmtime.Config()
            config.epoch_interruption = True
            _engine = wasmtime.Engine(config)
            ticker = threading.Thread(target=_tick, args=(weakref.ref(_engine),), name="warrant-epoch", daemon=True)
            ticker.start()
        return _engine


def _tick(engine_ref) -> None:
    """Advances the engine's epoch until the engine is gone (the calls run with the GIL
    released, so this thread keeps ticking while a guest runs)."""
    while True:
        time.sleep(EPOCH_TICK_SECONDS)
        engine = engine_ref()
        if engine is None:
            return
        engine.increment_epoch()
        del engine


def load_policy(wasm, data=None, instance_claim=DEFAULT_INSTANCE_CLAIM, max_chain_depth=DEFAULT_MAX_CHAIN_DEPTH):
    """Compiles the bytes ``warrant build`` wrote and makes the policy ready to decide. ``data``
    is the data document (JSON text, UTF-8 bytes or a Python value); ``instance_claim`` and
    ``max_chain_depth`` set the claims mapping (defaults as in the Rust engine)."""
    wasm = bytes(wasm)
    engine = _shared_engine()
    try:
        module = wasmtime.Module(engine, wasm)
    except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
        raise WarrantError("invalid_module", f"invalid policy module: {error}") from error
    return Policy(engine, module, read_manifest(wasm), data, instance_claim, max_chain_depth)


class Policy:
    """A policy ready to decide. Not thread-safe (one wasmtime store): use one per thread, or a
    lock. Prefer ``load_policy``, which compiles and reads the manifest."""

    def __init__(self, engine, module, manifest, data, instance_claim, max_chain_depth):
        self.manifest = manifest
        self._engine = engine
        self._module = module
        self._mapping = (instance_claim, max_chain_depth)
        self._instance = GuestInstance(engine, module)
        self._revocations = revocations_from_data({})
        self._data_image = build_data_image(manifest, {}, self._instance.heap_base)
        # Whether the instance's memory holds the data image.
        self._data_written = False
        if data is not None:
            self.set_data(data)

    @property
    def package(self) -> str:
        """The ``package`` the policy declares."""
        return self.manifest["package"]

    @property
    def hash(self) -> str:
        """Hex SHA-256 of the policy source: the version every decision reports."""
        return self.manifest["source_hash"]

    def set_data(self, data) -> None:
        """Replaces the data document (JSON text, UTF-8 bytes or a Python value) without
        recompiling. On error the previous data stays in force."""
        tree = _to_tree(data, "data", "invalid policy data: ")
        revocations = revocations_from_data(tree)
        self._data_image = build_data_image(self.manifest, tree, self._data_image.base)
        self._revocations = revocations
        self._data_written = False

    def decide(self, request) -> dict:
        """Decides one request ``{"claims": {...}, "resource": "...", "action": "...", "now": N}``
        given as JSON text, UTF-8 bytes or a Python value. Raises ``WarrantError`` when no
        decision can be made: treat that as a deny, or use ``decide_or_deny``."""
        tree = _to_tree(request, "json", "invalid request: invalid request JSON: ")
        instance_claim, max_chain_depth = self._mapping
        try:
            resolved = request_from_json(tree, instance_claim, max_chain_depth)
        except RequestError as error:
            raise WarrantError("request", f"invalid request: {error}") from error
        return self._decide_request(resolved)

    def decide_or_deny(self, request) -> dict:
        """Fails closed: any error becomes a deny whose reason is the error."""
        try:
            return self.decide(request)
        except Exception as error:  # noqa: BLE001 - every failure must become a deny
            return deny_with_reason(f"engine error: {error}", self.manifest)

    def _decide_request(self, request) -> dict:
        """Refuses revoked requests (every hop) before the policy runs, then writes the data
        image if needed, encodes and writes the request, calls the guest."""
        revoked = revocation_refusal(self._revocations, request)
        if revoked is not None:
            return deny_with_reason(revoked, self.manifest)
        instance = self.ready_instance()
        data = self._data_image
        if not self._data_written:
            instance.write(data.base, data.bytes)
            self._data_written = True
        request_base = align_image(data.end)
        image = encode_request(self.manifest, data, request, request_base)
        instance.write(request_base, image)
        output_base = align_image(request_base + len(image))
        rules = self.manifest["rules"]
        bitmap_length = bitmap_words(len(rules)) * OUTPUT_WORD_SIZE
        instance.zero(output_base, bitmap_length)
        try:
            allowed, output = instance.decide(data.base, request_base, output_base, output_bytes(len(rules)))
        except WarrantError as error:
            # A trapped instance may hold half-written state: drop it rather than reuse it.
            if error.code == "trap":
                self._instance = None
            raise
        return self._decision(allowed, output, bitmap_length, request)

    def _decision(self, allowed: bool, output: bytes, bitmap_length: int, request) -> dict:
        """Reads the fired bitmap and the deny entries (undecided reasons included) and checks
        that the verdict follows from them."""
        inconsistent = WarrantError(
            "inconsistent_verdict", f"policy module returned verdict {int(allowed)} inconsistent with its fired rules"
        )
        fired = []
        for rule_id, rule in enumerate(self.manifest["rules"]):
            if rule["kind"] == "helper" or not _is_bit_set(output, rule_id):
                continue
            if rule["kind"] != "deny":
                fired.append(rule)
                continue
            reason = render_reason(rule, self.manifest["slots"], request, FIELD_TYPES)
            (entry,) = struct.unpack_from("<i", output, bitmap_length + rule_id * OUTPUT_WORD_SIZE)
            if entry == FIRED_DECIDED:
                fired.append({**rule, "reason": reason})
                continue
            undecided = self.manifest["undecided"]
            if not 0 <= entry < len(undecided):
                raise inconsistent
            fired.append({**rule, "reason": undecided_reason(reason, undecided[entry])})
        decision = decision_from_fired(fired, self.manifest)
        if decision["allowed"] != allowed:
            raise inconsistent
        return decision

    def ready_instance(self) -> GuestInstance:
        """The instance decisions run in; a fresh one after a trap discarded the last."""
        if self._instance is None:
            self._instance = GuestInstance(self._engine, self._module)
            self._data_written = False
        return self._instance


def _is_bit_set(output: bytes, index: int) -> bool:
    """Bit ``index % 32`` of little-endian u32 word ``index / 32``: byte ``index / 8``."""
    return (output[index // 8] >> (index % 8)) & 1 == 1


def _to_tree(value, code: str, prefix: str):
    """Parses JSON text or bytes, or checks a Python value, into the strict JSON tree."""
    try:
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            return parse_json(value)
        return from_python_value(value)
    except JsonSyntaxError as error:
        raise WarrantError(code, f"{prefix}{error}") from error
