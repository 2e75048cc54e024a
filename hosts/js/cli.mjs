#!/usr/bin/env node
// `node cli.mjs POLICY.wasm --input REQUEST.json [--data DATA.json]`: decides one request with a
// module built by `warrant build` and prints the decision JSON exactly as
// `warrant eval --format json` does. Exit codes as the Rust CLI: 0 when a decision was made
// (allowed or denied), 1 on any error.
import { closeSync, openSync, readSync } from "node:fs";
import { loadPolicy } from "./warrant.mjs";

/** Input caps, as in the Rust CLI: a wrong path (a device, a huge log) fails fast. */
const MAX_POLICY_BYTES = 4 * 1024 * 1024;
const MAX_REQUEST_BYTES = 1024 * 1024;
const MAX_DATA_BYTES = 16 * 1024 * 1024;

const USAGE = "usage: node cli.mjs POLICY.wasm --input REQUEST.json [--data DATA.json] [--format json]";

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { policy: undefined, input: undefined, data: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--input" || arg === "-i") args.input = value();
    else if (arg === "--data" || arg === "-d") args.data = value();
    else if (arg === "--format" || arg === "-f") {
      if (value() !== "json") throw new UsageError("only --format json is supported");
    } else if (arg.startsWith("-") || args.policy !== undefined) throw new UsageError(`unexpected argument ${arg}`);
    else args.policy = arg;
  }
  if (args.policy === undefined || args.input === undefined) throw new UsageError("POLICY and --input are required");
  return args;
}

/** Reads at most `limit` bytes of `path`; a longer file is an error, never truncated. */
function readCapped(path, what, limit) {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > limit) throw new Error(`${path} is larger than the ${limit}-byte limit for ${what}`);
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

async function main(argv) {
  const args = parseArgs(argv);
  const wasm = readCapped(args.policy, "policies", MAX_POLICY_BYTES);
  const data = args.data === undefined ? undefined : readCapped(args.data, "data documents", MAX_DATA_BYTES);
  const request = readCapped(args.input, "requests", MAX_REQUEST_BYTES);
  const policy = await loadPolicy(wasm, { data });
  process.stdout.write(`${JSON.stringify(policy.decide(request), null, 2)}\n`);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error: ${error.message}\n`);
  if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
  process.exitCode = 1;
}
