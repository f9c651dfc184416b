#!/usr/bin/env python3
"""The hftbacktest side of the oracle check: Lockstep's `microprice` quoter, written again
against hftbacktest's Python API (numba-compiled loop), on the same Binance USD-M capture.

The logic mirrors `strategies/microprice` with `levels=1` and `strategies/sdk/src/quoter.rs`:

* fair value: the microprice of the top of book, `micro = bid + (ask - bid) * Qb / (Qb + Qa)`;
* bid at `floor(micro - n*tick)`, ask at `ceil(micro + n*tick)` on the tick grid (exact
  integer arithmetic in ticks and lots, as the Rust code does in fixed point);
* one order per side: placed when the side is empty, modified (a price change loses the queue
  place) once the venue has acknowledged it and the wanted price moved, cancelled when the
  inventory limit is reached (no new bid at position >= max, no new ask at <= -max);
* re-quoting only on a book update that changed one of the top 10 levels of a side (Lockstep
  hands a strategy a book event exactly then); trades and order responses never re-quote.

Market data: the capture is converted by hftbacktest's own converter, then every row is given
its *local* (capture) time as its exchange time. Lockstep's venue matches orders against the
tape as replayed on the local clock, so this makes both venues see the same book at the same
instant; the only latencies left are the constant order-entry and response latencies.

Writes a JSON summary (fills, volume, cash, position, mark, PnL, timings) and a CSV of fills.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

import numpy as np
from numba import njit

import hftbacktest
from hftbacktest import (
    BacktestAsset,
    HashMapMarketDepthBacktest,
    EXCH_EVENT,
    LOCAL_EVENT,
    GTC,
    LIMIT,
)
from hftbacktest.data.utils import binancefutures

# Order statuses and requests (hftbacktest.order; not all are re-exported at the top level).
from hftbacktest.order import NONE, NEW, PARTIALLY_FILLED

BOOK_LEVELS = 10  # Lockstep's BookView depth: a change within it is a book event.
SCAN_TICKS = 5000  # how far from the best price to look for the 10 levels (BTCUSDT is dense)


def load_events(path: str) -> np.ndarray:
    """The capture as hftbacktest events, each row stamped exch_ts = local_ts = capture time.

    hftbacktest's converter shifts the local clock so that no feed latency is negative (this
    capture's clock is ~1.27 s behind Binance's) and then splits rows into an exchange-ordered
    and a local-ordered stream. We keep the capture's clock (so times equal the Lockstep tape's)
    by making the shift a no-op, keep the local-ordered rows (file order, stable), and mark
    each as both an exchange and a local event at its local time.
    """
    binancefutures.correct_local_timestamp = lambda data, base_latency: data
    raw = binancefutures.convert(path, combined_stream=True, buffer_size=2_000_000)
    rows = raw[(raw["ev"] & LOCAL_EVENT) != 0].copy()
    rows["exch_ts"] = rows["local_ts"]
    rows["ev"] = rows["ev"] | EXCH_EVENT | LOCAL_EVENT
    return rows


@njit
def top_levels(depth, out):
    """Writes the top BOOK_LEVELS (price tick, qty in lots) of each side into `out` (4 x 10)."""
    lot = depth.lot_size
    for k in range(4):
        for i in range(BOOK_LEVELS):
            out[k, i] = 0
    bb = depth.best_bid_tick
    ba = depth.best_ask_tick
    if bb > -(1 << 62):
        n = 0
        t = bb
        while n < BOOK_LEVELS and t > bb - SCAN_TICKS:
            q = depth.bid_qty_at_tick(t)
            if q > 0.0:
                out[0, n] = t
                out[1, n] = int(round(q / lot))
                n += 1
            t -= 1
    if ba < (1 << 62):
        n = 0
        t = ba
        while n < BOOK_LEVELS and t < ba + SCAN_TICKS:
            q = depth.ask_qty_at_tick(t)
            if q > 0.0:
                out[2, n] = t
                out[3, n] = int(round(q / lot))
                n += 1
            t += 1


@njit
def run_quoter(hbt, half_ticks, order_lots, max_lots, fill_ts, fills, counters):
    """The event loop. `fill_ts` (N, int64): when each fill reached the strategy; `fills`
    (N x 3, float64): side (+1/-1), price, qty.
    `counters`: [feed steps, book events, orders, modifies, cancels, fills recorded]."""
    asset = 0
    depth = hbt.depth(asset)
    tick = depth.tick_size
    lot = depth.lot_size
    qty = order_lots * lot

    prev = np.zeros((4, BOOK_LEVELS), np.int64)
    cur = np.zeros((4, BOOK_LEVELS), np.int64)

    next_id = 1
    bid_id = 0  # 0: no working bid
    ask_id = 0
    bid_cancel = False  # a cancel was sent for the working order
    ask_cancel = False

    sv = hbt.state_values(asset)
    seen_trades = 0
    last_pos = 0.0
    last_bal = 0.0
    nfills = 0

    while True:
        # Return on order responses too, only to time-stamp fills; nothing re-quotes on them.
        rc = hbt.wait_next_feed(True, 1_000_000_000_000)
        if rc == 1:
            break
        if rc != 0 and rc != 2 and rc != 3:
            return -1000 - rc
        counters[0] += 1

        # Fills since the last step: position and balance moves give side, price and size.
        # With one-lot orders a step brings at most one fill in practice; several at one
        # instant would be recorded as one averaged row (all are counted in counters[5]).
        sv = hbt.state_values(asset)
        if sv.num_trades > seen_trades and nfills < fills.shape[0]:
            dpos = sv.position - last_pos
            dbal = sv.balance - last_bal
            fill_ts[nfills] = hbt.current_timestamp
            fills[nfills, 0] = 1.0 if dpos > 0 else -1.0
            fills[nfills, 1] = abs(dbal) / abs(dpos) if dpos != 0 else 0.0
            fills[nfills, 2] = abs(dpos)
            nfills += 1
        seen_trades = sv.num_trades
        last_pos = sv.position
        last_bal = sv.balance
        counters[5] = seen_trades

        # Orders that are gone (filled, cancelled, expired) free their side.
        orders = hbt.orders(asset)
        if bid_id != 0:
            o = orders.get(bid_id)
            if o is None or not (o.status == NEW or o.status == PARTIALLY_FILLED or o.status == NONE):
                bid_id = 0
                bid_cancel = False
        if ask_id != 0:
            o = orders.get(ask_id)
            if o is None or not (o.status == NEW or o.status == PARTIALLY_FILLED or o.status == NONE):
                ask_id = 0
                ask_cancel = False
        hbt.clear_inactive_orders(asset)

        if rc != 2:
            continue  # an order response or a timeout: no market event

        # A book event only when one of the top 10 levels of a side changed.
        top_levels(depth, cur)
        changed = False
        for k in range(4):
            for i in range(BOOK_LEVELS):
                if cur[k, i] != prev[k, i]:
                    changed = True
                prev[k, i] = cur[k, i]
        if not changed:
            continue
        counters[1] += 1

        bb = cur[0, 0]
        ba = cur[2, 0]
        qb = cur[1, 0]
        qa = cur[3, 0]
        den = qb + qa
        if bb <= 0 or ba <= 0 or ba < bb or den <= 0:
            continue
        # micro = (bb*den + (ba-bb)*qb) / den, in ticks; quotes n ticks away, floor / ceil.
        num = bb * den + (ba - bb) * qb
        lo = num - half_ticks * den
        hi = num + half_ticks * den
        want_bid = lo // den  # floor (den > 0)
        want_ask = -((-hi) // den)  # ceil

        pos_lots = int(round(hbt.position(asset) / lot))
        bid_ok = want_bid > 0 and pos_lots < max_lots
        ask_ok = pos_lots > -max_lots

        # Bid side.
        if bid_id == 0:
            if bid_ok:
                hbt.submit_buy_order(asset, next_id, want_bid * tick, qty, GTC, LIMIT, False)
                bid_id = next_id
                next_id += 1
                counters[2] += 1
        else:
            o = orders.get(bid_id)
            if o is not None and o.req == NONE and not bid_cancel:
                if not bid_ok:
                    hbt.cancel(asset, bid_id, False)
                    bid_cancel = True
                    counters[4] += 1
                elif o.status == NEW and o.price_tick != want_bid:
                    hbt.modify(asset, bid_id, want_bid * tick, qty, False)
                    counters[3] += 1
        # Ask side.
        if ask_id == 0:
            if ask_ok:
                hbt.submit_sell_order(asset, next_id, want_ask * tick, qty, GTC, LIMIT, False)
                ask_id = next_id
                next_id += 1
                counters[2] += 1
        else:
            o = orders.get(ask_id)
            if o is not None and o.req == NONE and not ask_cancel:
                if not ask_ok:
                    hbt.cancel(asset, ask_id, False)
                    ask_cancel = True
                    counters[4] += 1
                elif o.status == NEW and o.price_tick != want_ask:
                    hbt.modify(asset, ask_id, want_ask * tick, qty, False)
                    counters[3] += 1
    return nfills


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture", help="collector-format .gz (the same file the tape was made from)")
    ap.add_argument("--out", required=True, help="directory for summary.json and fills.csv")
    ap.add_argument("--entry-latency-ns", type=int, default=1_000_000)
    ap.add_argument("--feed-latency-ns", type=int, default=1_000_000,
                    help="latency of the venue's answers (hftbacktest's response latency)")
    ap.add_argument("--queue-model", default="fifo",
                    help="fifo (RiskAdverseQueueModel), power:N (PowerProbQueueModel), log")
    ap.add_argument("--exchange", default="nopartial", choices=["partial", "nopartial"],
                    help="hftbacktest exchange model (one-lot orders cannot fill partially)")
    ap.add_argument("--tick", type=float, default=0.1)
    ap.add_argument("--lot", type=float, default=0.001)
    ap.add_argument("--half-spread-ticks", type=int, default=1)
    ap.add_argument("--order-lots", type=int, default=1)
    ap.add_argument("--max-inventory-lots", type=int, default=10)
    a = ap.parse_args()

    t0 = time.perf_counter()
    data = load_events(a.capture)
    t1 = time.perf_counter()

    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(a.entry_latency_ns, a.feed_latency_ns)
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(a.tick)
        .lot_size(a.lot)
    )
    if a.exchange == "partial":
        asset = asset.partial_fill_exchange()
    else:
        asset = asset.no_partial_fill_exchange()
    if a.queue_model == "fifo":
        asset = asset.risk_adverse_queue_model()
    elif a.queue_model.startswith("power:"):
        asset = asset.power_prob_queue_model(float(a.queue_model.split(":", 1)[1]))
    elif a.queue_model == "log":
        asset = asset.log_prob_queue_model()
    else:
        sys.exit(f"unknown --queue-model {a.queue_model}")
    hbt = HashMapMarketDepthBacktest([asset])

    fill_ts = np.zeros(200_000, np.int64)
    fills = np.zeros((200_000, 3), np.float64)
    counters = np.zeros(6, np.int64)
    t2 = time.perf_counter()
    nfills = run_quoter(hbt, a.half_spread_ticks, a.order_lots, a.max_inventory_lots, fill_ts, fills,
                        counters)
    t3 = time.perf_counter()
    if nfills < 0:
        sys.exit(f"hftbacktest: wait_next_feed returned error code {-1000 - nfills}")

    depth = hbt.depth(0)
    sv = hbt.state_values(0)
    mark = (depth.best_bid + depth.best_ask) / 2.0
    position = sv.position
    cash = sv.balance
    end_ts = int(hbt.current_timestamp)
    hbt.close()

    # The traded price range over the run: compare.py bounds PnL differences with it.
    from hftbacktest import TRADE_EVENT
    trade_px = data["px"][(data["ev"] & 0xFF) == TRADE_EVENT]  # low byte: the event kind

    fill_ts, fills = fill_ts[:nfills], fills[:nfills]
    bought = float(fills[fills[:, 0] > 0, 2].sum())
    sold = float(fills[fills[:, 0] < 0, 2].sum())
    out = {
        "engine": "hftbacktest",
        "version": hftbacktest.__version__,
        "capture": a.capture,
        "rows": int(len(data)),
        "queue_model": a.queue_model,
        "entry_latency_ns": a.entry_latency_ns,
        "feed_latency_ns": a.feed_latency_ns,
        "feed_steps": int(counters[0]),
        "book_events": int(counters[1]),
        "orders": int(counters[2]),
        "replaces": int(counters[3]),
        "cancels": int(counters[4]),
        "fills": int(counters[5]),
        "bought": round(bought, 6),
        "sold": round(sold, 6),
        "volume": round(bought + sold, 6),
        "turnover": float(sv.trading_value),
        "position": round(position, 6),
        "cash": cash,
        "mark": mark,
        "pnl": cash + position * mark,
        "end_ts": end_ts,
        "trade_px_low": float(trade_px.min()),
        "trade_px_high": float(trade_px.max()),
        "load_s": round(t1 - t0, 3),
        "run_s": round(t3 - t2, 3),
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(out, f, indent=1)
    with open(os.path.join(a.out, "fills.csv"), "w", newline="") as f:
        w = csv.writer(f)
        # ts_ns: when the fill reached the strategy (venue time + response latency).
        w.writerow(["ts_ns", "side", "px", "qty"])
        for ts, r in zip(fill_ts, fills):
            w.writerow([int(ts), "buy" if r[0] > 0 else "sell", f"{r[1]:.8f}", f"{r[2]:.8f}"])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
