"""odibi-course benchmarks: one command, every suite, ratios measured side by side.

Suites:
  executor  DAGExecutor per-node overhead vs a bare graphlib + thread-pool loop, parallel
            efficiency vs the ideal schedule, and the step cache (cold vs all-hit rerun);
            see bench/executor.py. Takes well under 2 minutes.
  scheduler ScheduleManager's firing delay (it sleeps until the next due time) vs the seed's
            fixed-poll loop; see bench/scheduler.py. About 20 seconds.
  streaming a file-watch poll over 20,000 committed files + 100 new ones vs a plain scandir,
            and an incremental (watermark) read vs a plain read of the same rows; see
            bench/streaming.py. About a minute.
  grader    ``python -m grader grade`` vs ``pytest --nbmake`` on the lessons; see
            bench/grader_vs_nbmake.py. Starts kernels: minutes.

Every measurement interleaves the variants it compares (A, B, A, B, ...) and reports
medians, the ratio, the target and PASS/FAIL. Exit code: 0 whatever the numbers, 1 with
``--check`` when a target fails, 2 when a run itself failed.

Usage: python bench/run.py [--suite grader|executor|all] [--repeat R] [--check] [--json FILE]
                           [--quick] [--nodes N] [--orders-rows N] [--sleep-ms MS]
                           [--jobs N] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import executor
import executor_scaling
import grader_vs_nbmake
import scheduler
import streaming
from benchlib import Target

EXIT_TARGET_FAILED = 1
EXIT_RUN_FAILED = 2
SUITES = ("executor", "scheduler", "streaming", "grader")
DEFAULT_REPEAT = {"grader": 3}  # the executor suite's default is in executor.FULL / QUICK


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="Benchmark the odibi_core executor and the course grader; print medians, "
        "ratios, targets and PASS/FAIL.",
    )
    parser.add_argument("--suite", choices=(*SUITES, "all"), default="all",
                        help="which benchmarks to run (default all)")
    parser.add_argument("--repeat", "-r", type=int, default=None,
                        help="timed runs of each variant, interleaved (default: grader 3,"
                        f" executor {executor.FULL['repeat']}, executor --quick"
                        f" {executor.QUICK['repeat']})")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a target is not met (default: exit 0 whatever the numbers)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the targets and every timing to this JSON file")
    executor.add_arguments(parser)
    scheduler.add_arguments(parser)
    streaming.add_arguments(parser)
    grader_vs_nbmake.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        executor.settings(args)
        scheduler.settings(args)
        streaming.settings(args)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    suites = SUITES if args.suite == "all" else (args.suite,)
    targets: list[tuple[str, Target]] = []
    details: dict[str, Any] = {}
    try:
        for suite in suites:
            if suite == "executor":
                found, details[suite] = executor.run_suite(args)
                more, details[suite]["fanin_scaling"] = executor_scaling.run_suite(args)
                found += more
            elif suite == "scheduler":
                found, details[suite] = scheduler.run_suite(args)
            elif suite == "streaming":
                found, details[suite] = streaming.run_suite(args)
            else:
                repeat = args.repeat if args.repeat is not None else DEFAULT_REPEAT["grader"]
                found, details[suite] = grader_vs_nbmake.run_suite(args, repeat)
            targets += [(suite, target) for target in found]
    except (grader_vs_nbmake.RunFailed, RuntimeError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED

    met = sum(target.passed for _, target in targets)
    print("summary")
    for suite, target in targets:
        print(f"  {suite:<8}  {target.line()}")
    print(f"{met} of {len(targets)} targets met")
    if args.json is not None:
        args.json.write_text(
            json.dumps({"targets": [{"suite": s, **t.as_dict()} for s, t in targets], **details},
                       indent=2) + "\n",
            encoding="utf-8",
        )
    if args.check and met < len(targets):
        return EXIT_TARGET_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
