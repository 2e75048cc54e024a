#!/usr/bin/env bash
# `warrant serve` under load: builds release, starts the server on free loopback ports, runs the
# load generator (benches/src/bin/loadgen.rs) over the matrix modes × connections × token cache
# warm/cold, samples the server's CPU (/proc/PID/stat utime+stime) and memory (VmRSS, VmHWM),
# prints a markdown table, and stops the server.
#
#   bash benches/serve_load.sh [SECONDS] [MODES] [CONNECTIONS]
#   bash benches/serve_load.sh 5 "json json-token grpc" "1 16 256"
#
# Modes: json (POST /v1/decide, claims verified by the caller), json-batch (POST
# /v1/decide/batch, $BATCH copies of the json request per call, default 8), json-token (POST
# /v1/decide/token, ES256 bearer token), grpc (Envoy ext_authz Authorization/Check). The JSON
# modes decide policies/agent-tools (an assistant agent started by a planner reads its customer's
# record: an allow, two-hop chain, data lookups); ext_authz sees only host/path/method/headers,
# so grpc decides policies/resource-pinning (GET https://crm.acme.com/contacts/42 → contact.read,
# an allow). Tokens: server/tests/keys/k1.pem, issuer https://idp.test, audience https://api.test.
# Warm = one token (the server's verified-token cache hits); cold = more distinct tokens than
# the run sends (every request verifies an ES256 signature; the JSON line's token_reuses says
# whether any token was sent twice). Each run has a 1 s warm-up, checked but not measured.
# Also printed: the in-process baseline (the same decision through Gateway, no network), and the
# machine's floor: the p50 round trip of one byte over loopback TCP between two processes
# (python3, TCP_NODELAY), which every request pays whatever the server does.
# Raw JSON lines go to $OUT (default: a temporary file, named at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

DURATION=${1:-5}
MODES=${2:-"json json-batch json-token grpc"}
BATCH=${BATCH:-8}
CONNECTIONS=${3:-"1 16 256"}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
OUT=${OUT:-$(mktemp /tmp/serve_load.XXXXXX.jsonl)}
# Enough distinct tokens that a cold run never sends one twice: ES256 verification bounds the
# cold rate to a few thousand per second per core.
COLD_TOKENS=${COLD_TOKENS:-$(python3 -c "print(max(20000, int(8000 * ($DURATION + 1))))")}
CLK_TCK=$(getconf CLK_TCK)

cargo build --release --locked -p warrant-cli --bin warrant -p warrant-benches --bin loadgen >&2
WARRANT=$TARGET/release/warrant
LOADGEN=$TARGET/release/loadgen

WORK=$(mktemp -d /tmp/serve_load.XXXXXX)
SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap 'stop_server; rm -rf "$WORK"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME: writes $WORK/NAME.toml and starts `warrant serve --config` on it; sets
# SERVER_PID, HTTP_ADDR, GRPC_ADDR once /ready answers (and the gRPC port accepts).
start_server() {
    local name=$1 policy data grpc_port http_port route=""
    http_port=$(free_port)
    grpc_port=$(free_port)
    if [ "$name" = grpc ]; then
        policy=policies/resource-pinning
        data=
        route=$'[[ext_authz.route]]\npath_prefix = "/contacts"\nmethods = ["GET"]\naction = "contact.read"'
    else
        policy=policies/agent-tools
        data=policies/agent-tools/data.json
    fi
    {
        echo "[policy]"
        echo "path = \"$REPO/$policy\""
        [ -n "$data" ] && echo "data = \"$REPO/$data\""
        echo "watch = false"
        echo "[listen]"
        echo "http = \"127.0.0.1:$http_port\""
        [ "$name" = grpc ] && echo "grpc = \"127.0.0.1:$grpc_port\""
        echo "[[issuer]]"
        echo "issuer = \"https://idp.test\""
        echo "audiences = [\"https://api.test\"]"
        echo "algorithms = [\"ES256\"]"
        echo "jwks_file = \"$REPO/server/tests/keys/k1.jwks.json\""
        echo "$route"
    } >"$WORK/$name.toml"
    RUST_LOG=warn "$WARRANT" serve --config "$WORK/$name.toml" 2>"$WORK/$name.log" &
    SERVER_PID=$!
    HTTP_ADDR=127.0.0.1:$http_port
    GRPC_ADDR=127.0.0.1:$grpc_port
    local deadline=$((SECONDS + 60))
    until curl -sf "http://$HTTP_ADDR/ready" >/dev/null 2>&1; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "warrant serve did not become ready:" >&2
            cat "$WORK/$name.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    if [ "$name" = grpc ]; then
        until (exec 3<>"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null; do
            if [ $SECONDS -ge $deadline ]; then
                echo "the gRPC listener did not open (is the ext_authz service in this build?)" >&2
                exit 1
            fi
            sleep 0.2
        done
    fi
}

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }
status_kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$SERVER_PID/status"; }

