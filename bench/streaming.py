"""Streaming benchmarks: file-watch listing and incremental-read overhead.

(a) listing: a file-watch poll's selection step (``os.scandir`` + pattern + seen-set lookup +
    the read-lease check of each new file) over a folder of ``--seen-files`` committed files
    and ``--new-files`` new ones, against a plain ``os.scandir`` listing (names and stat) of
    the same folder. The whole poll (selection plus reading the new CSVs) is shown as info.
(b) incremental: ``--rows`` rows in one Parquet file read through an INCREMENTAL poll (a
    fresh source, so every row is delivered) against a plain engine read of the same file.

Every measurement interleaves its variants after one untimed warm-up round and reports
medians. Run through ``bench/run.py --suite streaming``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from benchlib import Target, interleave, medians

from odibi_core.engine import create_engine_context
from odibi_core.streaming import StreamConfig, StreamManager, StreamMode
from odibi_core.streaming.files import list_files
from odibi_core.streaming.watch import complete_files

LISTING_MS = 100.0  # ms per poll's selection step
INCREMENTAL_RATIO = 1.3  # incremental poll / plain read

QUICK = {"seen_files": 2_000, "new_files": 100, "rows": 100_000, "repeat": 3}
FULL = {"seen_files": 20_000, "new_files": 100, "rows": 1_000_000, "repeat": 7}


def _make_folder(folder: Path, seen: int, new: int) -> None:
    folder.mkdir(parents=True)
    body = b"a,b\n1,x\n2,y\n"
    for i in range(seen + new):
        name = f"{'old' if i < seen else 'new'}_{i:06d}.csv"
        (folder / name).write_bytes(body)
        stamp = (1_600_000_000 + i) * 1_000_000_000  # the new files are the newest
        os.utime(folder / name, ns=(stamp, stamp))


def bench_listing(seen: int, new: int, repeat: int, workspace: Path) -> tuple[list[Target], dict]:
    folder = workspace / "inbox"
    _make_folder(folder, seen, new)
    stream = StreamManager(str(workspace / "ckpt"))
    stream.add_source("w", StreamConfig(StreamMode.FILE_WATCH, str(folder), file_pattern="*.csv"))
    committed = [e.to_record() for e in list_files(folder, "old_*.csv")]
    stream.commit("w", {"files": committed})
    runtime, config = stream.sources["w"].runtime, stream.sources["w"].config
    print(f"[a] file-watch listing: {seen:,} committed + {new} new CSV files in one folder")

    def odibi() -> float:
        start = time.perf_counter()
        found = complete_files(runtime, config)
        seconds = time.perf_counter() - start
        if len(found) != new:
            raise RuntimeError(f"expected {new} new files, the poll chose {len(found)}")
        return seconds

    def scandir() -> float:
        start = time.perf_counter()
        with os.scandir(folder) as entries:
            listed = [(e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.is_file()]
        seconds = time.perf_counter() - start
        if len(listed) != seen + new:
            raise RuntimeError("scandir listed the wrong number of files")
        return seconds

    def whole_poll() -> float:
        start = time.perf_counter()
        batch = stream.poll("w")
        seconds = time.perf_counter() - start
        if batch is None or len(batch.files) != new:
            raise RuntimeError("the poll did not deliver the new files")
        runtime.inflight.clear()  # deliver them again next round
        runtime.pending.clear()
        return seconds

    timings = interleave({"odibi-select": odibi, "os.scandir": scandir, "whole-poll": whole_poll},
                         repeat)
    med = medians(timings)
    print(f"  info: selection / plain scandir = {med['odibi-select'] / med['os.scandir']:.2f}x;"
          f" a whole poll (selection + reading {new} CSVs with pandas) = "
          f"{med['whole-poll'] * 1000:.1f} ms")
    targets = [Target(f"file-watch poll, selection + reading ({seen:,} seen + {new} new files)",
                      med["whole-poll"] * 1000, "<=", LISTING_MS, " ms",
                      note=f"selection alone {med['odibi-select'] * 1000:.1f} ms,"
                           f" plain os.scandir {med['os.scandir'] * 1000:.1f} ms")]
    return targets, {"runs": timings.runs, "median_s": med}


def bench_incremental(rows: int, repeat: int, workspace: Path) -> tuple[list[Target], dict]:
    rng = np.random.default_rng(20250301)
    path = workspace / "events.parquet"
    pd.DataFrame({
        "event_id": np.arange(rows),
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows), unit="s"),
        "sensor": rng.integers(0, 500, rows),
        "value": rng.normal(size=rows),
    }).to_parquet(path, index=False)
    engine = create_engine_context("pandas")
    print(f"[b] incremental read: {rows:,} rows in one Parquet file"
          f" ({path.stat().st_size / 1e6:.1f} MB), pandas engine")
    runs = [0]

    def plain() -> float:
        start = time.perf_counter()
        frame = engine.read(str(path), format="parquet")
        seconds = time.perf_counter() - start
        if len(frame) != rows:
            raise RuntimeError("plain read lost rows")
        return seconds

    def incremental() -> float:
        runs[0] += 1
        stream = StreamManager(str(workspace / f"ckpt-{runs[0]}"))
        stream.add_source("inc", StreamConfig(StreamMode.INCREMENTAL, str(path), format="parquet",
                                              watermark_column="ts"))
        start = time.perf_counter()
        batch = stream.poll("inc", engine)
        seconds = time.perf_counter() - start
        if batch is None or batch.row_count != rows:
            raise RuntimeError("the incremental poll did not deliver every row")
        return seconds

    timings = interleave({"plain-read": plain, "incremental-poll": incremental}, repeat)
    med = medians(timings)
    for name, value in med.items():
        print(f"  {name:<16} median {value * 1000:8.1f} ms")
    targets = [Target(f"ratio incremental poll/plain read ({rows:,} rows)",
                      med["incremental-poll"] / med["plain-read"], "<=", INCREMENTAL_RATIO, "x")]
    return targets, {"rows": rows, "runs": timings.runs, "median_s": med}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("streaming suite")
    group.add_argument("--seen-files", type=int, default=None,
                       help=f"committed files in the watched folder (default {FULL['seen_files']:,})")
    group.add_argument("--new-files", type=int, default=None,
                       help=f"new files in the watched folder (default {FULL['new_files']})")
    group.add_argument("--rows", type=int, default=None,
                       help=f"rows of the incremental source (default {FULL['rows']:,})")


def settings(args: argparse.Namespace) -> dict[str, Any]:
    base = QUICK if getattr(args, "quick", False) else FULL
    chosen = {key: getattr(args, key, None) if getattr(args, key, None) is not None else default
              for key, default in base.items()}
    if getattr(args, "repeat", None) is not None:
        chosen["repeat"] = args.repeat
    if chosen["seen_files"] < 0 or chosen["new_files"] < 1 or chosen["rows"] < 1:
        raise ValueError("--seen-files must be >= 0, --new-files and --rows at least 1")
    return chosen


def run_suite(args: argparse.Namespace) -> tuple[list[Target], dict[str, Any]]:
    """Run (a) and (b); return their targets and the raw numbers."""
    chosen = settings(args)
    repeat = chosen["repeat"]
    print(f"streaming suite: {repeat} interleaved run(s) of each variant after 1 warm-up round;"
          f" medians")
    targets: list[Target] = []
    details: dict[str, Any] = {"settings": chosen}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="odibi-bench-stream-") as tmp:
        found, details["listing"] = bench_listing(chosen["seen_files"], chosen["new_files"],
                                                  repeat, Path(tmp) / "a")
        _print_targets(found)
        targets += found
        (Path(tmp) / "b").mkdir()
        found, details["incremental"] = bench_incremental(chosen["rows"], repeat, Path(tmp) / "b")
        _print_targets(found)
        targets += found
    details["suite_seconds"] = time.perf_counter() - started
    print(f"streaming suite took {details['suite_seconds']:.0f}s")
    return targets, details


def _print_targets(targets: list[Target]) -> None:
    for target in targets:
        print(target.line())
    print(flush=True)
