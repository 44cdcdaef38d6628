#!/bin/bash
# CometBFT's kvstore baseline (../shared/tools/kvstore-baseline.sh: 4 validators on loopback, default
# timeouts) with one change, the gossip sleep that `siegel testnet init` uses (--gossip-sleep, 10 ms).
# Only that differs: the kvstore keeps CometBFT's 1 s timeout_commit, where Siegel's testnet has 500 ms.
# Usage: bash docs/perf/kvstore-gossip.sh [RATE_PER_ENDPOINT=500] [TX_BYTES=250] [SECONDS=20]   (GOSSIP=10ms)
set -eu
cd "$(dirname "$0")/../.."
S=$(mktemp -t kvgossip.XXXXXX)
trap 'rm -f "$S"' EXIT
# A line after the baseline's own edit of each node's config.toml sets the sleep and checks that it took
# (sed alone would skip a missing key silently); refuse if that edit is not where it was.
python3 - ../shared/tools/kvstore-baseline.sh "$S" "${GOSSIP:-10ms}" <<'PY'
import re, sys
src, dst, sleep = sys.argv[1:]
if not re.fullmatch(r"[0-9]+(ms|s)", sleep):
    sys.exit("kvstore-gossip: GOSSIP=%r is not a duration such as 10ms" % sleep)
lines = open(src).read().split("\n")
at = [i for i, l in enumerate(lines) if "s|^allow_duplicate_ip = false|allow_duplicate_ip = true|" in l]
if len(at) != 1:
    sys.exit("kvstore-gossip: the baseline script changed; cannot add the setting")
key = 'peer_gossip_sleep_duration = "%s"' % sleep
lines.insert(at[0] + 1, "  sed -i 's|^peer_gossip_sleep_duration = .*|%s|' $c; grep -qx '%s' $c || { echo \"no peer_gossip_sleep_duration in $c\" >&2; exit 1; }" % (key, key))
open(dst, "w").write("\n".join(lines))
PY
bash "$S" "$@"
