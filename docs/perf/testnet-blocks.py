#!/usr/bin/env python3
"""Height by height, what a node's CometBFT RPC says of a testnet's blocks (docs/PERFORMANCE.md): the
block time, the time since the block before, the transactions, the round it was committed in and
the proposer. Blocks of one transaction (the checkpoint signatures alone) are left out unless they
came late.

Usage: python3 docs/perf/testnet-blocks.py [RPC]   (default http://127.0.0.1:29101, node 0 of
testnet-hold.sh; run it with KEEP=1 so that the testnet is still up)."""
import json
import re
import sys
import urllib.request

rpc = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:29101"


def get(path):
    with urllib.request.urlopen(rpc + path, timeout=10) as r:
        return json.load(r)["result"]


def seconds(t):
    m = re.match(r".*T(\d+):(\d+):(\d+)\.?(\d*)", t)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + float("0." + (m[4] or "0"))


last = int(get("/status")["sync_info"]["latest_block_height"])
prev = None
for h in range(2, last):
    block = get(f"/block?height={h}")["block"]
    commit = get(f"/commit?height={h}")["signed_header"]["commit"]
    t = block["header"]["time"]
    n = len(block["data"]["txs"] or [])
    dt = seconds(t) - prev if prev is not None else 0.0
    if n > 1 or dt > 1.2:
        print(f"{h:6d} {t[11:23]} dt={dt:5.2f}s txs={n:4d} round={commit['round']} proposer={block['header']['proposer_address'][:6]}")
    prev = seconds(t)
