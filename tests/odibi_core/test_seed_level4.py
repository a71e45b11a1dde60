"""The Level 4 guide ("Making It Reliable") code examples, run against the package.

Each test holds one example as the guide writes it; the guide's `steps = [...]` placeholders are
filled with a real pipeline (read the course's orders, keep the paid ones, total units per
product, save Parquet), `engine_type="spark"` examples run on pandas (the Spark engine is covered
by the parity tests), and the Azure cache example is shown refusing clearly without `adlfs`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from odibi_core.cache_manager import CacheManager, CloudCacheManager
from odibi_core.checkpoint_manager import CheckpointMode
from odibi_core.core import Step
from odibi_core.errors import ConfigError, RetryableError
from odibi_core.event_bus import EventBus, EventPriority
from odibi_core.functions import register_function, unregister_function
from odibi_core.orchestrator import Orchestrator

ORDERS = Path(__file__).resolve().parents[2] / "lessons" / "data" / "orders.csv"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the guide uses relative folders: checkpoints/, cache/


def real_steps(*, bad_path: bool = False) -> list[Step]:
    """Four nodes: read, filter, aggregate, save (node 3 reads a bad path when asked)."""
    return [
        Step("ingest", "read_orders", "config_op", "pandas", str(ORDERS), outputs={"data": "orders"}),
        Step("transform", "paid_orders", "sql", "pandas", "SELECT * FROM o WHERE status = 'paid'",
             inputs={"o": "orders"}, outputs={"data": "paid"}),
        Step("ingest", "read_products", "config_op", "pandas",
             "no/such/products.csv" if bad_path else str(ORDERS.with_name("products.csv")),
             outputs={"data": "products"}),
        Step("transform", "units_by_product", "sql", "pandas",
             "SELECT p.product_id, SUM(quantity) AS units FROM paid JOIN products p USING (product_id)"
             " GROUP BY p.product_id ORDER BY p.product_id",
             inputs={"paid": "paid", "products": "products"}, outputs={"data": "units"}),
        Step("store", "save_units", "config_op", "pandas", "out/units.parquet", inputs={"data": "units"}),
    ]


steps = real_steps()


def test_using_checkpoints_and_resume_from_checkpoint() -> None:
    # Enable AUTO checkpoints (save after every node)
    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        enable_checkpoints=True,
        checkpoint_mode=CheckpointMode.AUTO,  # Save after each node
        checkpoint_dir="checkpoints/"
    )

    result = orchestrator.execute()
    assert result["success"] and result.checkpoint_id is not None

    # Pipeline failed mid-execution, now resume
    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        enable_checkpoints=True,
        checkpoint_mode=CheckpointMode.AUTO,
        checkpoint_dir="checkpoints/",
        resume_from_checkpoint=True  # <- Resume from last checkpoint
    )

    result = orchestrator.execute()
    # Skips completed nodes, continues from where it failed
    assert result["success"] and result.resumed_nodes == sorted(s.name for s in steps)


def test_layer_checkpoints() -> None:
    # Save checkpoint after each DAG layer (e.g., after Bronze, after Silver)
    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        enable_checkpoints=True,
        checkpoint_mode=CheckpointMode.LAYER,  # Save per layer
        checkpoint_dir="checkpoints/"
    )
    result = orchestrator.execute()
    from odibi_core.checkpoint import CheckpointManager
    levels = [CheckpointManager("checkpoints/").load(i).metadata.get("level")
              for i in CheckpointManager("checkpoints/").list_checkpoints(orchestrator.pipeline_name)]
    assert result.success and levels == [0, 1, 2, 3, None]


def test_using_cache_and_invalidation() -> None:
    # Enable local cache
    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        enable_cache=True,
        cache_dir="cache/"  # Local cache directory
    )

    result = orchestrator.execute()

    # First run: All nodes execute, outputs cached
    # Second run: Cache hits, nodes skipped!
    again = orchestrator.execute()
    assert (result.stats["cache_hits"], again.stats["cache_hits"]) == (0, 4)

    cache = CacheManager(cache_dir="cache/")

    # Clear specific step cache
    assert cache.invalidate("units_by_product") == 1

    # Clear all cache
    assert cache.clear_all() == 3


def test_cloud_cache() -> None:
    # Create cloud cache manager
    with pytest.raises(ConfigError, match="adlfs"):
        CloudCacheManager(
            cloud_provider="azure",
            container="pipeline-cache",
            account_name="mystorageaccount",
            account_key="..."
        )
    cloud_cache = CloudCacheManager(cloud_provider="memory", container="pipeline-cache")

    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        cache_manager=cloud_cache  # Use cloud cache
    )

    result = orchestrator.execute()
    assert result.success and orchestrator.execute().stats["cache_hits"] == 4
    cloud_cache.clear_all()


def test_retry_configuration_and_per_node_retries() -> None:
    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        max_retries=3,           # Retry up to 3 times
        retry_delay=5,           # Wait 5 seconds between retries
        retry_backoff=True       # Exponential backoff (5s, 10s, 20s)
    )
    policy = orchestrator.retry_policy
    assert [policy.nominal_delay(n) for n in (1, 2, 3)] == [5, 10, 20]
    assert orchestrator.execute().success

    # Different retry settings for different nodes
    api = Step(
        layer="ingest",
        name="read_from_api",
        type="config_op",
        engine="pandas",
        value="https://api.example.com/data",
        params={
            "source_type": "http",
            "max_retries": 5,      # API calls: retry more
            "retry_delay": 10
        }
    )

    aggregate = Step(
        layer="transform",
        name="aggregate_data",
        type="sql",
        engine="pandas",
        value="SELECT ...",
        params={
            "max_retries": 1       # Aggregations: retry less
        }
    )
    from odibi_core.core import DAGBuilder, DAGExecutor, create_engine_context
    executor = DAGExecutor(DAGBuilder([api, aggregate]).build(), create_engine_context("pandas"),
                           retry_policy=policy)
    assert executor.policy_for(executor.dag["read_from_api"]).max_retries == 5
    assert executor.policy_for(executor.dag["read_from_api"]).retry_delay == 10
    assert executor.policy_for(executor.dag["aggregate_data"]).max_retries == 1


def test_error_strategies(capsys: pytest.CaptureFixture[str]) -> None:
    failing = real_steps(bad_path=True)
    # Any node failure -> entire pipeline fails
    orchestrator = Orchestrator(
        steps=failing,
        engine_type="pandas",
        fail_fast=True  # Stop on first error
    )
    assert not orchestrator.execute()["success"]

    # Continue executing independent nodes even if some fail
    orchestrator = Orchestrator(
        steps=failing,
        engine_type="pandas",
        fail_fast=False  # Continue despite errors
    )

    result = orchestrator.execute()

    # Check which nodes failed
    print(f"Failed nodes: {result['failed_nodes']}")
    print(f"Successful nodes: {result['successful_nodes']}")

    def error_notification(event_data):
        step_name = event_data['step_name']
        error = event_data['error_message']
        print(f"ALERT: {step_name} failed: {error}")
        # Send to Slack, email, PagerDuty, etc.

    event_bus = EventBus()
    event_bus.register_hook("node_error", error_notification)

    orchestrator = Orchestrator(
        steps=failing,
        engine_type="pandas",
        event_bus=event_bus
    )
    orchestrator.execute()
    out = capsys.readouterr().out
    assert "Failed nodes: ['read_products']" in out
    assert "Successful nodes: ['paid_orders', 'read_orders']" in out
    assert "ALERT: read_products failed:" in out and "no/such/products.csv" in out


def test_complete_production_example(capsys: pytest.CaptureFixture[str]) -> None:
    # Define error alert hook
    def send_error_alert(event_data):
        print(f"ERROR: {event_data['step_name']} failed: {event_data['error_message']}")
        # In production: send to Slack, PagerDuty, etc.

    # Setup EventBus
    event_bus = EventBus()
    event_bus.register_hook("node_error", send_error_alert, priority=EventPriority.CRITICAL)

    # Create orchestrator with ALL reliability features
    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",

        # Checkpoints: Save after each layer
        enable_checkpoints=True,
        checkpoint_mode=CheckpointMode.LAYER,
        checkpoint_dir="checkpoints/",

        # Cache: Enable for faster dev cycles
        enable_cache=True,
        cache_dir="cache/",

        # Retry: 3 attempts with exponential backoff
        max_retries=3,
        retry_delay=5,
        retry_backoff=True,

        # Error handling
        fail_fast=False,  # Continue despite failures
        event_bus=event_bus,

        # Tracking
        enable_tracker=True
    )

    # Execute
    result = orchestrator.execute()

    # Check results
    if result['success']:
        print(f"Pipeline completed: {result['nodes_executed']} nodes")
    else:
        print(f"Pipeline failed: {len(result['failed_nodes'])} failures")
        for node in result['failed_nodes']:
            print(f"   - {node}")
    assert "Pipeline completed: 5 nodes" in capsys.readouterr().out


def test_exercise_1_checkpoint_resume() -> None:
    # Create a pipeline that will fail: node 3 reads a bad file path
    broken = real_steps(bad_path=True)
    orchestrator = Orchestrator(steps=broken, engine_type="pandas", enable_checkpoints=True,
                                checkpoint_mode=CheckpointMode.AUTO, enable_cache=True, cache_dir="cache/",
                                fail_fast=False)
    result = orchestrator.execute()
    assert result.failed_nodes == ["read_products"]

    # Fix the bad file path in steps, re-run with resume=True
    orchestrator.steps = real_steps()
    orchestrator.resume_from_checkpoint = True
    result = orchestrator.execute()

    # Should skip Nodes 1 & 2, retry Node 3, run Node 4
    assert result.success
    assert result.resumed_nodes == ["paid_orders", "read_orders"]
    assert result.rerun_nodes == [] and result.nodes_executed == 3


def test_exercise_2_measure_cache_speedup(capsys: pytest.CaptureFixture[str]) -> None:
    @register_function("slow_units", replace=True)
    def slow_units(units: pd.DataFrame) -> pd.DataFrame:
        time.sleep(0.3)  # an expensive step, so the speedup is measurable
        return units

    try:
        slow = [*steps[:4], Step("transform", "slow", "function", "pandas", "slow_units",
                                 inputs={"units": "units"}, outputs={"data": "slow_units"})]
        # First run (no cache)
        start = time.time()
        orchestrator = Orchestrator(steps=slow, engine_type="pandas", enable_cache=True, cache_dir="cache/")
        result = orchestrator.execute()
        first_run_time = time.time() - start

        # Second run (with cache)
        start = time.time()
        result = orchestrator.execute()
        second_run_time = time.time() - start

        print(f"First run: {first_run_time:.2f}s")
        print(f"Second run: {second_run_time:.2f}s")
        print(f"Speedup: {first_run_time / second_run_time:.1f}x")
    finally:
        unregister_function("slow_units")
    assert result.stats["cache_hits"] == 5 and first_run_time > second_run_time


def test_exercise_3_retry_with_backoff() -> None:
    attempts = []

    @register_function("unreliable_api", replace=True)
    def unreliable_api(orders: pd.DataFrame) -> pd.DataFrame:
        attempts.append(time.monotonic())
        if len(attempts) <= 2:
            raise RetryableError("unreliable-api.example.com: 503")
        return orders

    try:
        flaky = [steps[0], Step("transform", "read_unreliable_api", "function", "pandas", "unreliable_api",
                                inputs={"orders": "orders"}, outputs={"data": "api"})]
        # Configure retry
        orchestrator = Orchestrator(
            steps=flaky,
            engine_type="pandas",
            max_retries=5,
            retry_delay=0.05,
            retry_backoff=True
        )
        result = orchestrator.execute()
    finally:
        unregister_function("unreliable_api")
    assert result.success and result.node_results["read_unreliable_api"].attempts == 3
    waits = result.node_results["read_unreliable_api"].retry_delays
    assert len(waits) == 2 and 0.025 <= waits[0] <= 0.05 and 0.05 <= waits[1] <= 0.1
