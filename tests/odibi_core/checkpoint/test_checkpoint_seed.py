"""The seed lesson's Demo 2 (checkpoint and resume). Its Step 14 tests are in
tests/odibi_core/test_seed_streaming.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from odibi_core.checkpoint import Checkpoint, CheckpointManager, CheckpointMode, NodeCheckpoint  # noqa: F401


def test_seed_demo_checkpoint_resume(tmp_path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """The seed's Demo 2 (default checkpoint_dir, positional NodeCheckpoint), run in tmp_path."""
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("seed_demo")
    caplog.set_level(logging.INFO)

    # Create checkpoint manager
    checkpoint_mgr = CheckpointManager()

    # Simulate DAG execution

    completed = [
        NodeCheckpoint("step1", "SUCCESS", datetime.now().isoformat(), 100.0),
        NodeCheckpoint("step2", "SUCCESS", datetime.now().isoformat(), 150.0),
    ]

    checkpoint = checkpoint_mgr.create_checkpoint(
        dag_name="my_pipeline",
        completed_nodes=completed,
        pending_nodes={"step3", "step4"}
    )

    checkpoint_mgr.save(checkpoint)
    logger.info(f"Checkpoint created: {checkpoint.checkpoint_id}")

    # Resume from checkpoint
    loaded = checkpoint_mgr.load_latest("my_pipeline")
    skip_nodes = checkpoint_mgr.get_resume_point(loaded)
    logger.info(f"Resume: skip {skip_nodes}\n")

    assert skip_nodes == {"step1", "step2"}
    assert loaded is not None and loaded.pending_nodes == {"step3", "step4"}
    assert (tmp_path / "artifacts" / "checkpoints" / "my_pipeline" / "00000001.json").is_file()
    assert "Checkpoint created: my_pipeline-00000001" in caplog.text


def test_seed_clean_up_old_checkpoints(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The seed's example 4, "Clean Up Old Checkpoints", run in tmp_path after a run saved three
    checkpoints a month ago: the two older ones go, the newest stays so the run can resume."""
    monkeypatch.chdir(tmp_path)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    earlier = CheckpointManager(clock=lambda: month_ago)
    for iteration in range(3):
        earlier.save(earlier.create_checkpoint("my_pipeline", [], {"step1"}, iteration=iteration))

    manager = CheckpointManager()

    # Clean up checkpoints older than 7 days
    deleted = manager.cleanup_old_checkpoints(days=7)
    print(f"Deleted {deleted} old checkpoints")

    assert capsys.readouterr().out == "Deleted 2 old checkpoints\n"
    assert manager.list_checkpoints("my_pipeline") == ["my_pipeline-00000003"]
    assert manager.cleanup_old_checkpoints(days=7) == 0
