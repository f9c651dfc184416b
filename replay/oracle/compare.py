#!/usr/bin/env python3
"""Compares a Lockstep backtest with the same quoter run in hftbacktest (hbt_quoter.py).

Reads Lockstep's `replay backtest --json` output and its report's fills.csv, and
hbt_quoter.py's summary.json and fills.csv. Prints a table, writes comparison.json next to
the hftbacktest output, and exits 1 when a figure is outside the tolerance (README.md says
why the tolerance is what it is):

* fills:  |delta| <= max(2, 1% of Lockstep's fills)             (call it N fills)
* volume: |delta| <= N lots                                       (one-lot orders)
* PnL:    |delta| <= N * lot * (highest - lowest trade price) + 1e-6 USDT
          (each fill allowed to differ moves at most one lot, whose value can differ by at
          most the run's price range; 1e-6 covers hftbacktest's float cash)

It also reports how many fills agree one for one (same side, price, and time once the
response latency is taken off hftbacktest's receive time) before the first difference.
Only the standard library is used, so it runs with any python3.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from decimal import Decimal


def lockstep_side(backtest_json: str, fills_csv: str) -> tuple[dict, list]:
    with open(backtest_json) as f:
        d = json.load(f)
    s = d["strategies"][0]
    ex = s["exchange"]
    ins = ex["instruments"][0] if ex["instruments"] else {}
    bought = Decimal(ins.get("bought", "0"))
    sold = Decimal(ins.get("sold", "0"))
    out = {
        "fills": ex["fills"],
        "orders": ex["orders"],
        "replaces": ex["replaces"],
        "cancels": ex["cancels"],
        "rejects": ex["rejects"],
        "bought": float(bought),
        "sold": float(sold),
        "volume": float(bought + sold),
        "position": float(Decimal(ins.get("position", "0"))),
        "cash": float(Decimal(ins.get("cash", "0"))),
        "mark": float(Decimal(ins.get("mark", "0"))),
        "pnl": float(Decimal(ex["pnl"])),
        "run_s": d["elapsed_ns"] / 1e9,
        "digest": d["digest"],
    }
    with open(fills_csv) as f:
        fills = [(int(r["ts_ns"]), r["side"], Decimal(r["px"]), Decimal(r["qty"]))
                 for r in csv.DictReader(f)]
    return out, fills


def hbt_side(summary_json: str, fills_csv: str) -> tuple[dict, list]:
    with open(summary_json) as f:
        d = json.load(f)
    with open(fills_csv) as f:
        fills = [(int(r["ts_ns"]), r["side"], Decimal(r["px"]).quantize(Decimal("0.1")),
                  Decimal(r["qty"]).quantize(Decimal("0.001")))
                 for r in csv.DictReader(f)]
    return d, fills


def same_prefix(ls: list, hb: list, response_ns: int) -> int:
    """How many fills agree one for one from the start (side, price, qty, venue time)."""
    n = 0
    for a, b in zip(ls, hb):
        if (a[1], a[2], a[3]) != (b[1], b[2], b[3]) or b[0] - response_ns != a[0]:
            break
        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lockstep-json", required=True, help="`replay backtest --json` output")
    ap.add_argument("--lockstep-fills", required=True, help="the report's fills.csv")
    ap.add_argument("--hbt-dir", required=True, help="hbt_quoter.py --out directory")
    ap.add_argument("--lot", type=float, default=0.001)
    a = ap.parse_args()

    ls, ls_fills = lockstep_side(a.lockstep_json, a.lockstep_fills)
    hb, hb_fills = hbt_side(os.path.join(a.hbt_dir, "summary.json"),
                            os.path.join(a.hbt_dir, "fills.csv"))

    n_tol = max(2, math.ceil(0.01 * ls["fills"]))
    price_range = hb["trade_px_high"] - hb["trade_px_low"]
    tol = {
        "fills": n_tol,
        "volume": n_tol * a.lot + 1e-9,
        "pnl": n_tol * a.lot * price_range + 1e-6,
    }
    rows = [
        ("fills", ls["fills"], hb["fills"], tol["fills"]),
        ("volume (BTC)", ls["volume"], hb["volume"], tol["volume"]),
        ("PnL (USDT, marked at mid)", ls["pnl"], hb["pnl"], tol["pnl"]),
        ("bought (BTC)", ls["bought"], hb["bought"], None),
        ("sold (BTC)", ls["sold"], hb["sold"], None),
        ("end position (BTC)", ls["position"], hb["position"], None),
        ("cash (USDT)", ls["cash"], hb["cash"], None),
        ("mark (USDT)", ls["mark"], hb["mark"], None),
        ("orders placed", ls["orders"], hb["orders"], None),
        ("replaces / modifies", ls["replaces"], hb["replaces"], None),
        ("cancels", ls["cancels"], hb["cancels"], None),
        ("run time (s)", ls["run_s"], hb["run_s"], None),
    ]
    ok = True
    print(f"{'':28s} {'Lockstep':>14s} {'hftbacktest':>14s} {'delta':>12s} {'tolerance':>12s}  verdict")
    for name, x, y, t in rows:
        d = y - x
        verdict = ""
        if t is not None:
            good = abs(d) <= t
            ok &= good
            verdict = "ok" if good else "OUTSIDE"
        fmt = (lambda v: f"{v:14d}") if isinstance(x, int) and isinstance(y, int) else (lambda v: f"{v:14.6f}")
        dfmt = f"{d:12d}" if isinstance(d, int) else f"{d:12.6f}"
        tfmt = "" if t is None else (f"{t:12d}" if isinstance(t, int) else f"{t:12.6f}")
        print(f"{name:28s} {fmt(x)} {fmt(y)} {dfmt} {tfmt:>12s}  {verdict}")
    prefix = same_prefix(ls_fills, hb_fills, hb["feed_latency_ns"])
    print(f"fills identical one for one from the start (side, price, venue time): "
          f"{prefix} of {len(ls_fills)} / {len(hb_fills)}")
    print(f"settings: entry {hb['entry_latency_ns']} ns, response {hb['feed_latency_ns']} ns, "
          f"queue {hb['queue_model']}, hftbacktest {hb['version']}, "
          f"trade price range {price_range:.1f}")
    print("RESULT:", "within tolerance" if ok else "OUTSIDE tolerance")

    with open(os.path.join(a.hbt_dir, "comparison.json"), "w") as f:
        json.dump({"lockstep": ls, "hftbacktest": hb, "tolerance": tol,
                   "identical_prefix": prefix, "ok": ok}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
