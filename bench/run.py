"""`make bench [BENCH=name]`: run benchmarks and print one table with the baselines beside.

Each benchmark is ``bench/bench_<name>.py`` (names use '-' on the command line, '_' in files).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, write_results

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_").replace("_", "-") for p in BENCH_DIR.glob("bench_*.py"))


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def print_table(rows: list[Result]) -> None:
    header = ("benchmark", "metric", "value", "unit", "baseline", "baseline value", "ratio", "target")
    table = [header] + [
        (r.name, r.metric, fmt(r.value), r.unit, r.baseline_name or "-", fmt(r.baseline_value),
         fmt(r.ratio), r.target or "-")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for index, row in enumerate(table):
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    if not names:
        print("no benchmarks yet")
        return 0
    all_rows: list[Result] = []
    failed: list[str] = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name.replace('-', '_')}")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            rows: list[Result] = module.run()
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"  !! {name} failed: {type(exc).__name__}: {exc}")
            failed.append(name)
            continue
        path = write_results(name, rows)
        print(f"  done in {time.perf_counter() - started:.1f} s -> {path.relative_to(BENCH_DIR.parent)}")
        all_rows.extend(rows)
    print()
    print_table(all_rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
