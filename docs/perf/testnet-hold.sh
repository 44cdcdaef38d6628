#!/bin/bash
# One held-load run of docs/PERFORMANCE.md (the 2026-11-23 sections): a fresh 4-validator testnet, then
# `siegel bench` for DURATION at RATE transactions of 1,000 hashes, then the validators' CPU time.
# Usage: bash docs/perf/testnet-hold.sh RATE DURATION [TIMEOUT_COMMIT]   (e.g. 20 60s 500ms)
# Run from the checkout after `make build` (or set B to a binary); uses ports 29100-29134 and /tmp/tnhold.
# WARM=D first loads the fresh testnet at the same rate for D (not measured): the measured run then
# starts on stores that hold D x RATE x 1,000 anchors already, and on nodes whose memory has grown to
# its working size (about 2 GB each after a minute; docs/PERFORMANCE.md, "Where the rest goes").
# STALL=S stops all four validators (SIGSTOP) for S seconds, STALL_AT (default 20) seconds into the
# measured run: whether and how fast the network catches up with its load afterwards.
# MAXB=N sets the genesis block limit (consensus_params.block.max_bytes) before the testnet starts, to
# compare with another bound than consensus.MaxBlockBytes.
# CFG='key = value; ...' sets CometBFT settings in every node's config.toml before the testnet starts
# (keys as they appear there, e.g. CFG='skip_timeout_commit = true; peer_gossip_sleep_duration = "10ms"').
# KEEP=1 leaves the testnet running afterwards (for testnet-blocks.py or node 0's metrics on port
# 29104); stop it with `siegel testnet stop --dir /tmp/tnhold`.
set -u
cd "$(dirname "$0")/../.."
RATE=$1 DUR=$2 TC=${3:-500ms}
D=/tmp/tnhold B=${B:-./bin/siegel}
$B testnet stop --dir $D >/dev/null 2>&1; sleep 2; rm -rf $D
$B testnet init --validators 4 --dir $D --base-port 29100 --timeout-commit "$TC" >/dev/null
if [ -n "${MAXB:-}" ]; then
  for g in $D/node*/config/genesis.json; do
    python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); g["consensus_params"]["block"]["max_bytes"]=sys.argv[2]; json.dump(g, open(sys.argv[1], "w"), indent=2)' $g "$MAXB"
  done
fi
if [ -n "${CFG:-}" ]; then
  for c in $D/node*/config/config.toml; do
    python3 -c '
import re, sys, tomllib
path, text = sys.argv[1], open(sys.argv[1]).read()
for kv in filter(str.strip, sys.argv[2].split(";")):
    if "=" not in kv: sys.exit("CFG: %r is not key = value" % kv.strip())
    k, v = (x.strip() for x in kv.split("=", 1))
    text, n = re.subn(r"(?m)^" + re.escape(k) + r" = .*$", lambda m: k + " = " + v, text)
    if n != 1: sys.exit("CFG: %s appears %d times in %s" % (k, n, path))
try: tomllib.loads(text)
except tomllib.TOMLDecodeError as e: sys.exit("CFG: %s would not parse (quote strings and durations): %s" % (path, e))
open(path, "w").write(text)' "$c" "$CFG" || exit 1
  done
fi
($B testnet start --dir $D >/tmp/tnhold.log 2>&1 &)
sleep 12
# The validators' user and system CPU time so far, in clock ticks (100 a second).
cpu() { for p in $(pgrep -f "$D/node"); do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd+ | bc; }
N=http://127.0.0.1:29103,http://127.0.0.1:29113,http://127.0.0.1:29123,http://127.0.0.1:29133
if [ -n "${WARM:-}" ]; then
  $B bench --node $N --key $D/agency.key --duration "$WARM" --rate "$RATE" --batch 1000 --json 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("warm-up", sys.argv[1], "anchors/s", round(d["anchors_per_s"]), "p99", d["latency_ms"]["p99"])' "$WARM"
  sleep 5
fi
c0=$(cpu)
if [ -n "${STALL:-}" ]; then
  (sleep "${STALL_AT:-20}"; P=$(pgrep -f "$D/node" | tr '\n' ' '); kill -STOP $P; sleep "$STALL"; kill -CONT $P) &
fi
$B bench --node $N --key $D/agency.key --duration "$DUR" --rate "$RATE" --batch 1000 --json 2>/dev/null |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("CFG", repr(sys.argv[2]), "timeout_commit", sys.argv[1], "rate", d["rate_tx_per_s"], "anchors/s", round(d["anchors_per_s"]), d["latency_ms"], d["rejected"])' "$TC" "${CFG:-}"
echo "validators' CPU: $(echo "($(cpu)-$c0)/100" | bc -l | cut -c1-6) s"
[ "${KEEP:-}" = 1 ] || $B testnet stop --dir $D >/dev/null 2>&1
