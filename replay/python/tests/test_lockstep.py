"""The Python package against the CLI: same digests, same tables, same sweeps, clear errors.

The CLI is `replay` from the release build (`cargo build --release`), or $LOCKSTEP_REPLAY.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import lockstep

ROOT = Path(__file__).resolve().parents[3]
REPLAY = os.environ.get("LOCKSTEP_REPLAY", str(ROOT / "target" / "release" / "replay"))
EVENTS = 30_000
BAR_NS = 1_000_000_000


def replay(*args: str) -> dict:
    out = subprocess.run([REPLAY, "--json", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def result() -> lockstep.BacktestResult:
    return lockstep.backtest(events=EVENTS, bar_ns=BAR_NS)


def test_strategies_lists_the_builtins() -> None:
    names = [s["name"] for s in lockstep.strategies()]
    assert "avellaneda-stoikov" in names and "microprice" in names


def test_backtest_digest_equals_the_cli(result: lockstep.BacktestResult) -> None:
    cli = replay("backtest", "--events", str(EVENTS), "--no-report", "--no-latency")
    assert result.digest == cli["digest"]
    assert result.fuel_digest == cli["fuel_digest"]
    total = result.summary["strategies"][0]["total"]
    assert total["fills"] == cli["strategies"][0]["exchange"]["fills"]
    compiled = lockstep.backtest(events=EVENTS, tier="compiled", bar_ns=BAR_NS)
    assert compiled.digest == result.digest, "the digest is the same on both tiers"


def test_dataframes_equal_the_report_csvs(result: lockstep.BacktestResult, tmp_path: Path) -> None:
    report = tmp_path / "report"
    replay(
        "backtest", "--events", str(EVENTS), "--bar", "1s", "--report", str(report),
        "--out", str(tmp_path), "--no-latency",
    )
    summary = json.loads((report / "summary.json").read_text())
    assert summary == result.summary
    for name, frame in [("orders", result.orders), ("fills", result.fills), ("equity", result.equity)]:
        csv = pd.read_csv(report / f"{name}.csv", dtype=str, keep_default_na=False)
        assert list(frame.columns) == list(csv.columns), name
        assert len(frame) == len(csv) > 0, name
    # Decimal columns are exact: the fills' prices sum to the same value.
    fills_csv = pd.read_csv(report / "fills.csv")
    assert float(result.fills["px"].astype(float).sum()) == pytest.approx(fills_csv["px"].sum())
    assert result.fills_table.num_rows == len(fills_csv)


def test_errors_are_lockstep_errors_with_our_messages(tmp_path: Path) -> None:
    with pytest.raises(lockstep.LockstepError, match="unknown strategy|no-such-strategy"):
        lockstep.backtest(strategy="no-such-strategy", events=100)
    with pytest.raises(lockstep.LockstepError, match="gamma"):
        lockstep.backtest(params="gamma=abc", events=100)
    corrupt = tmp_path / "corrupt.tape"
    corrupt.write_bytes(b"LSTAPE" + bytes(200))
    with pytest.raises(lockstep.LockstepError, match="corrupt.tape"):
        lockstep.backtest(tape=corrupt)
    with pytest.raises(lockstep.LockstepError, match="unknown field"):
        lockstep.backtest(events=100, no_such_option=1)
    with pytest.raises(lockstep.LockstepError, match="executor"):
        lockstep.sweep(None, "avellaneda-stoikov", "gamma=0.1", executor="threads", events=100)


def test_import_and_inspect_a_csv_tape(tmp_path: Path) -> None:
    source = tmp_path / "g.csv"
    source.write_text(
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n"
        "0.5,0.500001,A,add,buy,10.25,3,1,0\n"
        "0.6,0.600001,A,add,sell,10.27,2,2,0\n"
    )
    tape = tmp_path / "g.tape"
    report = lockstep.import_tape("csv", source, tape, ts_unit="s")
    assert report["events"] == 2 and report["instruments"][0]["symbol"] == "A"
    info = lockstep.inspect(tape)
    assert info["events"] == 2 and info["kinds"] == {"add": 2}
    with pytest.raises(lockstep.LockstepError, match="ts_unit"):
        lockstep.import_tape("csv", source, tmp_path / "h.tape", ts_unit="fortnights")


GRID = "gamma=0.05,0.1;k=50,100"


@pytest.fixture(scope="module")
def cli_sweep() -> dict:
    return replay(
        "sweep", "--strategy", "avellaneda-stoikov", "--grid", GRID, "--events", "20000",
        "--bar", "1s",
    )


def test_local_sweep_equals_the_cli(cli_sweep: dict) -> None:
    frame = lockstep.sweep(None, "avellaneda-stoikov", GRID, events=20_000, bar_ns=BAR_NS)
    assert list(frame["digest"]) == [p["digest"] for p in cli_sweep["points"]]
    assert list(frame["params"]) == [p["params"] for p in cli_sweep["points"]]
    as_dict = lockstep.sweep(
        None, "avellaneda-stoikov", {"gamma": [0.05, 0.1], "k": [50, 100]}, events=20_000,
        bar_ns=BAR_NS,
    )
    assert list(as_dict["digest"]) == list(frame["digest"])


def test_ray_sweep_equals_local_and_cli(cli_sweep: dict) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        frame = lockstep.sweep(
            None, "avellaneda-stoikov", GRID, executor="ray", events=20_000, bar_ns=BAR_NS
        )
    finally:
        ray.shutdown()
    assert list(frame["index"]) == [0, 1, 2, 3]
    assert list(frame["digest"]) == [p["digest"] for p in cli_sweep["points"]]


def test_cli_shards_merge_into_the_python_sweep(cli_sweep: dict, tmp_path: Path) -> None:
    shards = []
    for i in range(2):
        out = tmp_path / f"shard-{i}.json"
        replay(
            "sweep", "--strategy", "avellaneda-stoikov", "--grid", GRID, "--events", "20000",
            "--bar", "1s", "--shard", f"{i}/2", "--out", str(out),
        )
        shards.append(str(out))
    merged = replay("sweep-merge", *shards)
    assert merged["points"] == cli_sweep["points"]
    frame = lockstep.sweep(None, "avellaneda-stoikov", GRID, events=20_000, bar_ns=BAR_NS)
    assert list(frame["digest"]) == [p["digest"] for p in merged["points"]]
    assert list(frame["pnl"]) == [p["pnl"] for p in merged["points"]]


def test_lobster_import_with_its_orderbook(tmp_path: Path) -> None:
    data = ROOT.parent / "shared" / "data" / "lobster"
    messages = sorted(data.glob("*_message_1.csv"))
    if not messages:
        if os.environ.get("LOCKSTEP_REQUIRE_DATA"):
            pytest.fail(f"LOCKSTEP_REQUIRE_DATA is set but {data} has no LOBSTER sample")
        pytest.skip(f"no LOBSTER sample under {data}")
    message = messages[0]
    orderbook = Path(str(message).replace("_message_", "_orderbook_"))
    tape = tmp_path / "l1.tape"
    report = lockstep.import_tape("lobster", message, tape, orderbook=orderbook)
    assert report["events"] > 0 and report["ticks"][0]["source"] == "inferred"
    assert lockstep.inspect(tape)["events"] == report["events"]
    with pytest.raises(lockstep.LockstepError, match="orderbook files"):
        lockstep.import_tape("lobster", [message, message], tmp_path / "x.tape", orderbook=orderbook)
