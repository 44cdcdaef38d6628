#!/bin/bash
# One held-load run of docs/PERFORMANCE.md (the 2026-11-23 sections): a fresh 4-validator testnet, then
# `siegel bench` for DURATION at RATE transactions of 1,000 hashes, then the validators' CPU time.
# Usage: bash docs/perf/testnet-hold.sh RATE DURATION [TIMEOUT_COMMIT]   (e.g. 20 60s 500ms)
# Run from the checkout after `make build` (or set B to a binary); uses ports 29100-29134 and /tmp/tnhold.
# KEEP=1 leaves the testnet running afterwards (for testnet-blocks.py or node 0's metrics on port
# 29104); stop it with `siegel testnet stop --dir /tmp/tnhold`.
set -u
cd "$(dirname "$0")/../.."
RATE=$1 DUR=$2 TC=${3:-500ms}
D=/tmp/tnhold B=${B:-./bin/siegel}
$B testnet stop --dir $D >/dev/null 2>&1; sleep 2; rm -rf $D
$B testnet init --validators 4 --dir $D --base-port 29100 --timeout-commit "$TC" >/dev/null
($B testnet start --dir $D >/tmp/tnhold.log 2>&1 &)
sleep 12
# The validators' user and system CPU time so far, in clock ticks (100 a second).
cpu() { for p in $(pgrep -f "$D/node"); do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc; }
c0=$(cpu)
N=http://127.0.0.1:29103,http://127.0.0.1:29113,http://127.0.0.1:29123,http://127.0.0.1:29133
$B bench --node $N --key $D/agency.key --duration "$DUR" --rate "$RATE" --batch 1000 --json 2>/dev/null |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("timeout_commit", sys.argv[1], "rate", d["rate_tx_per_s"], "anchors/s", round(d["anchors_per_s"]), d["latency_ms"], d["rejected"])' "$TC"
echo "validators' CPU: $(echo "($(cpu)-$c0)/100" | bc -l | cut -c1-6) s"
[ "${KEEP:-}" = 1 ] || $B testnet stop --dir $D >/dev/null 2>&1
