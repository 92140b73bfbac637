"""`python -m bench [name ...]`: run every bench/bench_*.py (or the named ones) and print."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem.removeprefix("bench_")
                                   for p in Path(__file__).parent.glob("bench_*.py"))
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        asyncio.run(module.main())
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