# run_one MODE CONNECTIONS CACHE: one loadgen run, its JSON line with the server's figures added.
run_one() {
    local mode=$1 connections=$2 cache=$3 tokens=1 addr=$HTTP_ADDR batch=1 before after line
    [ "$cache" = cold ] && tokens=$COLD_TOKENS
    [ "$mode" = grpc ] && addr=$GRPC_ADDR
    [ "$mode" = json-batch ] && batch=$BATCH
    before=$(cpu_ticks)
    line=$("$LOADGEN" --addr "$addr" --mode "${mode%-batch}" --batch "$batch" --connections "$connections" \
        --duration "$DURATION" --tokens "$tokens")
    after=$(cpu_ticks)
    echo "$line" | jq -c --arg cache "$cache" --argjson ticks "$((after - before))" --argjson hz "$CLK_TCK" \
        --argjson rss "$(status_kib VmRSS)" --argjson hwm "$(status_kib VmHWM)" \
        '. + {cache: $cache, server_cpu_us_per_decision: ((($ticks * 1000000 / $hz) / ([.all_requests * .batch, 1] | max)) * 10 | round / 10),
              server_rss_kib: $rss, server_hwm_kib: $hwm}' | tee -a "$OUT"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), duration ${DURATION}s" >&2
"$LOADGEN" --mode inprocess --duration 2 --warmup 0.5 | tee -a "$OUT"
python3 - <<'EOF' | tee -a "$OUT"
import json, multiprocessing, socket, time
def echo(listener):
    connection, _ = listener.accept()
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while data := connection.recv(64):
        connection.sendall(data)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
server = multiprocessing.Process(target=echo, args=(listener,))
server.start()
client = socket.create_connection(listener.getsockname())
client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rounds = []
for _ in range(20000):
    started = time.perf_counter()
    client.sendall(b"x")
    client.recv(64)
    rounds.append(time.perf_counter() - started)
client.close()
server.join()
rounds.sort()
print(json.dumps({"mode": "tcp_floor", "p50_us": round(rounds[len(rounds) // 2] * 1e6, 1),
                  "p99_us": round(rounds[int(len(rounds) * 0.99)] * 1e6, 1)}))
EOF
for mode in $MODES; do
    case $mode in
        json | json-batch) start_server json ;;
        json-token) start_server token ;;
        grpc) start_server grpc ;;
        *) echo "unknown mode $mode (json, json-batch, json-token, grpc)" >&2; exit 2 ;;
    esac
    for connections in $CONNECTIONS; do
        if [ "$mode" = json ] || [ "$mode" = json-batch ]; then
            run_one "$mode" "$connections" "-"
        else
            run_one "$mode" "$connections" warm
            run_one "$mode" "$connections" cold
        fi
    done
    stop_server
done

echo
echo "Raw results: $OUT"
echo
python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def na(value):
    return "n/a" if value is None else value
base = next((r for r in rows if r.get("mode") == "inprocess"), None)
floor = next((r for r in rows if r.get("mode") == "tcp_floor"), None)
print("| mode | conns | token cache | decisions/s | p50 µs | p99 µs | p99.9 µs | errors | server CPU µs/decision | loadgen CPU µs/req | server RSS / peak MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("mode") in ("inprocess", "tcp_floor"):
        continue
    batch = r.get("batch", 1)
    mode = r["mode"] if batch == 1 else f"{r['mode']} batch ×{batch}"
    cache = r["cache"]
    if cache == "cold" and r.get("token_reuses", 0) > 0:
        cache += f" ({r['token_reuses']} reuses)"
    print(f"| {mode} | {r['connections']} | {cache} | {r.get('decisions_per_s', r['rps']):,.0f} | {r['p50_us']} | {r['p99_us']} | {r['p999_us']} "
          f"| {r['errors']} | {r['server_cpu_us_per_decision']} | {na(r.get('client_cpu_us_per_request'))} "
          f"| {r['server_rss_kib'] / 1024:.1f} / {r['server_hwm_kib'] / 1024:.1f} |")
if base:
    print()
    print("In process (one thread, same decision through `Gateway`, no network):")
    for key, what in [("decide", "decide a prepared request"), ("json", "JSON body → request → decision → JSON"),
                      ("token", "token (cache warm) → request → decision")]:
        b = base[key]
        print(f"- {what}: p50 {b['p50_us']} µs, p99 {b['p99_us']} µs, {b['per_s']:,.0f}/s")
    def one(mode, cache):
        return next((r for r in rows if r.get("mode") == mode and r.get("batch", 1) == 1 and r["connections"] == 1
                     and r["cache"] == cache), None)
    for mode, cache, key in [("json", "-", "json"), ("json-token", "warm", "token")]:
        r = one(mode, cache)
        if r:
            print(f"- server overhead p50, {mode} at 1 connection: {r['p50_us'] - base['decide']['p50_us']:.1f} µs over "
                  f"the bare decision, {r['p50_us'] - base[key]['p50_us']:.1f} µs over the same work in process")
if floor:
    print(f"- the machine's floor: one byte over loopback TCP between two processes, round trip p50 "
          f"{floor['p50_us']} µs, p99 {floor['p99_us']} µs")
EOF
