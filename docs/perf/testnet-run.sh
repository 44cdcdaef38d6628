#!/bin/bash
# The 4-validator figures of docs/PERFORMANCE.md in one go: a fresh testnet per load, batch 1, 100 and
# 1,000, then CometBFT's kvstore baseline. Run from a checkout beside ../shared (the baseline script).
# Takes about 15 minutes; uses ports 29000-29039 and /tmp/tn4.
set -u
cd "$(dirname "$0")/../.."
make -s build
N=http://127.0.0.1:29003,http://127.0.0.1:29013,http://127.0.0.1:29023,http://127.0.0.1:29033
# fresh [TIMEOUT_COMMIT]: a new testnet, with CometBFT's own timeout_commit (1 s; `--timeout-commit 0`) unless given,
# and the testnet's gossip sleep (10 ms since 58e4625; the rows of docs/PERFORMANCE.md before it had 100 ms).
fresh() { ./bin/siegel testnet stop --dir /tmp/tn4 >/dev/null 2>&1; sleep 3; rm -rf /tmp/tn4; ./bin/siegel testnet init --validators 4 --dir /tmp/tn4 --base-port 29000 --timeout-commit "${1:-0}" >/dev/null; echo "timeout_commit ${1:-1s (CometBFT default)}"; (./bin/siegel testnet start --dir /tmp/tn4 > /tmp/tn4.log 2>&1 &); sleep 12; }
# run RATE BATCH [DURATION]: open-loop load, 20 s unless given.
run() { ./bin/siegel bench --node $N --key /tmp/tn4/agency.key --duration "${3:-20s}" --rate $1 --batch $2 --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("batch", d["batch"], "rate", d["rate_tx_per_s"], "committed", d["committed_txs"], "window", round(d["window_s"],1), "anchors/s", round(d["anchors_per_s"]), "tx/s", round(d["txs_per_s"]), d["latency_ms"], d["rejected"], d["errors"])'; }
git rev-parse --short HEAD
fresh; run 1000 1; sleep 10; run 1400 1
fresh; run 1700 1
fresh; run 40 100; sleep 15; run 60 100
fresh; run 15 1000
fresh; run 20 1000
fresh; run 24 1000
fresh 300ms; run 20 1000
fresh 300ms; run 24 1000
fresh; run 40 1000
# Held for 60 s: the stores grow past a million anchors, and Pebble's flushes and compactions come due.
fresh; run 16 1000 60s
fresh; run 18 1000 60s
fresh; run 20 1000 60s
./bin/siegel testnet stop --dir /tmp/tn4 >/dev/null 2>&1; sleep 3
bash ../shared/tools/kvstore-baseline.sh 500 250 20 2>&1 | tail -1
