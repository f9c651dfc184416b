#!/usr/bin/env bash
# hftbacktest as an oracle: the same quoter, latency and queue model in Lockstep and in
# hftbacktest on the shared Binance USD-M capture; compares fills, volume and PnL.
# A benchmark-style check, not part of CI. See README.md in this directory.
#
# Environment (all optional):
#   ORACLE_DIR         scratch directory (venv, tape, outputs); default: a new temp dir
#   REPLAY             the replay binary; default: <repo>/target/release/replay
#   CAPTURE            the capture; default: <repo>/../shared/data/hftbacktest/usdm/btcusdt_20240808.gz
#   PYTHON             interpreter for the venv; default: python3.11
#   LATENCY_NS         constant order-entry and response latency, both ways; default 1000000
#   QUEUE_MODEL        fifo | power:N | log; default fifo
#   HALF_SPREAD_TICKS  quote distance from the microprice in ticks; default 1
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${ORACLE_DIR:-$(mktemp -d -t lockstep-oracle.XXXXXX)}"
REPLAY="${REPLAY:-$ROOT/target/release/replay}"
CAPTURE="${CAPTURE:-$ROOT/../shared/data/hftbacktest/usdm/btcusdt_20240808.gz}"
PYTHON="${PYTHON:-python3.11}"
LATENCY_NS="${LATENCY_NS:-1000000}"
QUEUE_MODEL="${QUEUE_MODEL:-fifo}"
HALF_SPREAD_TICKS="${HALF_SPREAD_TICKS:-1}"
HBT_VERSION="2.4.4" # pinned: the numbers in README.md were measured with it

TICK=0.1 LOT=0.001 MAX_LOTS=10
PARAMS="instrument=0;levels=1;tick=$TICK;half_spread_ticks=$HALF_SPREAD_TICKS;order_qty=$LOT;max_inventory=0.01"

mkdir -p "$WORK"
echo "scratch directory: $WORK" >&2
[ -x "$REPLAY" ] || { echo "no replay binary at $REPLAY (cargo build --release -p replay, or set REPLAY)" >&2; exit 2; }
[ -r "$CAPTURE" ] || { echo "no capture at $CAPTURE (set CAPTURE)" >&2; exit 2; }

# 1. hftbacktest from PyPI, in a scratch venv (reused when ORACLE_DIR is kept).
if ! "$WORK/venv/bin/python" -c "import hftbacktest, sys; sys.exit(hftbacktest.__version__ != '$HBT_VERSION')" 2>/dev/null; then
    "$PYTHON" -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "hftbacktest==$HBT_VERSION"
fi

# 2. The capture without its bookTicker stream. hftbacktest's converter builds its book from
#    the depth diffs and the snapshot only (bookTicker would be custom events its matching
#    never sees); Lockstep would treat the ticker as a fresher top of book for the strategy
#    and for matching. Both engines get the depth and trade messages, nothing else.
zcat "$CAPTURE" | grep -v '@bookTicker' | gzip -1 > "$WORK/depth_trade.gz"

# 3. Lockstep: import, then backtest (WebAssembly interpreter, the reference tier).
"$REPLAY" import binance "$WORK/depth_trade.gz" --out "$WORK/usdm.tape" --json > "$WORK/import.json"
mkdir -p "$WORK/lockstep"
"$REPLAY" backtest --tape "$WORK/usdm.tape" --strategy microprice --params "$PARAMS" \
    --entry-latency-ns "$LATENCY_NS" --feed-latency-ns "$LATENCY_NS" --latency-model constant \
    --queue-model "$QUEUE_MODEL" --maker-fee-bps 0 --taker-fee-bps 0 --no-latency \
    --out "$WORK/lockstep" --report "$WORK/lockstep/report" --json > "$WORK/lockstep/backtest.json"

# 4. hftbacktest: the same quoter in its Python API.
"$WORK/venv/bin/python" "$HERE/hbt_quoter.py" "$WORK/depth_trade.gz" --out "$WORK/hbt" \
    --entry-latency-ns "$LATENCY_NS" --feed-latency-ns "$LATENCY_NS" --queue-model "$QUEUE_MODEL" \
    --tick "$TICK" --lot "$LOT" --half-spread-ticks "$HALF_SPREAD_TICKS" --order-lots 1 \
    --max-inventory-lots "$MAX_LOTS" > "$WORK/hbt.log" 2>&1 || { cat "$WORK/hbt.log" >&2; exit 2; }

# 5. Compare; the exit status is compare.py's (1: outside the tolerance).
"$WORK/venv/bin/python" "$HERE/compare.py" --lockstep-json "$WORK/lockstep/backtest.json" \
    --lockstep-fills "$WORK/lockstep/report/fills.csv" --hbt-dir "$WORK/hbt" --lot "$LOT"
