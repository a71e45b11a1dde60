"""Smoke test of bench/run.py: the executor suite runs end to end at tiny sizes and prints its
ratio lines. No timing is asserted (the numbers mean nothing at these sizes)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN = REPO_ROOT / "bench" / "run.py"

VERDICT = r"= [0-9.]+(x| us)\s+target (<=|>=) [0-9.]+(x| us)\s+(PASS|FAIL)"
RATIO_LINES = {
    "overhead": re.compile(rf"^ratio odibi/bare \(8 workers\) {VERDICT}", re.M),
    "parallel": re.compile(rf"^ratio odibi/ideal \(32 x [0-9.]+ ms on 8 workers\) {VERDICT}", re.M),
    "critical path": re.compile(rf"^ratio odibi/critical-path \(layered DAG\) {VERDICT}", re.M),
    "cache": re.compile(rf"^ratio cold/warm \([0-9,]+ orders rows, scaled lesson data\) {VERDICT}",
                        re.M),
}


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_executor_suite_quick_prints_every_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = _run("--suite", "executor", "--quick", "--repeat", "1", "--json", str(out),
                tmp_path=tmp_path)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    for what, pattern in RATIO_LINES.items():
        assert pattern.search(proc.stdout), f"no {what} ratio line in:\n{proc.stdout}"
    assert re.search(r"^per-node odibi \(8 workers\) " + VERDICT, proc.stdout, re.M), proc.stdout
    assert re.search(r"^\d+ of 13 targets met$", proc.stdout, re.M), proc.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {t["suite"] for t in report["targets"]} == {"executor"}
    assert report["executor"]["settings"]["repeat"] == 1


def test_help_lists_both_suites(tmp_path: Path) -> None:
    proc = _run("--help", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for option in ("--suite", "--check", "--quick", "--nodes", "--orders-rows", "--jobs", "--timeout"):
        assert option in proc.stdout, f"{option} missing from --help:\n{proc.stdout}"
    for suite in ("grader", "executor", "scheduler", "streaming"):
        assert suite in proc.stdout, f"{suite} missing from --help"


def test_streaming_and_scheduler_suites_quick_print_their_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = _run("--suite", "streaming", "--quick", "--repeat", "1", "--json", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert re.search(r"^file-watch poll, selection \+ reading \([0-9,]+ seen \+ \d+ new files\) "
                     r"= [0-9.]+ ms\s+target <= 100 ms\s+(PASS|FAIL)", proc.stdout, re.M), proc.stdout
    assert re.search(r"^ratio incremental poll/plain read \([0-9,]+ rows\) " + VERDICT, proc.stdout,
                     re.M), proc.stdout
    assert {t["suite"] for t in json.loads(out.read_text(encoding="utf-8"))["targets"]} == {"streaming"}
    proc = _run("--suite", "scheduler", "--quick", tmp_path=tmp_path)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert re.search(r"^median firing delay \(ScheduleManager, \d+ ms interval\) = [0-9.]+ ms\s+"
                     r"target <= 50 ms\s+(PASS|FAIL)\s+\(seed-style", proc.stdout, re.M), proc.stdout
