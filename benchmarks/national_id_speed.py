"""How fast the importer's checks run, and what the national-id check costs.

Builds one million visit rows as the reader hands them over (string columns, chunks of 100,000
rows) and times ``ChunkChecker.check`` over all of them: every column's checks, the national-id
check of every field included. Then it times the vectorised national-id check alone on one
million values of a few shapes, the worst being ten-digit numeric ids that all pass the
pre-filter's shape and need the exact check.

Prints the fastest and the median of ``--repeat`` runs, and values per second. Figures on a shared
machine are noisy: compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.importers.contract import KINDS  # noqa: E402
from storage.importers.validation import ChunkChecker, resolve_header  # noqa: E402

ROWS = 1_000_000
CHUNK = 100_000


def visit_chunks(rng: np.random.Generator) -> list[tuple[np.ndarray, list[pd.Series]]]:
    header = [c.name for c in KINDS["visits"]]
    ids = np.arange(ROWS)
    days = pd.date_range("2025-01-06", periods=364).strftime("%Y-%m-%d").to_numpy()
    columns = {
        "visit_id": np.char.add("V-", np.char.zfill(ids.astype(str), 7)),
        "team": np.char.add("HAD-", rng.integers(0, 100, ROWS).astype(str)),
        "citizen_ref": np.char.add("B-", np.char.zfill(rng.integers(0, 9000, ROWS).astype(str),
                                                       6)),
        "employee_id": np.char.add("E", rng.integers(0, 1400, ROWS).astype(str)),
        "date": days[rng.integers(0, len(days), ROWS)],
        "minutes": rng.integers(5, 90, ROWS).astype(str),
        "status": np.where(rng.random(ROWS) < 0.95, "delivered", "cancelled"),
    }
    chunks = []
    for start in range(0, ROWS, CHUNK):
        lines = np.arange(start + 2, start + CHUNK + 2, dtype=np.int64)
        chunks.append((lines, [pd.Series(columns[name][start:start + CHUNK], dtype="str")
                               for name in header]))
    return header, chunks


def timed(run, repeat: int) -> tuple[float, float]:
    """The fastest and the median of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    header, chunks = visit_chunks(rng)
    layout, errors = resolve_header("visits", header)
    assert not errors

    def check_all():
        checker = ChunkChecker(layout, decimal_comma=False)
        for lines, columns in chunks:
            _, errors = checker.check(lines, columns)
            assert not errors

    fastest, median = timed(check_all, args.repeat)
    print(f"ChunkChecker.check, {ROWS:,} visit rows (7 columns): fastest {fastest:.2f} s "
          f"({ROWS / fastest:,.0f} rows/s), median {median:.2f} s", flush=True)

    try:
        from storage.national_ids import national_id_mask
    except ImportError:
        print("(no vectorised national-id check in this version)")
        return
    shapes = {
        "visit ids V-0000123": np.char.add("V-", np.char.zfill(np.arange(ROWS).astype(str), 7)),
        "free text with a phone number": np.char.add(
            "ring 22 33 44 55 kl. ", rng.integers(0, 2400, ROWS).astype(str)),
        "ten-digit numeric ids (worst case)": rng.integers(10**9, 10**10, ROWS).astype(str),
    }
    for name, values in shapes.items():
        series = pd.Series(values, dtype="str")
        found = national_id_mask(series)
        fastest, median = timed(lambda s=series: national_id_mask(s), args.repeat)
        print(f"national_id_mask, {ROWS:,} values, {name}: fastest {fastest:.2f} s "
              f"({ROWS / fastest:,.0f} values/s), median {median:.2f} s "
              f"({int(found.sum()):,} refused)", flush=True)


if __name__ == "__main__":
    main()
