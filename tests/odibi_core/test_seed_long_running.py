"""The long-running-workflows report's usage examples 1 and 4, adapted to odibi_core (its
"graph" is an odibi pipeline, its thread id the pipeline's checkpoint thread), and the
Orchestrator's metrics and progress options. Examples 2 and 3 run verbatim in
tests/odibi_core/progress/ and tests/odibi_core/jobs/."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from odibi_core.checkpoint import CheckpointManager, SqliteCheckpointStore
from odibi_core.core import Orchestrator, Step
from odibi_core.functions import register_function, unregister_function
from odibi_core.jobs import BackgroundJobExecutor, MemoryJobStore
from odibi_core.metrics import PipelineMetrics
from odibi_core.progress import ProgressStreamer

STATE = {"broken": True}


@pytest.fixture(autouse=True)
def _spec_function():
    @register_function("lr_review", replace=True)
    def review(spec: pd.DataFrame) -> pd.DataFrame:
        if STATE["broken"]:
            raise ConnectionError("the review service dropped the connection")
        return spec.assign(reviewed=True)

    STATE["broken"] = True
    yield
    unregister_function("lr_review")


def build_graph(tmp: Path) -> list[Step]:
    spec = tmp / "spec.csv"
    if not spec.exists():
        pd.DataFrame({"spec_id": ["spec-core-001"], "pages": [12]}).to_csv(spec, index=False)
    return [
        Step("ingest", "read_spec", "config_op", "pandas", str(spec), outputs={"data": "spec"}),
        Step("transform", "plan", "sql", "pandas", "SELECT spec_id, pages * 2 AS tasks FROM s",
             inputs={"s": "spec"}, outputs={"data": "plan"}),
        Step("transform", "review", "function", "pandas", "lr_review", inputs={"spec": "plan"},
             outputs={"data": "reviewed"}),
        Step("store", "save", "config_op", "pandas", str(tmp / "out" / "reviewed.csv"),
             inputs={"data": "reviewed"}),
    ]


def test_example_1_checkpointing_with_a_thread_id_in_sqlite(tmp_path: Path) -> None:
    store = SqliteCheckpointStore(tmp_path / "checkpoints.db")

    def invoke(resume: bool):
        # Run with thread_id for checkpointing
        return Orchestrator(build_graph(tmp_path), engine_type="pandas",
                            checkpoint_manager=CheckpointManager(store=store),
                            pipeline_name="workflow-123", resume_from_checkpoint=resume,
                            enable_cache=True, cache_dir=str(tmp_path / "cache"), max_retries=0).execute()

    result = invoke(resume=False)
    assert result.failed_nodes == ["review"] and "resume_from_checkpoint=True" in result.resume_hint
    assert f"the SQLite database {str(tmp_path / 'checkpoints.db')!r}" in result.resume_hint
    STATE["broken"] = False  # the service is back
    # Resume from checkpoint (after crash/restart)
    result = invoke(resume=True)
    assert result.success and result.resumed_nodes == ["plan", "read_spec"]
    assert store.dag_names() == ["workflow-123"]


def test_example_4_background_job_with_live_progress(tmp_path: Path) -> None:
    STATE["broken"] = False
    streamer = ProgressStreamer()
    # Submit workflow as background job
    executor = BackgroundJobExecutor(num_workers=1, store=MemoryJobStore()).start()
    try:
        def run_workflow():
            result = Orchestrator(build_graph(tmp_path), engine_type="pandas", progress=streamer,
                                  workflow_id="wf-123").execute()
            return {"success": result.success, "nodes": result.nodes_executed}

        job_id = executor.submit_job(run_workflow, workflow_id="wf-123")

        # Monitor progress in real-time
        seen = []
        for event in streamer.stream_events("monitor-1", timeout=30, workflow_id="wf-123"):
            seen.append(event)
            print(f"[{event.step}] {event.progress*100:.0f}%: {event.message}")
            if event.event_type in ("complete", "error"):
                break

        # Get result
        result = executor.wait_for_job(job_id, timeout=30)
    finally:
        executor.shutdown(wait=True)
    assert result == {"success": True, "nodes": 4}
    assert seen[-1].event_type == "complete" and seen[-1].progress == 1.0
    finished = [e.step for e in seen if e.event_type == "progress"]
    assert sorted(finished) == ["plan", "read_spec", "review", "save"]
    assert executor.get_job_status(job_id)["status"] == "succeeded"


def test_orchestrator_metrics_count_every_run(tmp_path: Path) -> None:
    metrics = PipelineMetrics()
    failed = Orchestrator(build_graph(tmp_path), engine_type="pandas", metrics=metrics,
                          pipeline_name="specs", max_retries=1, retry_delay=0.001).execute()
    STATE["broken"] = False
    fixed = Orchestrator(build_graph(tmp_path), engine_type="pandas", metrics=metrics,
                         pipeline_name="specs").execute()
    assert not failed.success and fixed.success
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics.to_prometheus())
               for s in family.samples}
    review = (("node", "review"), ("pipeline", "specs"))
    assert samples[("odibi_node_runs_total", (*review, ("status", "failed")))] == 1
    assert samples[("odibi_node_runs_total", (*review, ("status", "success")))] == 1
    assert samples[("odibi_node_retries_total", review)] == 1
    assert samples[("odibi_node_failures_total", (("error_type", "ConnectionError"), *review))] == 1
    assert samples[("odibi_pipeline_runs_total", (("pipeline", "specs"), ("status", "failed")))] == 1
    assert samples[("odibi_pipeline_runs_total", (("pipeline", "specs"), ("status", "success")))] == 1
    assert metrics.to_json()  # the same numbers as JSON (shape tested in tests/odibi_core/metrics)
