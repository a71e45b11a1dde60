"""Scheduler benchmark: how late interval jobs start, odibi's ScheduleManager vs a fixed poll.

Both variants run a no-op job every ``--sched-interval-ms`` (default 50 ms) in real time and
record, for every firing, the *firing delay*: when the job started minus when it was due.

* ``odibi``: ``odibi_core.scheduler.ScheduleManager`` (its loop sleeps until the next due
  time; the job runs on a worker thread). The delay is ``JobRun.delay_ms`` (the worker's
  start time minus the due time). ``check_interval`` is set to 0.5 s as for the seed loop,
  where it is only a cap on the sleep.
* ``seed-poll``: the seed lesson's loop, reproduced here: check every ``check_interval``
  (0.5 s) whether ``now >= next_run``, run the job inline, then ``next_run = now + interval``.
  It starts a 50 ms job up to 0.5 s late, so it gets fewer firings per round
  (``--sched-seed-firings``).

The variants are interleaved (odibi, seed-poll, odibi, ...) ``--repeat`` times with no
warm-up round (every firing counts, the first included); the result is the median delay over
all firings of each variant. Run through ``bench/run.py --suite scheduler``; ``--quick`` and
``--repeat`` are bench/run.py's shared options.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from benchlib import Target, interleave

from odibi_core.scheduler import ScheduleManager

CHECK_INTERVAL = 0.5  # seconds: the seed-style poll, and odibi's cap on one sleep
DELAY_TARGET_MS = 50.0  # median firing delay of ScheduleManager

QUICK = {"sched_firings": 10, "sched_seed_firings": 2, "sched_interval_ms": 50.0, "repeat": 1}
FULL = {"sched_firings": 40, "sched_seed_firings": 8, "sched_interval_ms": 50.0, "repeat": 3}


def noop() -> None:
    """The job: returns at once, so the delay is the scheduler's alone."""


def odibi_delays(interval: float, firings: int) -> list[float]:
    """Delays (s) of the first ``firings`` runs of a real ScheduleManager interval job."""
    manager = ScheduleManager(check_interval=CHECK_INTERVAL)
    manager.schedule_interval(interval, noop, "bench")
    manager.start()
    deadline = time.monotonic() + 30 + firings * interval * 4
    try:
        while len(manager.get_runs("bench")) < firings and time.monotonic() < deadline:
            time.sleep(interval)
    finally:
        manager.stop()
    runs = manager.get_runs("bench")[:firings]
    if len(runs) < firings:
        raise RuntimeError(f"ScheduleManager fired {len(runs)} of {firings} times in time")
    return [run.delay_ms / 1000 for run in runs]


class SeedPollLoop:
    """The seed lesson's scheduling loop (Steps 10-11), one interval job, with delays kept."""

    def __init__(self, interval: float, function: Callable[[], None], firings: int) -> None:
        self.interval = timedelta(seconds=interval)
        self.function = function
        self.firings = firings
        self.next_run = datetime.now(UTC) + self.interval
        self.delays: list[float] = []
        self._running = True

    def check_and_run(self) -> None:
        now = datetime.now(UTC)
        if now >= self.next_run:
            self.delays.append((now - self.next_run).total_seconds())
            self.function()
            self.next_run = now + self.interval  # the seed: from now, not from the due time
            if len(self.delays) >= self.firings:
                self._running = False

    def run(self) -> None:
        while self._running:
            self.check_and_run()
            time.sleep(CHECK_INTERVAL)


def seed_delays(interval: float, firings: int) -> list[float]:
    loop = SeedPollLoop(interval, noop, firings)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    thread.join(30 + firings * (CHECK_INTERVAL + interval) * 4)
    if len(loop.delays) < firings:
        raise RuntimeError(f"seed-style loop fired {len(loop.delays)} of {firings} times in time")
    return loop.delays


