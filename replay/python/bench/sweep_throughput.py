"""Sweep throughput: points per minute through the CLI, the Python package (local) and a local
Ray cluster, and the per-point overhead of Python and Ray over the CLI. Prints numbers; it
asserts nothing (CI does not run it).

    python replay/python/bench/sweep_throughput.py [--points 16] [--events 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import lockstep

ROOT = Path(__file__).resolve().parents[3]
REPLAY = os.environ.get("LOCKSTEP_REPLAY", str(ROOT / "target" / "release" / "replay"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=16)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    gammas = ",".join(str(0.01 * (k + 1)) for k in range(a.points))
    grid = f"gamma={gammas}"
    common = ["--strategy", "avellaneda-stoikov", "--grid", grid, "--events", str(a.events)]

    t = time.perf_counter()
    cli = json.loads(subprocess.run([REPLAY, "--json", "sweep", *common], check=True,
                                    capture_output=True, text=True).stdout)
    t_cli = time.perf_counter() - t

    t = time.perf_counter()
    local = lockstep.sweep(None, "avellaneda-stoikov", grid, events=a.events)
    t_local = time.perf_counter() - t

    import ray

    ray.init(num_cpus=a.cpus, include_dashboard=False, log_to_driver=False)
    t = time.perf_counter()
    on_ray = lockstep.sweep(None, "avellaneda-stoikov", grid, executor="ray", events=a.events)
    t_ray = time.perf_counter() - t
    ray.shutdown()

    digests = [p["digest"] for p in cli["points"]]
    assert list(local["digest"]) == digests and list(on_ray["digest"]) == digests
    n = a.points
    for name, secs in [("cli (1 process)", t_cli), ("python local", t_local),
                       (f"ray ({a.cpus} cpus)", t_ray)]:
        print(f"{name:<18} {n / secs * 60:8.1f} points/min  {secs / n * 1e3:8.1f} ms/point")
    print(f"python overhead over the cli: {(t_local - t_cli) / n * 1e3:+.1f} ms/point")
    print(f"ray per-point cost over python local (x{a.cpus} parallel): "
          f"{(t_ray * a.cpus - t_local) / n * 1e3:+.1f} ms/point of cpu")


if __name__ == "__main__":
    main()
