"""ExecutionMode.RESUME: complete nodes are not run again unless a node that must run needs them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from odibi_core.checkpoint import CheckpointManager
from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    ExecutionMode,
    NodeState,
    Step,
    create_engine_context,
)
from odibi_core.errors import PipelineError
from odibi_core.functions import register_function, unregister_function

BROKEN = {"yes": True}


@pytest.fixture(autouse=True)
def _score_function():
    @register_function("resume_score", replace=True)
    def score(orders: pd.DataFrame) -> pd.DataFrame:
        if BROKEN["yes"]:
            raise ValueError("scoring service down")
        return orders.assign(score=orders["amount"] * 2)

    BROKEN["yes"] = True
    yield
    unregister_function("resume_score")


def steps(tmp: Path) -> list[Step]:
    data = tmp / "orders.csv"
    if not data.exists():  # rewriting it would change the source's identity (its mtime)
        pd.DataFrame({"order_id": [1, 2], "amount": [5.0, 20.0]}).to_csv(data, index=False)
    return [
        Step("ingest", "read", "config_op", "pandas", str(data), outputs={"data": "orders"}),
        Step("transform", "big", "sql", "pandas", "SELECT * FROM o WHERE amount > 10",
             inputs={"o": "orders"}, outputs={"data": "big"}),
        Step("store", "save_big", "config_op", "pandas", str(tmp / "big.csv"), inputs={"data": "big"}),
        Step("transform", "scored", "function", "pandas", "resume_score", inputs={"orders": "orders"},
             outputs={"data": "scored"}),
        Step("store", "save_scored", "config_op", "pandas", str(tmp / "scored.csv"),
             inputs={"data": "scored"}),
    ]


def executor(tmp: Path, mode: ExecutionMode, manager: CheckpointManager | None) -> DAGExecutor:
    return DAGExecutor(DAGBuilder(steps(tmp)).build(), create_engine_context("pandas"), max_workers=2,
                       max_retries=0, fail_fast=False, mode=mode, checkpoint_manager=manager,
                       dag_name="orders")


def test_resume_skips_complete_nodes_and_reruns_what_running_nodes_need(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "ckpt")
    first = executor(tmp_path, ExecutionMode.BATCH, manager)
    with pytest.raises(PipelineError, match=r"(?s)scored.*To resume: .*mode=ExecutionMode.RESUME"):
        first.execute()
    saved = manager.load_latest("orders")
    assert saved.completed_names == {"read", "big", "save_big"}
    assert saved.pending_nodes == {"scored", "save_scored"} and saved.metadata["failed_nodes"] == ["scored"]
    (tmp_path / "big.csv").unlink()  # a resumed node must not run again: this file stays gone
    BROKEN["yes"] = False
    second = executor(tmp_path, ExecutionMode.RESUME, manager)
    second.execute()
    assert second.resumed_from.checkpoint_id == saved.checkpoint_id
    assert second.resumed_nodes == ["big", "save_big"]
    assert {n: second.results[n].state for n in ("read", "scored", "save_scored")} == {
        "read": NodeState.SUCCESS, "scored": NodeState.SUCCESS, "save_scored": NodeState.SUCCESS}
    assert "orders" in second.data_map, "read ran again: scored needed its output, which lived in memory"
    assert not (tmp_path / "big.csv").exists()
    assert (tmp_path / "scored.csv").exists()
    latest = manager.load_latest("orders")
    assert latest.completed_names == {"read", "big", "save_big", "scored", "save_scored"}
    assert latest.pending_nodes == set() and latest.mode == "resume"
    carried = {n.node_name: n for n in latest.completed_nodes}["big"]
    assert carried == {n.node_name: n for n in saved.completed_nodes}["big"], "carried forward as saved"


def test_resume_without_a_checkpoint_runs_everything(tmp_path: Path) -> None:
    BROKEN["yes"] = False
    run = executor(tmp_path, ExecutionMode.RESUME, CheckpointManager(tmp_path / "ckpt"))
    run.execute()
    assert run.resumed_from is None and run.resumed_nodes == []
    assert len(run.successful_nodes) == 5


def test_resume_needs_a_checkpoint_manager_and_modes_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RESUME needs a checkpoint_manager"):
        executor(tmp_path, ExecutionMode.RESUME, None).execute()
    with pytest.raises(ValueError, match="mode must be one of \\['batch', 'stream', 'resume'\\]"):
        DAGExecutor({}, create_engine_context("pandas"), mode="sometimes")
    assert DAGExecutor({}, create_engine_context("pandas"), mode="resume").mode is ExecutionMode.RESUME