def bench_delay(interval_ms: float, firings: int, seed_firings: int,
                repeat: int) -> tuple[list[Target], dict[str, Any]]:
    interval = interval_ms / 1000
    print(f"[a] firing delay of a no-op job every {interval_ms:g} ms: odibi ScheduleManager"
          f" ({firings} firings per round) vs a seed-style {CHECK_INTERVAL:g} s fixed poll"
          f" ({seed_firings} firings per round); each round prints its median delay")
    delays: dict[str, list[float]] = {"odibi": [], "seed-poll": []}

    def measure(name: str, run: Callable[[], list[float]]) -> Callable[[], float]:
        def round_median() -> float:
            found = run()
            delays[name] += found
            return statistics.median(found)
        return round_median

    interleave({
        "odibi": measure("odibi", lambda: odibi_delays(interval, firings)),
        "seed-poll": measure("seed-poll", lambda: seed_delays(interval, seed_firings)),
    }, repeat, warmup=0)
    summary = {name: _summary(values) for name, values in delays.items()}
    for name, numbers in summary.items():
        print(f"  {name:<9} median {numbers['median_ms']:8.2f} ms   p90 {numbers['p90_ms']:8.2f} ms"
              f"   max {numbers['max_ms']:8.2f} ms   over {numbers['firings']} firings")
    odibi_ms = summary["odibi"]["median_ms"]
    seed_ms = summary["seed-poll"]["median_ms"]
    print(f"  info: seed-poll / odibi median delay = {seed_ms / max(odibi_ms, 1e-3):.0f}x")
    targets = [
        Target(f"median firing delay (ScheduleManager, {interval_ms:g} ms interval)", odibi_ms,
               "<=", DELAY_TARGET_MS, " ms",
               f"seed-style {CHECK_INTERVAL:g} s poll: {seed_ms:.1f} ms"),
    ]
    return targets, {"interval_ms": interval_ms, "check_interval_s": CHECK_INTERVAL,
                     "delays_s": delays, "summary": summary}


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "firings": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


# -- the suite -----------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The scheduler suite's own options (``--quick`` and ``--repeat`` come from run.py)."""
    group = parser.add_argument_group("scheduler suite")
    group.add_argument("--sched-firings", type=int, default=None,
                       help=f"ScheduleManager firings per round (default {FULL['sched_firings']},"
                            f" --quick {QUICK['sched_firings']})")
    group.add_argument("--sched-seed-firings", type=int, default=None,
                       help="seed-style poll loop firings per round (default"
                            f" {FULL['sched_seed_firings']}, --quick {QUICK['sched_seed_firings']})")
    group.add_argument("--sched-interval-ms", type=float, default=None,
                       help=f"interval of the job (default {FULL['sched_interval_ms']:g})")


def settings(args: argparse.Namespace) -> dict[str, Any]:
    base = QUICK if getattr(args, "quick", False) else FULL
    chosen = {key: getattr(args, key) if getattr(args, key, None) is not None else default
              for key, default in base.items()}
    if chosen["sched_firings"] < 1 or chosen["sched_seed_firings"] < 1 \
            or chosen["sched_interval_ms"] <= 0 or chosen["repeat"] < 1:
        raise ValueError("--sched-firings and --sched-seed-firings must be at least 1,"
                         " --sched-interval-ms > 0, --repeat at least 1")
    return chosen


def run_suite(args: argparse.Namespace) -> tuple[list[Target], dict[str, Any]]:
    """Run the firing-delay benchmark; return its target and the raw numbers."""
    chosen = settings(args)
    print(f"scheduler suite: {chosen['repeat']} interleaved round(s) of each variant, no"
          " warm-up; medians over every firing")
    started = time.perf_counter()
    targets, details = bench_delay(chosen["sched_interval_ms"], chosen["sched_firings"],
                                   chosen["sched_seed_firings"], chosen["repeat"])
    for target in targets:
        print(target.line())
    print(flush=True)
    details["settings"] = chosen
    details["suite_seconds"] = time.perf_counter() - started
    print(f"scheduler suite took {details['suite_seconds']:.0f}s")
    return targets, details
