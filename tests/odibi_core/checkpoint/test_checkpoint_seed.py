"""The seed lesson's Step 14 TestCheckpointManager tests, verbatim, and its Demo 2."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pytest

from odibi_core.checkpoint import Checkpoint, CheckpointManager, CheckpointMode, NodeCheckpoint  # noqa: F401


class TestCheckpointManager:
    """Test CheckpointManager functionality."""

    def test_create_and_save_checkpoint(self, tmp_path):
        """Test checkpoint creation and persistence."""
        manager = CheckpointManager(checkpoint_dir=str(tmp_path))

        # Create checkpoint
        completed = [
            NodeCheckpoint(
                node_name="node1",
                state="SUCCESS",
                completed_at=datetime.now().isoformat(),
                duration_ms=100.5,
                attempts=1
            )
        ]

        checkpoint = manager.create_checkpoint(
            dag_name="test_dag",
            completed_nodes=completed,
            pending_nodes={"node2"},
            mode="batch"
        )

        assert checkpoint.dag_name == "test_dag"
        assert len(checkpoint.completed_nodes) == 1

        # Save checkpoint
        path = manager.save(checkpoint)
        assert path.exists()

    def test_load_latest_checkpoint(self, tmp_path):
        """Test loading most recent checkpoint."""
        manager = CheckpointManager(checkpoint_dir=str(tmp_path))

        # Create multiple checkpoints
        for i in range(3):
            checkpoint = manager.create_checkpoint(
                dag_name="multi_test",
                completed_nodes=[],
                pending_nodes=set(),
                iteration=i
            )
            manager.save(checkpoint)
            time.sleep(0.1)

        # Load latest
        latest = manager.load_latest("multi_test")

        assert latest is not None
        assert latest.iteration == 2


def test_seed_demo_checkpoint_resume(tmp_path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """The seed's Demo 2 (default checkpoint_dir, positional NodeCheckpoint), run in tmp_path."""
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("seed_demo")
    caplog.set_level(logging.INFO)

    # Create checkpoint manager
    checkpoint_mgr = CheckpointManager()

    # Simulate DAG execution
    from odibi_core.checkpoint import NodeCheckpoint

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
