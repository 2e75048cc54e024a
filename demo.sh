#!/usr/bin/env bash
# Decides two requests of the support-agent example: one allowed, one denied, with reasons.
# Uses the dev profile (dependencies are optimised there too), so it shares its build with the tests.
set -euo pipefail
cd "$(dirname "$0")"
for request in allow deny-other-customer; do
    echo "== policies/support/$request.json"
    cargo run -q --bin warrant -- eval policies/support/policy.warrant \
        --input "policies/support/$request.json" --data policies/support/data.json --format text
    echo
done
