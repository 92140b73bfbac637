"""`python -m bench [name ...]`: run every bench/bench_*.py (or the named ones) and print.

Each benchmark runs in a process of its own, so memory readings are not inflated by the
ones before it. A fixed pure-Python workload is timed before and after: the shared VM's speed
changes by a factor of up to ~3 from one hour to the next, and this says which hour it was.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

RUN_ONE = ("import asyncio, importlib, sys; "
           "asyncio.run(importlib.import_module(sys.argv[1]).main())")


def reference_workload() -> float:
    """Best of 5 runs of a fixed mix of calls, dicts and strings, in ms (lower is faster)."""
    def step(n: int) -> dict[str, int]:
        return {f"k{n % 97}": n, "len": len(str(n))}

    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for n in range(200_000):
            total += step(n)["len"]
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    print(f"machine: reference workload {reference_workload():.0f} ms", flush=True)
    names = sys.argv[1:] or sorted(p.stem.removeprefix("bench_")
                                   for p in Path(__file__).parent.glob("bench_*.py"))
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-c", RUN_ONE, f"bench.bench_{name}"])
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
        if code:
            failed.append(name)
    print(f"\nmachine: reference workload {reference_workload():.0f} ms", flush=True)
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
