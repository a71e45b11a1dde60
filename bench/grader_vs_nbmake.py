"""Grader suite: grading the course with our grader vs ``pytest --nbmake`` on the same notebooks.

Runs ``python -m grader grade <lessons> --jobs N`` and ``python -m pytest --nbmake -n N``
alternately (A/B/A/B, so drift in machine load hits both alike), reports each
one's median wall time and the ratio grader/nbmake against the target ``<= 1.0``.
A run that itself fails (non-zero exit or timeout) raises :class:`RunFailed`.

Run through ``bench/run.py --suite grader`` (options ``--jobs``, ``--repeat``, ``--timeout``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchlib import Target

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS = REPO_ROOT / "lessons"
TARGET_RATIO = 1.0


class RunFailed(RuntimeError):
    """One timed run exited non-zero or timed out: the measurement is meaningless."""


@dataclass(frozen=True)
class Timing:
    """One timed run of one tool."""

    tool: str
    repeat: int
    seconds: float


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    """Kill a timed-out run with everything it started (kernels run in their own sessions)."""
    try:
        import psutil  # an ipykernel dependency, so present wherever lessons run
    except ImportError:
        psutil = None
    children = []
    if psutil is not None:
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    proc.communicate(timeout=30)


def timed_run(
    tool: str,
    repeat: int,
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
) -> Timing:
    """Run ``command`` once and return its wall time; raise :class:`RunFailed` if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_tree(proc)
        raise RunFailed(
            f"{tool} run {repeat} timed out after {timeout:.0f}s: {' '.join(command)}"
        ) from exc
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RunFailed(
            f"{tool} run {repeat} exited with code {proc.returncode}: {' '.join(command)}\n"
            f"--- stdout (tail) ---\n{_tail(stdout)}\n--- stderr (tail) ---\n{_tail(stderr)}"
        )
    return Timing(tool, repeat, seconds)


def bench(jobs: int, repeat: int, timeout: float, workspace: Path) -> list[Timing]:
    """Time the grader and nbmake alternately ``repeat`` times each, in ``workspace``."""
    notebooks = sorted(LESSONS.glob("*.ipynb"))
    if not notebooks:
        raise RunFailed(f"no lessons found in {LESSONS}")
    # Same work on both sides: nbmake runs every cell, so the grader runs Spark steps too when
    # Spark is here; without Spark, lessons with Spark cells are left out of both runs.
    spark_flag: list[str] = []
    if any(_has_spark_cells(nb) for nb in notebooks):
        from grader.grade import spark_available

        missing = spark_available()
        if missing is None:
            spark_flag = ["--spark"]
        else:
            left_out = [nb.name for nb in notebooks if _has_spark_cells(nb)]
            print(f"note: {missing}; leaving out lessons with Spark cells: {', '.join(left_out)}")
            notebooks = [nb for nb in notebooks if not _has_spark_cells(nb)]
    base_env = {**os.environ, "ODIBI_COURSE_ROOT": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    base_env.pop("ODIBI_WORKDIR", None)
    timings: list[Timing] = []
    for n in range(1, repeat + 1):
        # A: our grader, on the course's lessons (it runs each in its own work folder).
        run_dir = workspace / f"grader-{n}"
        run_dir.mkdir()
        env = {**base_env, "ODIBI_COURSE_HOME": str(run_dir / "home")}
        command = [
            sys.executable,
            "-m",
            "grader",
            "grade",
            *map(str, notebooks),
            "--jobs",
            str(jobs),
            "--out",
            str(run_dir / "report"),
            *spark_flag,
        ]
        timings.append(timed_run("grader", n, command, cwd=run_dir, env=env, timeout=timeout))
        _progress(timings[-1])

        # B: nbmake, on a fresh copy (it runs notebooks with cwd = their folder).
        run_dir = workspace / f"nbmake-{n}"
        copy = run_dir / LESSONS.name
        shutil.copytree(LESSONS, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        env = {**base_env, "ODIBI_COURSE_HOME": str(run_dir / "home")}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--nbmake",
            "-n",
            str(jobs),
            *(str(copy / nb.name) for nb in notebooks),
        ]
        timings.append(timed_run("nbmake", n, command, cwd=run_dir, env=env, timeout=timeout))
        _progress(timings[-1])
    return timings


def _has_spark_cells(notebook: Path) -> bool:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    return any("engine-spark" in cell.get("metadata", {}).get("tags", []) for cell in cells)


def _progress(timing: Timing) -> None:
    print(f"  run {timing.repeat}  {timing.tool:<6}  {timing.seconds:7.2f}s", flush=True)


def summarize(timings: list[Timing]) -> dict[str, float]:
    """Median seconds of each tool and the ratio grader/nbmake."""
    grader = statistics.median(t.seconds for t in timings if t.tool == "grader")
    nbmake = statistics.median(t.seconds for t in timings if t.tool == "nbmake")
    return {"grader_median_s": grader, "nbmake_median_s": nbmake, "ratio": grader / nbmake}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("grader suite")
    group.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="parallel workers for both tools (default: CPU count, at most one per lesson)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds one grader or nbmake run may take before it counts as failed (default 1800)",
    )


def run_suite(args: argparse.Namespace, repeat: int) -> tuple[list[Target], dict[str, Any]]:
    """Time both tools ``repeat`` times each; return the target and the numbers.
    Raises :class:`RunFailed` when a run fails."""
    lessons = sorted(p.name for p in LESSONS.glob("*.ipynb"))
    jobs = args.jobs if args.jobs is not None else min(os.cpu_count() or 1, len(lessons) or 1)
    if jobs < 1:
        raise ValueError("--jobs must be at least 1")
    print(
        f"grader suite: grader vs pytest --nbmake on {len(lessons)} lesson(s), --jobs {jobs},"
        f" {repeat} interleaved run(s) of each tool",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="odibi-bench-") as tmp:
        timings = bench(jobs, repeat, args.timeout, Path(tmp))
    summary = summarize(timings)
    print(f"  grader  median {summary['grader_median_s']:7.2f}s")
    print(f"  nbmake  median {summary['nbmake_median_s']:7.2f}s")
    target = Target("ratio grader/nbmake", summary["ratio"], "<=", TARGET_RATIO, "x",
                    "below 1: the grader is faster")
    print(target.line())
    print(flush=True)
    details = {"lessons": lessons, "jobs": jobs, "repeat": repeat, **summary,
               "runs": [asdict(t) for t in timings]}
    return [target], details
