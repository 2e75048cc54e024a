// Conformance batch runner for cli/tests/cross_host.rs: decides many requests per policy in ONE
// Node process and prints every outcome as JSON, so the Rust test can compare them with the
// Rust engine's. Input file: {"policies": [{"wasm": PATH, "data": JSON_TEXT | null,
// "requests": [JSON_TEXT, ...]}]}. Output: one array per policy, one entry per request:
// {"decision": {...}} or {"error": {"code", "message"}}; a policy that cannot load gives
// {"load_error": {"code", "message"}} instead of its array.
//
// Every guest call is also watched: a guest that changes any byte of its memory outside the
// output area the host gave it makes that decision fail with `guest_wrote_outside_output`.
import { readFileSync } from "node:fs";
import { outputBytes } from "./abi.mjs";
import { loadPolicy } from "./warrant.mjs";

/**
 * Wraps the current instance's `warrant_decide` so that it compares all of guest memory before
 * and after the call, except the output area (`outputBytes(rules)`), and records the first
 * changed address in `instance.strayWrite`. Test instrumentation: it reaches into the policy's
 * instance (and wraps again after a trap replaces the instance).
 */
function watchGuestWrites(policy) {
  const instance = policy.readyInstance();
  if (instance.watched) return instance;
  const call = instance.decideExport;
  const outputLength = outputBytes(policy.manifest.rules.length);
  instance.decideExport = (dataPtr, requestPtr, outputPtr) => {
    instance.strayWrite = undefined;
    const before = Buffer.from(new Uint8Array(instance.memory.buffer).slice().buffer);
    const code = call(dataPtr, requestPtr, outputPtr);
    const after = Buffer.from(instance.memory.buffer);
    if (after.length !== before.length) instance.strayWrite = before.length;
    const outputStart = outputPtr >>> 0;
    const memoryEnd = Math.min(before.length, after.length);
    for (const [start, end] of [[0, outputStart], [outputStart + outputLength, memoryEnd]]) {
      if (start < end && before.compare(after, start, end, start, end) !== 0) {
        instance.strayWrite ??= start + after.subarray(start, end).findIndex((byte, at) => byte !== before[start + at]);
      }
    }
    return code;
  };
  instance.watched = true;
  return instance;
}

function describe(error) {
  return { code: error.code ?? "uncaught", message: String(error.message) };
}

async function run(batchPath) {
  const batch = JSON.parse(readFileSync(batchPath, "utf8"));
  const results = [];
  for (const entry of batch.policies) {
    let policy;
    try {
      policy = await loadPolicy(readFileSync(entry.wasm), entry.data === null ? {} : { data: entry.data });
    } catch (error) {
      results.push({ load_error: describe(error) });
      continue;
    }
    results.push(
      entry.requests.map((request) => {
        try {
          const instance = watchGuestWrites(policy);
          const decision = policy.decide(request);
          if (instance.strayWrite !== undefined) {
            const message = `guest changed memory at ${instance.strayWrite}, outside its output area`;
            return { error: { code: "guest_wrote_outside_output", message } };
          }
          return { decision };
        } catch (error) {
          return { error: describe(error) };
        }
      }),
    );
  }
  return results;
}

const [batchPath] = process.argv.slice(2);
if (batchPath === undefined) {
  process.stderr.write("usage: node batch.mjs BATCH.json\n");
  process.exitCode = 1;
} else {
  process.stdout.write(JSON.stringify(await run(batchPath)));
}
