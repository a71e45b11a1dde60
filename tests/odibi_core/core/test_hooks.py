"""Built-in hooks: the Level 3 guide's helper code, run against real pipelines."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from odibi_core.core import Step


@pytest.fixture
def steps(tmp_path):
    csv = tmp_path / "nums.csv"
    pd.DataFrame({"n": [1, 2, 3, 4]}).to_csv(csv, index=False)
    return [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"d": "nums"}),
        Step("transform", "evens", "sql", "pandas", "SELECT n FROM t WHERE n % 2 = 0", inputs={"t": "nums"},
             outputs={"d": "evens"}),
    ]


def test_level3_built_in_hook_helpers(steps, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    from odibi_core.event_bus import EventBus, create_metrics_export_hook, create_summary_hook
    from odibi_core.orchestrator import Orchestrator

    event_bus = EventBus()
    # the guide's code, unchanged:
    summary_hook = create_summary_hook()
    event_bus.register_hook("pipeline_complete", summary_hook)
    metrics_hook = create_metrics_export_hook(output_path="metrics.json")
    event_bus.register_hook("pipeline_complete", metrics_hook)

    result = Orchestrator(steps=steps, engine_type="pandas", event_bus=event_bus).execute()
    assert result["success"]
    assert "Pipeline 'pipeline' complete: 2/2 steps succeeded in" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["success"] is True and metrics["nodes_executed"] == 2 and metrics["success_count"] == 2


def test_metrics_hook_collects_nodes_and_failures(steps, tmp_path) -> None:
    from odibi_core.event_bus import EventBus, create_metrics_export_hook, create_summary_hook
    from odibi_core.orchestrator import Orchestrator

    bus = EventBus()
    metrics = create_metrics_export_hook(tmp_path / "m.json")
    out = io.StringIO()
    for event in ("node_complete", "node_error", "pipeline_complete", "pipeline_error"):
        bus.register_hook(event, metrics)
    bus.register_hook("pipeline_error", create_summary_hook(out))
    steps[1].value = "SELECT missing FROM t"
    result = Orchestrator(steps=steps, engine_type="pandas", event_bus=bus).execute()
    assert not result.success
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["success"] is False and data["failed_nodes"] == ["evens"]
    assert data["nodes"]["read"]["status"] == "SUCCESS" and data["nodes"]["read"]["row_count"] == 4
    assert data["nodes"]["evens"]["status"] == "FAILED" and "missing" in data["nodes"]["evens"]["error_message"]
    assert out.getvalue().startswith("Pipeline 'pipeline' failed: evens:")
