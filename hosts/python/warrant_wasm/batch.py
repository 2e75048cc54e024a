"""Conformance batch runner for cli/tests/cross_host_python.rs, mirroring hosts/js/batch.mjs:
decides many requests per policy in ONE Python process and prints every outcome as JSON.
Input file: ``{"policies": [{"wasm": PATH, "data": JSON_TEXT | null, "requests": [JSON_TEXT,
...]}]}``. Output: one array per policy, one entry per request: ``{"decision": {...}}`` or
``{"error": {"code", "message"}}``; a policy that cannot load gives ``{"load_error": {"code",
"message"}}`` instead of its array.

Every guest call is also watched: a guest that changes any byte of its memory outside the
output area the host gave it makes that decision fail with ``guest_wrote_outside_output``.

Usage: ``python -m warrant_wasm.batch BATCH.json``. With ``--images BASE``, nothing is
decided: it prints, per policy, ``{"data": HEX, "requests": [HEX | null, ...]}``, the data image
laid out at ``BASE`` and each request's image after it (null when the request is refused), for
comparison with the Rust encoders byte for byte.
"""

import json
import sys

from .abi import align_image, output_bytes, read_manifest
from .data_image import build_data_image
from .errors import WarrantError
from .policy import load_policy
from .request import RequestError, request_from_json
from .request_image import encode_request
from .strict_json import JsonSyntaxError, parse_json


def _watch_guest_writes(policy):
    """Wraps the current instance's ``warrant_decide`` so that it compares all of guest memory
    before and after the call, except the output area, and records the first changed address in
    ``instance.stray_write``. Test instrumentation: it reaches into the policy's instance."""
    instance = policy.ready_instance()
    if getattr(instance, "watched", False):
        return instance
    call = instance.decide_export
    output_length = output_bytes(len(policy.manifest["rules"]))

    def watched(store, data_ptr, request_ptr, output_ptr):
        instance.stray_write = None
        before = bytes(instance.memory.read(store, 0, instance.memory.data_len(store)))
        code = call(store, data_ptr, request_ptr, output_ptr)
        after = bytes(instance.memory.read(store, 0, instance.memory.data_len(store)))
        if len(after) != len(before):
            instance.stray_write = len(before)
        output_start = output_ptr & 0xFFFF_FFFF
        memory_end = min(len(before), len(after))
        for start, end in ((0, output_start), (output_start + output_length, memory_end)):
            if instance.stray_write is None and start < end and before[start:end] != after[start:end]:
                instance.stray_write = start + next(
                    i for i in range(end - start) if before[start + i] != after[start + i]
                )
        return code

    instance.decide_export = watched
    instance.watched = True
    instance.stray_write = None
    return instance


def _describe(error) -> dict:
    return {"code": getattr(error, "code", "uncaught"), "message": str(error)}


def _decide(policy, request) -> dict:
    try:
        instance = _watch_guest_writes(policy)
        decision = policy.decide(request)
        if instance.stray_write is not None:
            message = f"guest changed memory at {instance.stray_write}, outside its output area"
            return {"error": {"code": "guest_wrote_outside_output", "message": message}}
        return {"decision": decision}
    except Exception as error:  # noqa: BLE001 - every outcome is reported, crashes included
        return {"error": _describe(error)}


def run(batch_path: str) -> list:
    """Every outcome of the batch file, per policy."""
    with open(batch_path, encoding="utf-8") as file:
        batch = json.load(file)
    results = []
    for entry in batch["policies"]:
        try:
            with open(entry["wasm"], "rb") as file:
                policy = load_policy(file.read(), data=entry["data"])
        except Exception as error:  # noqa: BLE001 - a load failure is an outcome
            results.append({"load_error": _describe(error)})
            continue
        results.append([_decide(policy, request) for request in entry["requests"]])
    return results


def images(batch_path: str, base: int) -> list:
    """The data image of every policy of the batch file laid out at ``base``, and the image of
    each of its requests placed after it, as hex (None for a refused request)."""
    with open(batch_path, encoding="utf-8") as file:
        batch = json.load(file)
    results = []
    for entry in batch["policies"]:
        with open(entry["wasm"], "rb") as file:
            manifest = read_manifest(file.read())
        data = build_data_image(manifest, {} if entry["data"] is None else parse_json(entry["data"]), base)
        requests = []
        for text in entry["requests"]:
            try:
                image = encode_request(manifest, data, request_from_json(parse_json(text)), align_image(data.end))
                requests.append(image.hex())
            except (JsonSyntaxError, RequestError, WarrantError):
                requests.append(None)
        results.append({"data": data.bytes.hex(), "requests": requests})
    return results


def main(argv=None) -> int:
    """Prints the outcomes (or the images) of the batch file named on the command line."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1:
        sys.stdout.write(json.dumps(run(argv[0]), ensure_ascii=False))
    elif len(argv) == 3 and argv[0] == "--images" and argv[1].isdigit():
        sys.stdout.write(json.dumps(images(argv[2], int(argv[1]))))
    else:
        sys.stderr.write("usage: python -m warrant_wasm.batch [--images BASE] BATCH.json\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
