"""The DAG executor: no deadlock whatever the worker count, failures skip exactly their
descendants, statistics (cache, attempts, critical path), complete events and tracker
records in parallel mode, the cache inside runs, and the orchestrator's two modes."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from odibi_core.cache import CacheManager, MemoryStore
from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    EventEmitter,
    NodeExecutionResult,
    NodeState,
    OrchestrationResult,
    Orchestrator,
    Step,
    Tracker,
    create_engine_context,
)
from odibi_core.core import dag_executor as dag_executor_module
from odibi_core.errors import PipelineError
from odibi_core.functions import register_function, unregister_function

TERMINAL = ("node_complete", "node_error")


def sql(name: str, query: str, inputs: dict[str, str] | None = None, out: str | None = None) -> Step:
    return Step("transform", name, "sql", "pandas", query, inputs=dict(inputs or {}),
                outputs={"data": out or f"{name}_out"})


def run(steps, **options) -> DAGExecutor:
    ex = DAGExecutor(DAGBuilder(steps, external=options.pop("external", ())).build(),
                     create_engine_context("pandas"), **options)
    ex.execute(raise_on_failure=False)
    return ex


def collect(bus: EventEmitter) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []  # list.append is atomic: safe from worker threads
    for name in ("node_start", "node_retry", "node_cached", *TERMINAL):
        bus.on(name, lambda data, name=name: seen.append((name, data)))
    return seen


def inverted_chain() -> list[Step]:
    """a0..a3 sort first but each waits for the z chain (z0 -> z1 -> z2 -> z3): the seed's
    submit-everything executor fills every worker with a waiting a-node and deadlocks."""
    steps = [sql("z0", "SELECT 1 AS v")]
    steps += [sql(f"z{i}", "SELECT v + 1 AS v FROM p", {"p": f"z{i - 1}_out"}) for i in range(1, 4)]
    steps += [sql(f"a{i}", f"SELECT v * {i} AS v FROM p", {"p": "z3_out"}) for i in range(4)]
    return steps


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_nodes_that_sort_first_but_wait_never_deadlock(workers: int) -> None:
    ex = run(inverted_chain(), max_workers=workers)
    assert ex.failed_nodes == [] and len(ex.successful_nodes) == 8
    assert [int(ex.data_map[f"a{i}_out"]["v"][0]) for i in range(4)] == [0, 4, 8, 12]


def test_default_is_four_workers_and_one_runs_inline_in_name_order() -> None:
    dag = DAGBuilder(inverted_chain()).build()
    assert DAGExecutor(dag, create_engine_context("pandas")).max_workers == 4
    bus = EventEmitter()
    seen = collect(bus)
    ex = run(inverted_chain(), max_workers=1, events=bus)
    starts = [d["step_name"] for n, d in seen if n == "node_start"]
    assert starts == ["z0", "z1", "z2", "z3", "a0", "a1", "a2", "a3"]
    threads = set()
    bus2 = EventEmitter()
    bus2.on("node_start", lambda d: threads.add(threading.current_thread().name))
    run(inverted_chain(), max_workers=1, events=bus2)
    assert threads == {threading.current_thread().name}
    assert ex.get_stats()["max_workers"] == 1


def branches() -> list[Step]:
    """root -> bad -> (after_bad -> deep), root -> good -> good2; other is independent."""
    return [
        sql("root", "SELECT 1 AS v"),
        sql("bad", "SELECT no_such_column FROM p", {"p": "root_out"}),
        sql("after_bad", "SELECT * FROM p", {"p": "bad_out"}),
        sql("deep", "SELECT * FROM p JOIN q USING (v)", {"p": "after_bad_out", "q": "good_out"}),
        sql("good", "SELECT v + 1 AS v FROM p", {"p": "root_out"}),
        sql("good2", "SELECT v + 1 AS v FROM p", {"p": "good_out"}),
        sql("other", "SELECT 7 AS v"),
    ]


@pytest.mark.parametrize("workers", [1, 4])
def test_a_failure_skips_exactly_its_descendants(workers: int) -> None:
    bus = EventEmitter()
    seen = collect(bus)
    ex = run(branches(), max_workers=workers, fail_fast=False, events=bus)
    assert ex.failed_nodes == ["bad"]
    assert ex.skipped_nodes == ["after_bad", "deep"]
    assert ex.successful_nodes == ["good", "good2", "other", "root"]
    assert ex.results["deep"].reason in ("upstream step 'bad' failed",)
    assert int(ex.data_map["good2_out"]["v"][0]) == 3
    assert not [d for n, d in seen if d["step_name"] in ("after_bad", "deep")], "skipped nodes never start"
    with pytest.raises(PipelineError, match="bad"):
        DAGExecutor(DAGBuilder(branches()).build(), create_engine_context("pandas"),
                    max_workers=workers, fail_fast=False).execute()


class StepClock:
    """A fake clock that function steps advance by their declared cost."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def costly():
    """Function 'costly' advances the test clock by ``ms`` and returns its inputs' sum."""
    clock = StepClock()

    @register_function("costly", replace=True)
    def costly(*, ms: float, **frames):
        clock.now += ms / 1000
        total = sum(int(f["v"].sum()) for f in frames.values())
        return pd.DataFrame({"v": [total + 1]})

    yield clock
    unregister_function("costly")


