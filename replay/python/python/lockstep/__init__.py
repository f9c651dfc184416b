"""Lockstep from Python: deterministic backtests of WebAssembly strategies on recorded markets.

Every backtest has a ``digest`` over everything the strategy did, identical on every run and
machine, so results computed anywhere (a notebook, a Ray cluster, a Slurm array) can be
checked against each other. Tables come as pandas DataFrames built from Arrow (the
``*_table`` attributes hold the Arrow tables for polars users).

The two commands a Python user types::

    pip install maturin && maturin develop --release -m replay/python/Cargo.toml
    python -c "import lockstep; print(lockstep.backtest().summary['strategies'][0]['total'])"
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import _lockstep
from ._lockstep import LockstepError

__all__ = [
    "BacktestResult",
    "LockstepError",
    "backtest",
    "import_tape",
    "inspect",
    "strategies",
    "sweep",
]

PathLike = Union[str, "os.PathLike[str]"]
Params = Union[None, str, Mapping[str, Any]]


def _params_text(params: Params) -> Optional[str]:
    """``key=value;...`` from a string or a mapping (values as ``str``)."""
    if params is None or isinstance(params, str):
        return params
    return ";".join(f"{k}={v}" for k, v in params.items())


def strategies() -> list[dict[str, Any]]:
    """The built-in strategies: name, summary, default parameters, parameter help."""
    return json.loads(_lockstep.strategies())


def import_tape(
    kind: str, files: Union[PathLike, Sequence[PathLike]], out: PathLike, **options: Any
) -> dict[str, Any]:
    """Imports market data into a tape; returns the import report.

    ``kind`` is ``lobster``, ``tardis``, ``binance``, ``databento`` or ``csv``; several files
    make one tape, merged by local time. Options: ``compress``, ``chunk_events``,
    ``local_ts_unit`` (collector captures), ``orderbook`` (one per message file), ``symbol``
    and ``tick`` (LOBSTER), ``ts_unit`` (CSV). Unknown options raise :class:`LockstepError`.
    """
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if isinstance(options.get("orderbook"), (str, os.PathLike)):
        options["orderbook"] = [options["orderbook"]]
    if "orderbook" in options:
        options["orderbook"] = [os.fspath(o) for o in options["orderbook"]]
    if options.get("tick") is not None:
        options["tick"] = str(options["tick"])
    opts = {k: (os.fspath(v) if isinstance(v, os.PathLike) else v) for k, v in options.items()}
    return json.loads(
        _lockstep.import_tape(kind, [os.fspath(f) for f in files], os.fspath(out), json.dumps(opts))
    )


def inspect(tape: PathLike) -> dict[str, Any]:
    """What a tape holds (the same object as ``replay inspect --json``)."""
    return json.loads(_lockstep.inspect(os.fspath(tape)))


def _table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


@dataclass(frozen=True)
class BacktestResult:
    """One backtest: the report's summary, the wall-clock facts and the tables."""

    summary: dict[str, Any]
    """The same object as the report's ``summary.json``."""
    run: dict[str, Any]
    """Wall-clock facts (elapsed time, events per second): these differ run to run."""
    orders_table: pa.Table
    fills_table: pa.Table
    equity_table: pa.Table

    @property
    def digest(self) -> str:
        """Digest over every action, exchange event and halt (equal across runs and tiers)."""
        return self.summary["digest"]

    @property
    def fuel_digest(self) -> str:
        """Digest with each event's fuel (equal across runs, machines and engine tiers)."""
        return self.summary["fuel_digest"]

    @property
    def orders(self) -> pd.DataFrame:
        """Each order's life, as in ``orders.csv``."""
        return self.orders_table.to_pandas()

    @property
    def fills(self) -> pd.DataFrame:
        """Every fill, as in ``fills.csv``."""
        return self.fills_table.to_pandas()

    @property
    def equity(self) -> pd.DataFrame:
        """Mark-to-market per bar and instrument, as in ``equity.csv``."""
        return self.equity_table.to_pandas()


