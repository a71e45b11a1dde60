"""Level 4 reliability: checkpoint modes (when saves happen), resume after a config change, per-step
retry overrides, fail_fast True and False, and the resume hint of a failed run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from odibi_core.checkpoint import CheckpointManager, CheckpointMode
from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    ExecutionMode,
    Orchestrator,
    Step,
    create_engine_context,
)
from odibi_core.errors import PipelineError, RetryableError
from odibi_core.functions import register_function, unregister_function

CALLS: dict[str, int] = {}
NOW = [0.0]


@pytest.fixture(autouse=True)
def _functions():
    CALLS.clear()
    NOW[0] = 0.0

    @register_function("rel_tick", replace=True)
    def tick(frame: pd.DataFrame, *, name: str = "", seconds: float = 0.0, fail: int = 0) -> pd.DataFrame:
        CALLS[name] = CALLS.get(name, 0) + 1
        NOW[0] += seconds
        if CALLS[name] <= fail:
            raise RetryableError(f"{name}: transient failure {CALLS[name]}")
        return frame

    yield
    unregister_function("rel_tick")


def seed_data(tmp: Path) -> str:
    path = tmp / "seed.csv"
    if not path.exists():
        pd.DataFrame({"v": [1, 2, 3]}).to_csv(path, index=False)
    return str(path)


def tick(name: str, reads: str, *, seconds: float = 0.0, fail: int = 0, **params) -> Step:
    return Step("transform", name, "function", "pandas", "rel_tick", inputs={"frame": reads},
                outputs={"data": name}, params={"args": {"name": name, "seconds": seconds, "fail": fail},
                                                **params})


def chain(tmp: Path, n: int = 4, **kwargs) -> list[Step]:
    steps = [Step("ingest", "load", "config_op", "pandas", seed_data(tmp), outputs={"data": "load"})]
    previous = "load"
    for i in range(1, n + 1):
        steps.append(tick(f"n{i}", previous, **kwargs))
        previous = f"n{i}"
    return steps


def saves(tmp: Path, name: str = "pipeline") -> list:
    manager = CheckpointManager(tmp / "ckpt")
    return [manager.load(i) for i in manager.list_checkpoints(name)]


def run_executor(tmp: Path, steps: list[Step], mode: CheckpointMode, **kwargs) -> DAGExecutor:
    executor = DAGExecutor(DAGBuilder(steps).build(), create_engine_context("pandas"), max_workers=1,
                           checkpoint_manager=CheckpointManager(tmp / "ckpt"), checkpoint_mode=mode,
                           clock=lambda: NOW[0], **kwargs)
    executor.execute()
    return executor


def test_manual_mode_saves_only_when_asked(tmp_path: Path) -> None:
    executor = run_executor(tmp_path, chain(tmp_path), CheckpointMode.MANUAL)
    assert saves(tmp_path) == []
    executor.save_checkpoint()
    assert [c.completed_names for c in saves(tmp_path)] == [{"load", "n1", "n2", "n3", "n4"}]


def test_auto_mode_saves_after_every_node_and_at_the_end(tmp_path: Path) -> None:
    run_executor(tmp_path, chain(tmp_path), CheckpointMode.AUTO)
    done = [len(c.completed_names) for c in saves(tmp_path)]
    assert done == [1, 2, 3, 4, 5, 5], "one save per completed node, then the final one"


def test_interval_mode_saves_at_most_every_n_seconds(tmp_path: Path) -> None:
    run_executor(tmp_path, chain(tmp_path, 6, seconds=4.0), CheckpointMode.INTERVAL,
                 checkpoint_interval=10.0)
    # nodes end at t = 0 (load), 4, 8, 12, 16, 20, 24: saves when >= 10 s since the last one
    assert [len(c.completed_names) for c in saves(tmp_path)] == [4, 7, 7]


def test_layer_mode_saves_when_each_level_is_finished(tmp_path: Path) -> None:
    steps = [Step("ingest", "load", "config_op", "pandas", seed_data(tmp_path), outputs={"data": "load"}),
             tick("left", "load"), tick("right", "load"),
             Step("transform", "both", "sql", "pandas", "SELECT * FROM l UNION ALL SELECT * FROM r",
                  inputs={"l": "left", "r": "right"}, outputs={"data": "both"})]
    run_executor(tmp_path, steps, CheckpointMode.LAYER)
    got = [(c.metadata.get("level"), sorted(c.completed_names)) for c in saves(tmp_path)]
    assert got == [(0, ["load"]), (1, ["left", "load", "right"]), (2, ["both", "left", "load", "right"]),
                   (None, ["both", "left", "load", "right"])]


def test_a_config_change_reruns_the_node_and_its_descendants(tmp_path: Path) -> None:
    def pipeline(threshold: int) -> list[Step]:
        return [Step("ingest", "load", "config_op", "pandas", seed_data(tmp_path), outputs={"data": "load"}),
                Step("transform", "big", "sql", "pandas", f"SELECT * FROM t WHERE v >= {threshold}",
                     inputs={"t": "load"}, outputs={"data": "big"}),
                tick("after_big", "big", fail=1 if threshold == 1 else 0),
                tick("side", "load")]

    first = Orchestrator(pipeline(1), engine_type="pandas", enable_checkpoints=True, enable_cache=True,
                         cache_dir=str(tmp_path / "cache"), checkpoint_dir=str(tmp_path / "ckpt"),
                         max_retries=0, fail_fast=False).execute()
    assert first.failed_nodes == ["after_big"] and first.checkpoint_id is not None
    assert "resume_from_checkpoint=True" in first.resume_hint and first.checkpoint_id in first.resume_hint
    with pytest.raises(PipelineError, match="resume_from_checkpoint=True"):
        first.raise_for_failure()
    CALLS.clear()
    resumed = Orchestrator(pipeline(2), engine_type="pandas", enable_checkpoints=True, enable_cache=True,
                           cache_dir=str(tmp_path / "cache"), checkpoint_dir=str(tmp_path / "ckpt"),
                           resume_from_checkpoint=True, max_retries=0).execute()
    assert resumed.success
    assert resumed.resumed_nodes == ["load", "side"], "load is restored from the cache for 'big'"
    assert resumed.rerun_nodes == ["big"], "its SQL changed since the checkpoint"
    assert CALLS == {"after_big": 1}, "side did not run again; after_big ran on the new 'big'"
    assert list(resumed.data_map["after_big"]["v"]) == [2, 3]
    assert resumed.node_results["load"].reason.endswith("(outputs restored from the cache)")


def test_without_the_cache_a_needed_node_runs_again(tmp_path: Path) -> None:
    steps = chain(tmp_path, 3)
    steps[2] = tick("n2", "n1", fail=1)
    options = {"engine_type": "pandas", "enable_checkpoints": True, "checkpoint_dir": str(tmp_path / "ckpt"),
               "max_retries": 0}
    assert not Orchestrator(steps, **options).execute().success
    again = Orchestrator(steps, **options, resume_from_checkpoint=True).execute()
    assert again.success and again.resumed_nodes == []
    assert again.rerun_nodes == ["load", "n1"], "their outputs lived in memory and n2 needs them"
    assert again.nodes_executed == 4


def test_failed_run_without_checkpoints_says_how_to_be_able_to_resume(tmp_path: Path) -> None:
    steps = chain(tmp_path, 1)
    steps[1] = tick("n1", "load", fail=5)
    result = Orchestrator(steps, engine_type="pandas", max_retries=0).execute()
    assert "enable_checkpoints=True" in result.resume_hint


def test_per_step_retry_overrides_beat_the_pipeline_setting(tmp_path: Path) -> None:
    steps = [Step("ingest", "load", "config_op", "pandas", seed_data(tmp_path), outputs={"data": "load"}),
             tick("patient", "load", fail=3, max_retries=5, retry_delay=0.001),
             tick("impatient", "load", fail=1, max_retries=0),
             tick("default", "load", fail=1)]
    result = Orchestrator(steps, engine_type="pandas", max_retries=1, retry_delay=0.001,
                          retry_backoff=True, fail_fast=False).execute()
    attempts = {n: r.attempts for n, r in result.node_results.items() if n != "load"}
    assert attempts == {"patient": 4, "impatient": 1, "default": 2}
    assert result.failed_nodes == ["impatient"]
    assert result.successful_nodes == ["default", "load", "patient"]


@pytest.mark.parametrize("fail_fast", [True, False])
def test_fail_fast_true_stops_and_false_finishes_independent_branches(tmp_path: Path, fail_fast: bool) -> None:
    steps = [Step("ingest", "load", "config_op", "pandas", seed_data(tmp_path), outputs={"data": "load"}),
             tick("bad", "load", fail=9), tick("after_bad", "bad"),
             tick("good", "load"), tick("after_good", "good")]
    result = Orchestrator(steps, engine_type="pandas", max_retries=0, fail_fast=fail_fast).execute()
    assert result["failed_nodes"] == ["bad"]
    assert "after_bad" in result["skipped_nodes"]
    if fail_fast:
        assert result["successful_nodes"] == ["load"]
        assert set(result["skipped_nodes"]) == {"after_bad", "good", "after_good"}
    else:
        assert result["successful_nodes"] == ["after_good", "good", "load"]
        assert result["skipped_nodes"] == ["after_bad"]


def test_resume_can_be_switched_on_between_runs_and_modes_are_validated(tmp_path: Path) -> None:
    steps = chain(tmp_path, 2)
    orchestrator = Orchestrator(steps, engine_type="pandas", enable_checkpoints=True,
                                checkpoint_mode=CheckpointMode.AUTO, checkpoint_dir=str(tmp_path / "ckpt"))
    assert orchestrator.execute().success
    orchestrator.resume_from_checkpoint = True  # the Level 4 guide's Exercise 1 does this
    again = orchestrator.execute()
    assert again.resumed_nodes == ["load", "n1", "n2"] and again.nodes_executed == 0
    with pytest.raises(ValueError, match="checkpoint_mode must be one of"):
        DAGExecutor({}, create_engine_context("pandas"), checkpoint_mode="hourly")
    assert DAGExecutor({}, create_engine_context("pandas"), mode=ExecutionMode.BATCH).checkpoint_mode \
        is CheckpointMode.AUTO


def test_manual_mode_through_the_orchestrator_and_rerun_reasons(tmp_path: Path) -> None:
    steps = chain(tmp_path, 2)
    cache = {"enable_cache": True, "cache_dir": str(tmp_path / "cache")}
    orchestrator = Orchestrator(steps, engine_type="pandas", enable_checkpoints=True, **cache,
                                checkpoint_mode=CheckpointMode.MANUAL, checkpoint_dir=str(tmp_path / "ckpt"))
    with pytest.raises(ValueError, match="call execute\\(\\) first"):
        orchestrator.save_checkpoint()
    assert orchestrator.execute().success and saves(tmp_path, "pipeline") == []
    saved = orchestrator.save_checkpoint()
    assert saved.completed_names == {"load", "n1", "n2"}
    steps[2] = tick("n2", "n1", seconds=1.0)  # n2's params changed
    again = Orchestrator(steps, engine_type="pandas", checkpoint_dir=str(tmp_path / "ckpt"), **cache,
                         resume_from_checkpoint=True).execute()
    assert again.rerun_nodes == ["n2"] and again.resumed_nodes == ["load", "n1"]
    assert again.node_results["n2"].reason == "re-run: changed since the checkpoint"
    assert f"the folder {str(tmp_path / 'ckpt')!r}" not in again.resume_hint  # it succeeded: no hint