def fn(name: str, ms: float, *parents: str) -> Step:
    return Step("transform", name, "function", "pandas", "costly", params={"args": {"ms": ms}},
                inputs={p: f"{p}_out" for p in parents}, outputs={"data": f"{name}_out"})


def test_stats_and_critical_path_on_a_known_dag(costly) -> None:
    """src(2) -> a(5) -> c(1) and src -> b(2) -> c; d(7) alone. Longest chain: src, a, c = 8 ms."""
    steps = [fn("src", 2), fn("a", 5, "src"), fn("b", 2, "src"), fn("c", 1, "a", "b"), fn("d", 7)]
    ex = DAGExecutor(DAGBuilder(steps).build(), create_engine_context("pandas"), max_workers=1,
                     clock=costly, sleep=costly.sleep)
    ex.execute()
    stats = ex.get_stats()
    assert stats["critical_path"] == ["src", "a", "c"]
    assert stats["critical_path_ms"] == pytest.approx(8.0)
    assert stats["node_duration_ms"] == pytest.approx(17.0)
    assert stats["total_duration_ms"] == pytest.approx(17.0)  # one worker: wall time = sum
    assert {k: stats[k] for k in ("total_nodes", "completed", "failed", "skipped", "cache_hits",
                                  "cache_misses", "cache_hit_rate", "total_attempts", "retries",
                                  "max_workers")} == {
        "total_nodes": 5, "completed": 5, "failed": 0, "skipped": 0, "cache_hits": 0,
        "cache_misses": 0, "cache_hit_rate": 0.0, "total_attempts": 5, "retries": 0, "max_workers": 1}
    a = ex.results["a"]  # order: d (7 ms, sorts before src), src (2), a (5)
    assert (a.started_at, a.finished_at) == (pytest.approx(0.009), pytest.approx(0.014))
    assert ex.results["d"].duration_ms == pytest.approx(7.0)


def test_critical_path_ties_go_to_the_names_that_sort_first(costly) -> None:
    steps = [fn("x", 3), fn("y", 3), fn("z", 1, "x", "y")]
    ex = DAGExecutor(DAGBuilder(steps).build(), create_engine_context("pandas"), max_workers=1,
                     clock=costly, sleep=costly.sleep)
    ex.execute()
    assert ex.critical_path() == (["x", "z"], pytest.approx(4.0))
    empty = DAGExecutor({}, create_engine_context("pandas"))
    assert empty.execute() == {} and empty.critical_path() == ([], 0.0)


def slow_fan(n: int) -> list[Step]:
    @register_function("slow_echo", replace=True)
    def slow_echo(t):
        threading.Event().wait(0.02)
        return t

    steps = [sql("seed", "SELECT 1 AS v")]
    steps += [Step("transform", f"fan{i}", "function", "pandas", "slow_echo", inputs={"t": "seed_out"},
                   outputs={"data": f"fan{i}_out"}) for i in range(n)]
    steps.append(sql("join", " UNION ALL ".join(f"SELECT v FROM t{i}" for i in range(n)),
                     {f"t{i}": f"fan{i}_out" for i in range(n)}))
    return steps


def test_parallel_events_and_tracker_records_are_complete() -> None:
    bus = EventEmitter()
    seen = collect(bus)
    tracker = Tracker()
    try:
        ex = run(slow_fan(12), max_workers=4, events=bus, tracker=tracker)
    finally:
        unregister_function("slow_echo")
    names = sorted(ex.dag)
    assert ex.successful_nodes == names
    for name in names:
        mine = [n for n, d in seen if d["step_name"] == name]
        assert mine.count("node_start") == 1 and [n for n in mine if n in TERMINAL] == ["node_complete"], name
        assert mine.index("node_start") < mine.index("node_complete")
    records = tracker.step_executions
    assert sorted(e.step_name for e in records) == names
    assert all(str(e.status) == "SUCCESS" and e.duration_ms is not None and e.duration_ms >= 0
               for e in records)
    assert all(ex.results[n].started_at is not None and ex.results[n].finished_at is not None
               for n in names)


