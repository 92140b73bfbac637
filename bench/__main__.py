"""`python -m bench [name ...]`: run every bench/bench_*.py (or the named ones) and print.

Each benchmark runs in a process of its own, so memory readings are not inflated by the
ones before it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

RUN_ONE = ("import asyncio, importlib, sys; "
           "asyncio.run(importlib.import_module(sys.argv[1]).main())")


def main() -> None:
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
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
