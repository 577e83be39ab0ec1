"""Benchmark ``elt generate`` at scale 1 (≈1M order lines over 90 days).

Usage: python -m bench.generate [--scale 1] [--days 90] [--repeat 1]
Prints wall time, rows/s and MB/s per run and the median.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(
        f"elt generate benchmark: scale {args.scale}, {args.days} days, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    seconds = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="elt-bench-") as tmp:
            s = generate(Path(tmp), GeneratorConfig(scale=args.scale), days=args.days)
            items = s.tables["shop/order_items"].rows
            seconds.append(s.seconds)
            print(
                f"run {i + 1}: {s.seconds:6.1f} s  {s.rows:>11,} rows ({items:,} order lines)  "
                f"{s.bytes / 1e6:8.1f} MB  {s.rows / s.seconds:>10,.0f} rows/s  {s.bytes / 1e6 / s.seconds:6.1f} MB/s"
            )
    print(f"median: {statistics.median(seconds):.1f} s (goal: scale 1 under 60 s)")


if __name__ == "__main__":
    main()