def test_seed_style_result_reads() -> None:
    ex = run([sql("one", "SELECT 1 AS v"), sql("two", "SELECT x FROM p", {"p": "one_out"})])
    one, two = ex.results["one"], ex.results["two"]
    assert isinstance(one, NodeExecutionResult)
    assert (one.node_name, one.success, one.attempts, one.cached, one.error) == ("one", True, 1, False, None)
    assert (two.success, two.attempts, two.cached) == (False, 1, False)
    assert "x" in two.error and two.error_type == "EngineError"
    assert one.duration_ms >= 0 and one.retry_delays == [] and one.retries == 0


# -- the cache inside runs: one change anywhere is a miss -----------------------------------


def base_frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "amount": [10, 20, 30]})


def cached_run(cache: CacheManager, frame: pd.DataFrame, params: dict | None = None) -> DAGExecutor:
    steps = [Step("transform", "total", "sql", "pandas", "SELECT COUNT(*) AS n FROM t",
                  params=dict(params or {}), inputs={"t": "given"}, outputs={"data": "total_out"})]
    return run(steps, external=["given"], data_map={"given": frame}, cache=cache)


@pytest.mark.parametrize(("change", "frame", "params"), [
    ("one value", base_frame().assign(amount=[10, 20, 31]), None),
    ("a column name", base_frame().rename(columns={"amount": "amt"}), None),
    ("a dtype", base_frame().astype({"amount": "float64"}), None),
    ("a step param", base_frame(), {"note": "v2"}),
])
def test_any_change_misses_and_no_change_hits(change: str, frame: pd.DataFrame, params) -> None:
    cache = CacheManager(store=MemoryStore())
    first = cached_run(cache, base_frame())
    assert not first.results["total"].cached and first.get_stats()["cache_misses"] == 1
    same = cached_run(cache, base_frame())
    assert same.results["total"].cached, "unchanged inputs must hit"
    assert same.get_stats()["cache_hit_rate"] == 1.0
    changed = cached_run(cache, frame, params)
    assert not changed.results["total"].cached, f"changing {change} must miss the cache"
    assert changed.get_stats()["cache_misses"] == 1


# -- the orchestrator's two modes ---------------------------------------------------------------


def test_both_modes_return_the_same_result_type_and_data() -> None:
    try:
        results = {parallel: Orchestrator(steps=slow_fan(3), engine_type="pandas", parallel=parallel,
                                          max_workers=3).run() for parallel in (False, True)}
    finally:
        unregister_function("slow_echo")
    seq, par = results[False], results[True]
    assert type(seq) is type(par) is OrchestrationResult
    assert sorted(seq.data_map) == sorted(par.data_map)
    assert all(seq.data_map[k].equals(par.data_map[k]) for k in seq.data_map)
    assert (seq.stats["mode"], par.stats["mode"]) == ("sequential", "parallel")
    assert (seq.stats["max_workers"], par.stats["max_workers"]) == (1, 3)
    for result in (seq, par):
        assert set(result.stats) >= {"cache_hits", "total_attempts", "retries", "total_duration_ms",
                                     "critical_path", "mode"}
        assert result.stats["total_attempts"] == 5 and result.stats["retries"] == 0


def test_orchestrator_records_the_lifecycle_before_ending_the_pipeline() -> None:
    calls = []

    class Recording(Tracker):
        def record_lifecycle(self, node_results):
            calls.append(("lifecycle", sorted(node_results), self.status))
            super().record_lifecycle(node_results)

        def end_pipeline(self, success):
            calls.append(("end", success))
            super().end_pipeline(success)

    Orchestrator([sql("one", "SELECT 1 AS v")], create_engine_context("pandas"), Recording()).run()
    assert calls == [("lifecycle", ["one"], "RUNNING"), ("end", True)]


def test_pipeline_error_fires_when_the_executor_breaks(monkeypatch) -> None:
    def broken(self, **_):
        raise RuntimeError("executor bug")

    monkeypatch.setattr(dag_executor_module.DAGExecutor, "execute", broken)
    errors = []
    bus = EventEmitter()
    bus.on("pipeline_error", errors.append)
    with pytest.raises(RuntimeError, match="executor bug"):
        Orchestrator([sql("one", "SELECT 1 AS v")], create_engine_context("pandas"), events=bus).run()
    assert len(errors) == 1 and errors[0]["error_message"] == "the run was interrupted"


def test_states_of_a_plain_run() -> None:
    ex = run(inverted_chain(), max_workers=2)
    states = [s for s, _ in ex.results["a2"].transitions]
    assert states == [NodeState.PENDING, NodeState.READY, NodeState.RUNNING, NodeState.SUCCESS]
