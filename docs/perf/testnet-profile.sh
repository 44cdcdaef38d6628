#!/bin/bash
# CPU profiles of two validators of a loaded 4-validator testnet (docs/PERFORMANCE.md): a fresh testnet
# with CometBFT's pprof listener on each node, `siegel bench` at RATE transactions of 1,000 hashes for
# DURATION, and 20 s profiles of nodes 0 and 1 from second START of the load, in /tmp/prof0.pb.gz and
# /tmp/prof1.pb.gz (`go tool pprof -top bin/siegel /tmp/prof0.pb.gz`).
# Usage: bash docs/perf/testnet-profile.sh RATE DURATION START [TIMEOUT_COMMIT]   (e.g. 22 50s 20)
# Run from the checkout after `make build` (or set B to a binary); ports 29100-29134 and 29600-29603.
set -u
cd "$(dirname "$0")/../.."
RATE=$1 DUR=$2 START=$3 TC=${4:-500ms}
D=/tmp/tnprof B=${B:-./bin/siegel}
$B testnet stop --dir $D >/dev/null 2>&1; sleep 2; rm -rf $D
$B testnet init --validators 4 --dir $D --base-port 29100 --timeout-commit "$TC" >/dev/null
for i in 0 1 2 3; do
  sed -i "s|^pprof_laddr = \"\"|pprof_laddr = \"127.0.0.1:2960$i\"|" $D/node$i/config/config.toml
done
($B testnet start --dir $D >/tmp/tnprof.log 2>&1 &)
sleep 12
N=http://127.0.0.1:29103,http://127.0.0.1:29113,http://127.0.0.1:29123,http://127.0.0.1:29133
($B bench --node $N --key $D/agency.key --duration "$DUR" --rate "$RATE" --batch 1000 --json 2>/dev/null >/tmp/tnprof.json &)
sleep "$START"
for i in 0 1; do curl -s -o /tmp/prof$i.pb.gz "http://127.0.0.1:2960$i/debug/pprof/profile?seconds=20" & done
wait
sleep $(( ${DUR%s} - START - 20 + 10 ))
python3 -c 'import json,sys; d=json.load(open("/tmp/tnprof.json")); print("anchors/s", round(d["anchors_per_s"]), d["latency_ms"], d["rejected"])'
$B testnet stop --dir $D >/dev/null 2>&1
