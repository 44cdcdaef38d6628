#!/bin/bash
# CometBFT's kvstore baseline (../shared/tools/kvstore-baseline.sh: 4 validators on loopback, default
# timeouts) with one change, the gossip sleep that `siegel testnet init` uses (--gossip-sleep, 10 ms):
# the consensus engine's ceiling at the same pace as Siegel's testnet.
# Usage: bash docs/perf/kvstore-gossip.sh [RATE_PER_ENDPOINT=500] [TX_BYTES=250] [SECONDS=20]   (GOSSIP=10ms)
set -eu
cd "$(dirname "$0")/../.."
S=$(mktemp -t kvgossip.XXXXXX)
trap 'rm -f "$S"' EXIT
# Add the setting to the baseline's own edit of each node's config.toml; refuse if that edit changed.
python3 - ../shared/tools/kvstore-baseline.sh "$S" "${GOSSIP:-10ms}" <<'PY'
import sys
src, dst, sleep = sys.argv[1:]
text = open(src).read()
anchor = 's|^allow_duplicate_ip = false|allow_duplicate_ip = true|'
if text.count(anchor) != 1:
    sys.exit("kvstore-gossip: the baseline script changed; cannot add the setting")
add = '; s|^peer_gossip_sleep_duration = .*|peer_gossip_sleep_duration = \\"%s\\"|' % sleep
open(dst, "w").write(text.replace(anchor, anchor + add))
PY
bash "$S" "$@"
