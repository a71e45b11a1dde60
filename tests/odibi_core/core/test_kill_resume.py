"""Kill test: a 14-node parallel pipeline is SIGKILLed at a random node (20 seeded trials);
each resume runs only the nodes not durably complete in the latest checkpoint, and the outputs
equal an uninterrupted run's."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from odibi_core.checkpoint import CheckpointManager

SCRIPT = Path(__file__).with_name("killable_pipeline.py")
NODES = ["read_a", "read_b", "read_c", "clean_a", "clean_b", "clean_c", "join_ab", "enrich_c",
         "score", "rank", "combine", "save_score", "save_rank", "save_combined"]
OUTPUTS = ("score.csv", "rank.csv", "combined.csv")

pytestmark = pytest.mark.slow


def run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(work), *args], capture_output=True,
                          text=True, timeout=120, check=False)


def outputs(work: Path) -> dict[str, bytes]:
    return {name: (work / "out" / name).read_bytes() for name in OUTPUTS}


def test_sigkill_at_a_random_node_then_resume_runs_only_what_is_not_durably_done(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    done = run(reference)
    assert done.returncode == 0, done.stdout + done.stderr
    expected = outputs(reference)
    rng = random.Random(7)
    trials = [(rng.choice(NODES), rng.choice(["start", "complete"])) for _ in range(20)]
    for i, (node, phase) in enumerate(trials):
        work = tmp_path / f"trial{i:02d}"
        killed = run(work, "--kill", f"{node}:{phase}")
        assert killed.returncode == -signal.SIGKILL, (node, phase, killed.stdout, killed.stderr)
        checkpoint = CheckpointManager(work / "checkpoints").load_latest("killable")
        complete = checkpoint.completed_names if checkpoint is not None else set()
        assert node not in complete or phase == "complete", f"{node} was killed before it completed"
        resumed = run(work, "--resume")
        assert resumed.returncode == 0, (node, phase, resumed.stdout, resumed.stderr)
        report = json.loads(resumed.stdout.strip().splitlines()[-1])
        ran = {n for n, state in report["states"].items() if state in ("SUCCESS", "CACHED")}
        assert ran == set(NODES) - complete, (
            f"trial {i} (kill {node} at {phase}): ran {sorted(ran)}, checkpoint had {sorted(complete)}")
        assert set(report["resumed"]) == complete and report["rerun"] == []
        assert outputs(work) == expected, f"trial {i}: outputs differ from an uninterrupted run"