def backtest(
    tape: Optional[PathLike] = None,
    strategy: str = "avellaneda-stoikov",
    params: Params = None,
    tier: str = "interpreter",
    **exchange_options: Any,
) -> BacktestResult:
    """Backtests ``strategy`` (a built-in name or a ``.wasm`` path) on ``tape`` (default: the
    embedded synthetic market). The GIL is released while it runs.

    Options: ``events`` and ``seed`` (synthetic market), ``fuel_per_event``,
    ``entry_latency_ns``, ``feed_latency_ns``, ``maker_fee_bps``, ``taker_fee_bps``, ``bar_ns``
    (default one minute), ``window`` (``(start_ns, end_ns)``), ``year_ns``, ``queue_model``
    (``"fifo"``, ``"power:N"`` or ``"log"``), ``latency_model`` (``"constant"``,
    ``"normal:MEAN,SD"`` and the other distributions, ``"feed"`` or ``"file:PATH"``; the report's
    ``queue_model`` and ``latency_model`` name them). Unknown options,
    a bad strategy or parameters, or a corrupt tape raise :class:`LockstepError`.
    """
    request: dict[str, Any] = dict(exchange_options)
    for key in ("maker_fee_bps", "taker_fee_bps"):
        if key in request and request[key] is not None:
            request[key] = str(request[key])
    request.update(
        tape=None if tape is None else os.fspath(tape),
        strategy=os.fspath(strategy),
        params=_params_text(params),
        tier=tier,
    )
    summary, run, orders, fills, equity = _lockstep.backtest(json.dumps(request))
    return BacktestResult(
        json.loads(summary), json.loads(run), _table(orders), _table(fills), _table(equity)
    )


def _grid_text(grid: Union[str, Mapping[str, Sequence[Any]]]) -> str:
    if isinstance(grid, str):
        return grid
    return ";".join(f"{k}=" + ",".join(str(v) for v in values) for k, values in grid.items())


def _run_point(plan: str, index: int) -> str:
    return _lockstep.sweep_point(plan, index)


def sweep(
    tape: Union[None, PathLike, Sequence[PathLike]],
    strategy: str,
    grid: Union[str, Mapping[str, Sequence[Any]], Sequence[Params]],
    executor: str = "local",
    params: Params = None,
    tier: str = "interpreter",
    bar_ns: int = 60_000_000_000,
    events: Optional[int] = None,
    seed: Optional[int] = None,
) -> pd.DataFrame:
    """Backtests every point of ``grid`` on every tape; one row per point, in point order.

    ``grid`` is ``"gamma=0.05,0.1;k=50,100"``, a mapping ``{"gamma": [0.05, 0.1], ...}``
    (every combination, the last key varying fastest) or a list of points (strings or
    mappings). Points are laid over ``params`` (default: the strategy's defaults). Point
    numbers and digests equal ``replay sweep``'s, whichever ``executor`` ran them:
    ``"local"`` (this process) or ``"ray"`` (one Ray task per point on the cluster
    ``ray.init()`` connected to).
    """
    plan: dict[str, Any] = {"strategy": os.fspath(strategy), "params": _params_text(params)}
    if isinstance(grid, (str, Mapping)):
        plan["grid"] = _grid_text(grid)
    else:
        plan["points"] = [_params_text(p) or "" for p in grid]
    if tape is not None:
        tapes = [tape] if isinstance(tape, (str, os.PathLike)) else list(tape)
        plan["tapes"] = [os.fspath(t) for t in tapes]
    if events is not None:
        plan["events"] = events
    if seed is not None:
        plan["seed"] = seed
    plan.update(tier=tier, bar_ns=bar_ns)
    text = json.dumps(plan)
    total = _lockstep.sweep_total(text)
    if executor == "local":
        points = json.loads(_lockstep.sweep_shard(text, 0, 1))["points"]
    elif executor == "ray":
        import ray

        if not ray.is_initialized():
            raise LockstepError("executor='ray' needs a Ray cluster: call ray.init() first")
        task = ray.remote(_run_point)
        points = [json.loads(p) for p in ray.get([task.remote(text, k) for k in range(total)])]
    else:
        raise LockstepError(f"executor {executor!r}: give 'local' or 'ray'")
    frame = pd.DataFrame(points)
    return frame.sort_values("index").reset_index(drop=True)
