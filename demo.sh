#!/usr/bin/env bash
# Decides two requests of the support-agent example: one allowed, one denied, with reasons.
set -euo pipefail
cd "$(dirname "$0")"
cargo build -q --release --bin warrant
for request in allow deny-other-customer; do
    echo "== policies/support/$request.json"
    cargo run -q --release --bin warrant -- eval policies/support/policy.warrant \
        --input "policies/support/$request.json" --data policies/support/data.json --format text
    echo
done
