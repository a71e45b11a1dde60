"""Executor benchmarks: per-node overhead, parallel efficiency, and the step cache.

(a) overhead: a wide no-op DAG (function steps that return at once) through
    ``odibi_core.core.DAGExecutor`` with 8 workers and with 1, against a bare
    ``graphlib.TopologicalSorter`` + ``ThreadPoolExecutor(8)`` loop calling the same no-op.
(b) parallel efficiency: sleeping nodes on 8 workers against the ideal schedule: 32
    independent nodes (4 waves) and a layered DAG (its critical path).
(c) cache: the course's lesson pipeline (three CSVs, SQL filter, SQL join + aggregation,
    a function transform, a store) cold against an all-hit rerun, on orders scaled up
    deterministically from ``lessons/data/orders.csv``; the lesson-sized run is shown too.

Every measurement interleaves its variants (A, B, A, B, ...) after one untimed warm-up round
and reports medians. Run through ``bench/run.py --suite executor``.
"""

from __future__ import annotations

import argparse
import inspect
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from benchlib import Target, interleave, medians

from odibi_core.core import DAGBuilder, DAGExecutor, EventEmitter, Orchestrator, Step
from odibi_core.engine import create_engine_context
from odibi_core.functions import register_function

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSON_DATA = REPO_ROOT / "lessons" / "data"

WORKERS = 8
SEED = 20250301

# -- targets -----------------------------------------------------------------------------
OVERHEAD_RATIO = 3.0  # odibi / bare loop
PER_NODE_US = 100.0  # odibi wall / nodes
PARALLEL_RATIO = 1.15  # measured / ideal schedule
CACHE_SPEEDUP = 10.0  # cold / all-hit rerun
SLEEP_GAP = 0.02  # (odibi - bare) / ideal on the sleeping DAGs

# -- the functions the steps call ----------------------------------------------------------
NOOP = "odibi_bench_noop"
SLEEP = "odibi_bench_sleep"
SHARE = "odibi_bench_revenue_share"
_EMPTY = pd.DataFrame()


def noop(**frames: Any) -> pd.DataFrame:
    """A step that does nothing: returns one (shared, empty) frame, its single output."""
    return _EMPTY


def sleep(seconds: float, **frames: Any) -> pd.DataFrame:
    """A step that waits ``seconds`` (I/O-like: it releases the GIL) and returns a frame."""
    time.sleep(seconds)
    return _EMPTY


def revenue_share(revenue: pd.DataFrame) -> pd.DataFrame:
    """Each row's share of its country's revenue, and its rank within the country."""
    by_country = revenue.groupby("country")["revenue"]
    return (
        revenue.assign(
            share=(revenue["revenue"] / by_country.transform("sum")).round(4),
            rank=by_country.rank(ascending=False, method="first").astype("int64"),
        )
        .sort_values(["country", "rank"])
        .reset_index(drop=True)
    )


def _register() -> None:
    register_function(NOOP, replace=True)(noop)
    register_function(SLEEP, replace=True)(sleep)
    register_function(SHARE, replace=True)(revenue_share)


# -- DAGs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dag:
    """A DAG of function steps, planned for odibi and as a plain graph for the bare loop."""

    steps: list[Step]
    planned: dict[str, Any]  # name -> DAGNode (DAGBuilder.build())
    graph: dict[str, set[str]]  # name -> parent names (for TopologicalSorter)
    inputs: dict[str, dict[str, str]]  # name -> {argument: parent name}
    args: dict[str, dict[str, Any]]  # name -> extra keyword arguments (params['args'])
    function: Callable[..., Any]

    @property
    def size(self) -> int:
        return len(self.steps)

    def depth(self) -> int:
        return 1 + max(node.level for node in self.planned.values())

    def edges(self) -> int:
        return sum(len(parents) for parents in self.graph.values())


def _dag(nodes: list[tuple[str, list[str], dict[str, Any]]], function: str,
         fn: Callable[..., Any]) -> Dag:
    """Function steps named as given; each reads its parents' outputs as p0, p1, ..."""
    steps = [
        Step("transform", name, "function", "pandas", function,
             params={"args": args} if args else {},
             inputs={f"p{i}": f"out_{parent}" for i, parent in enumerate(parents)},
             outputs={"data": f"out_{name}"})
        for name, parents, args in nodes
    ]
    return Dag(
        steps=steps,
        planned=DAGBuilder(steps).build(),
        graph={name: set(parents) for name, parents, _ in nodes},
        inputs={name: {f"p{i}": parent for i, parent in enumerate(parents)} for name, parents, _ in nodes},
        args={name: dict(args) for name, _, args in nodes},
        function=fn,
    )


def noop_dag(size: int, seed: int = SEED, window: int = 100) -> Dag:
    """``size`` no-op nodes ``n0000``...; each reads 0-3 of the ``window`` nodes before it,
    chosen by a seeded RNG (realistic fan-in, and depth that grows with size)."""
    rng = random.Random(seed)
    width = len(str(size - 1))
    names = [f"n{i:0{width}d}" for i in range(size)]
    nodes = []
    for i, name in enumerate(names):
        earlier = names[max(0, i - window):i]
        parents = sorted(rng.sample(earlier, rng.randint(0, min(3, len(earlier)))))
        nodes.append((name, parents, {}))
    return _dag(nodes, NOOP, noop)


def independent_dag(count: int, seconds: float) -> Dag:
    width = len(str(count - 1))
    return _dag([(f"s{i:0{width}d}", [], {"seconds": seconds}) for i in range(count)], SLEEP, sleep)


# (width, duration range as multiples of the base sleep, fan-in range) per level
LAYERS = ((6, (0.4, 1.2), (0, 0)), (4, (0.6, 1.6), (2, 3)), (3, (0.3, 1.0), (2, 3)),
          (2, (0.5, 1.0), (2, 3)))


def layered_dag(base_seconds: float, seed: int = SEED) -> Dag:
    """4 levels of sleeping nodes (widths 6, 4, 3, 2) with different durations and fan-in 2-3
    from the level above; durations are seeded multiples of ``base_seconds``."""
    rng = random.Random(seed)
    nodes: list[tuple[str, list[str], dict[str, Any]]] = []
    above: list[str] = []
    for level, (width, (low, high), (fan_low, fan_high)) in enumerate(LAYERS):
        here = [f"l{level}_{i}" for i in range(width)]
        for name in here:
            parents = sorted(rng.sample(above, rng.randint(fan_low, min(fan_high, len(above)))))
            seconds = round(base_seconds * rng.uniform(low, high), 4)
            nodes.append((name, parents, {"seconds": seconds}))
        above = here
    return _dag(nodes, SLEEP, sleep)


def critical_path(dag: Dag) -> float:
    """Seconds of the longest chain of sleeps: the best any number of workers can do."""
    finish: dict[str, float] = {}
    for name in TopologicalSorter(dag.graph).static_order():
        start = max((finish[p] for p in dag.graph[name]), default=0.0)
        finish[name] = start + dag.args[name].get("seconds", 0.0)
    return max(finish.values())


def list_schedule(dag: Dag, workers: int) -> float:
    """Makespan of a greedy schedule on ``workers`` (ready nodes start in name order as soon
    as a worker is free), with zero overhead: what ``workers`` threads can do at best."""
    waiting = {name: set(parents) for name, parents in dag.graph.items()}
    children: dict[str, list[str]] = {name: [] for name in dag.graph}
    for name, parents in dag.graph.items():
        for parent in parents:
            children[parent].append(name)
    ready = sorted(name for name, parents in waiting.items() if not parents)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < workers:
            name = ready.pop(0)
            running.append((now + dag.args[name].get("seconds", 0.0), name))
        running.sort()
        now, name = running.pop(0)
        for child in children[name]:
            waiting[child].discard(name)
            if not waiting[child]:
                ready.append(child)
        ready.sort()
    return now


# -- the two ways to run a DAG -----------------------------------------------------------------
_EXECUTOR_KEYWORDS = set(inspect.signature(DAGExecutor.__init__).parameters)
try:  # the options became one settings record (ExecutorSettings); the keywords still work
    from odibi_core.core.execution.settings import ExecutorSettings
    _EXECUTOR_KEYWORDS |= set(ExecutorSettings.names())
except ImportError:
    pass


def executor_options(workers: int) -> dict[str, Any]:
    """Keywords for DAGExecutor: no cache, ``workers`` threads, and no retries where the
    executor has them (``max_retries`` arrived with the retries work)."""
    options: dict[str, Any] = {"max_workers": workers, "use_cache": False}
    if "max_retries" in _EXECUTOR_KEYWORDS:
        options["max_retries"] = 0
    return options


def run_odibi(dag: Dag, context: Any, workers: int) -> float:
    """Seconds to construct a DAGExecutor (no tracker, an EventEmitter without hooks) and
    execute the planned DAG; checks every output arrived."""
    events = EventEmitter()
    options = executor_options(workers)
    start = time.perf_counter()
    data = DAGExecutor(dag.planned, context, None, events, **options).execute()
    seconds = time.perf_counter() - start
    if len(data) != dag.size:
        raise RuntimeError(f"odibi run produced {len(data)} of {dag.size} outputs")
    return seconds


def run_bare(dag: Dag, workers: int) -> float:
    """Seconds for the bare loop: TopologicalSorter get_ready/done with a thread pool and
    FIRST_COMPLETED waits (``workers`` > 1) or inline calls (1), passing each node its
    parents' outputs as the executor does."""
    fn, inputs, args = dag.function, dag.inputs, dag.args
    start = time.perf_counter()
    sorter = TopologicalSorter(dag.graph)
    sorter.prepare()
    data: dict[str, Any] = {}
    if workers == 1:
        while sorter.is_active():
            for name in sorter.get_ready():
                data[name] = fn(**{arg: data[p] for arg, p in inputs[name].items()}, **args[name])
                sorter.done(name)
    else:
        with ThreadPoolExecutor(workers) as pool:
            running = {}
            while sorter.is_active():
                for name in sorter.get_ready():
                    kwargs = {arg: data[p] for arg, p in inputs[name].items()}
                    running[pool.submit(fn, **kwargs, **args[name])] = name
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    name = running.pop(future)
                    data[name] = future.result()
                    sorter.done(name)
    seconds = time.perf_counter() - start
    if len(data) != dag.size:
        raise RuntimeError(f"bare run produced {len(data)} of {dag.size} outputs")
    return seconds


# -- (a) overhead ----------------------------------------------------------------------------
def bench_overhead(nodes: int, repeat: int) -> tuple[list[Target], dict[str, Any]]:
    dag = noop_dag(nodes)
    context = create_engine_context("pandas")
    print(f"[a] executor overhead: {dag.size}-node no-op DAG ({dag.edges()} edges, fan-in 0-3,"
          f" depth {dag.depth()}), odibi DAGExecutor vs bare TopologicalSorter loop")
    timings = interleave({
        "odibi-w8": lambda: run_odibi(dag, context, WORKERS),
        "bare-w8": lambda: run_bare(dag, WORKERS),
        "odibi-w1": lambda: run_odibi(dag, context, 1),
        "bare-inline": lambda: run_bare(dag, 1),
    }, repeat)
    med = medians(timings)
    us = {name: seconds / dag.size * 1e6 for name, seconds in med.items()}
    for name, seconds in med.items():
        print(f"  {name:<11} median {seconds * 1000:8.1f} ms  = {us[name]:6.1f} us/node")
    targets = [
        Target(f"ratio odibi/bare ({WORKERS} workers)", med["odibi-w8"] / med["bare-w8"], "<=",
               OVERHEAD_RATIO, "x"),
        Target("ratio odibi/bare (odibi 1 worker)", med["odibi-w1"] / med["bare-w8"], "<=",
               OVERHEAD_RATIO, "x", f"bare loop with {WORKERS} threads"),
        Target(f"per-node odibi ({WORKERS} workers)", us["odibi-w8"], "<=", PER_NODE_US, " us"),
        Target("per-node odibi (1 worker)", us["odibi-w1"], "<=", PER_NODE_US, " us"),
    ]
    print(f"  info: bare inline loop (no threads) {us['bare-inline']:.1f} us/node;"
          f" odibi 1 worker / bare inline = {med['odibi-w1'] / med['bare-inline']:.1f}x")
    return targets, {"nodes": dag.size, "edges": dag.edges(), "depth": dag.depth(),
                     "runs": timings.runs, "median_s": med, "us_per_node": us}


# -- (b) parallel efficiency ---------------------------------------------------------------------
def bench_parallel(sleep_ms: float, repeat: int) -> tuple[list[Target], dict[str, Any]]:
    context = create_engine_context("pandas")
    seconds = sleep_ms / 1000
    wide = independent_dag(32, seconds)
    waves = -(-wide.size // WORKERS)
    ideal_wide = waves * seconds
    layered = layered_dag(seconds)
    ideal_layered = critical_path(layered)
    scheduled = list_schedule(layered, WORKERS)
    if scheduled > ideal_layered + 1e-9:  # the DAG must not be limited by the worker count
        raise RuntimeError(f"layered DAG needs more than {WORKERS} workers for its critical path:"
                           f" {scheduled:.3f}s > {ideal_layered:.3f}s")
    print(f"[b] parallel efficiency on {WORKERS} workers: {wide.size} independent nodes x"
          f" {sleep_ms:g} ms (ideal {waves} waves = {ideal_wide * 1000:.0f} ms); layered DAG"
          f" {'/'.join(str(w) for w, _, _ in LAYERS)} nodes per level, {layered.edges()} edges"
          f" (critical path {ideal_layered * 1000:.0f} ms, sum of sleeps"
          f" {sum(a['seconds'] for a in layered.args.values()) * 1000:.0f} ms)")
    timings = interleave({
        "odibi-wide": lambda: run_odibi(wide, context, WORKERS),
        "bare-wide": lambda: run_bare(wide, WORKERS),
        "odibi-layered": lambda: run_odibi(layered, context, WORKERS),
        "bare-layered": lambda: run_bare(layered, WORKERS),
    }, repeat)
    med = medians(timings)
    for name, value in med.items():
        ideal = ideal_wide if name.endswith("wide") else ideal_layered
        print(f"  {name:<13} median {value * 1000:8.1f} ms  = {value / ideal:.3f}x ideal")
    targets = [
        Target(f"ratio odibi/ideal ({wide.size} x {sleep_ms:g} ms on {WORKERS} workers)",
               med["odibi-wide"] / ideal_wide, "<=", PARALLEL_RATIO, "x",
               f"bare loop {med['bare-wide'] / ideal_wide:.3f}x"),
        Target("ratio odibi/critical-path (layered DAG)", med["odibi-layered"] / ideal_layered,
               "<=", PARALLEL_RATIO, "x", f"bare loop {med['bare-layered'] / ideal_layered:.3f}x"),
    ]
    for shape, ideal in (("wide", ideal_wide), ("layered", ideal_layered)):
        gap = (med[f"odibi-{shape}"] - med[f"bare-{shape}"]) / ideal
        targets.append(Target(f"gap odibi-bare in ratio to ideal ({shape} sleep DAG)", gap, "<=",
                              SLEEP_GAP, "x", "odibi/ideal minus bare/ideal"))
    return targets, {"sleep_ms": sleep_ms, "ideal_wide_s": ideal_wide,
                     "critical_path_s": ideal_layered, "runs": timings.runs, "median_s": med}


# -- (c) cache ---------------------------------------------------------------------------------
REVENUE_SQL = """
SELECT c.country,
       p.category,
       strftime(CAST(o.order_date AS DATE), '%Y-%m') AS month,
       ROUND(SUM(o.quantity * p.price), 2) AS revenue,
       COUNT(*) AS orders,
       SUM(o.quantity) AS units
FROM orders AS o
JOIN customers AS c USING (customer_id)
JOIN products AS p USING (product_id)
GROUP BY ALL
ORDER BY ALL
""".strip()


def lesson_pipeline(data: Path, out: Path) -> list[Step]:
    """Lesson 03's orders pipeline, with a function transform before the store."""
    return [
        Step("ingest", "read_customers", "config_op", "pandas", str(data / "customers.csv"),
             outputs={"data": "raw_customers"}),
        Step("ingest", "read_orders", "config_op", "pandas", str(data / "orders.csv"),
             outputs={"data": "raw_orders"}),
        Step("ingest", "read_products", "config_op", "pandas", str(data / "products.csv"),
             outputs={"data": "raw_products"}),
        Step("transform", "paid_orders", "sql", "pandas", "SELECT * FROM orders WHERE status = 'paid'",
             inputs={"orders": "raw_orders"}, outputs={"data": "paid_orders"}),
        Step("transform", "revenue_by_country_month", "sql", "pandas", REVENUE_SQL,
             inputs={"orders": "paid_orders", "customers": "raw_customers",
                     "products": "raw_products"},
             outputs={"data": "revenue"}),
        Step("transform", "revenue_share", "function", "pandas", SHARE,
             inputs={"revenue": "revenue"}, outputs={"data": "revenue_share"}),
        Step("store", "save_revenue", "config_op", "pandas", str(out / "revenue.csv"),
             inputs={"data": "revenue_share"}),
    ]


CACHEABLE_STEPS = 6  # every step but the store


def scaled_orders(folder: Path, rows: int, seed: int = SEED) -> Path:
    """The lesson's three CSVs in ``folder``, orders.csv grown to ``rows`` rows drawn with a
    seeded RNG from the lesson's own values (customers, products, date range, quantities and
    the status mix); customers.csv and products.csv are copied unchanged."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("customers.csv", "products.csv"):
        shutil.copyfile(LESSON_DATA / name, folder / name)
    lesson = pd.read_csv(LESSON_DATA / "orders.csv")
    customers = pd.read_csv(LESSON_DATA / "customers.csv")["customer_id"].to_numpy()
    products = pd.read_csv(LESSON_DATA / "products.csv")["product_id"].to_numpy()
    dates = pd.to_datetime(lesson["order_date"])
    days = pd.date_range(dates.min(), dates.max(), freq="D").strftime("%Y-%m-%d").to_numpy()
    status = lesson["status"].value_counts(normalize=True).sort_index()
    rng = np.random.default_rng(seed)
    orders = pd.DataFrame({
        "order_id": np.arange(1001, 1001 + rows),
        "customer_id": rng.choice(customers, rows),
        "product_id": rng.choice(products, rows),
        "order_date": rng.choice(days, rows),
        "quantity": rng.integers(lesson["quantity"].min(), lesson["quantity"].max() + 1, rows),
        "status": rng.choice(status.index.to_numpy(), rows, p=status.to_numpy()),
    })
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


class CacheCase:
    """Cold runs (each into a new, empty cache folder) and all-hit reruns of the pipeline."""

    def __init__(self, data: Path, workspace: Path) -> None:
        self.data = data
        self.workspace = workspace
        self.out = workspace / "out"
        self._runs = 0
        self._last_cold: Path | None = None

    def _run(self, cache_dir: Path) -> tuple[float, Any]:
        steps = lesson_pipeline(self.data, self.out)
        start = time.perf_counter()
        result = Orchestrator(steps, engine_type="pandas", use_cache=True,
                              cache_dir=str(cache_dir)).run()
        seconds = time.perf_counter() - start
        if not result.success:
            raise RuntimeError(f"cache pipeline failed: {result.errors}")
        return seconds, result

    def cold(self) -> float:
        self._runs += 1
        cache_dir = self.workspace / f"cache-{self._runs}"
        seconds, result = self._run(cache_dir)
        if result.stats["cache_hits"] != 0:
            raise RuntimeError(f"cold run hit the cache: {result.stats}")
        self._last_cold = cache_dir
        return seconds

    def warm(self) -> float:
        """Rerun on the cache the last cold run filled (a new Orchestrator and CacheManager)."""
        assert self._last_cold is not None, "a cold run fills the cache first"
        seconds, result = self._run(self._last_cold)
        if result.stats["cache_hits"] != CACHEABLE_STEPS:
            raise RuntimeError(f"rerun was not all hits: {result.stats}")
        shutil.rmtree(self._last_cold, ignore_errors=True)
        return seconds


def bench_cache(orders_rows: int, repeat: int, workspace: Path) -> tuple[list[Target], dict[str, Any]]:
    lesson_rows = len(pd.read_csv(LESSON_DATA / "orders.csv"))
    scaled = scaled_orders(workspace / "data", orders_rows)
    csv_mb = (scaled / "orders.csv").stat().st_size / 1e6
    print(f"[c] cache: lesson pipeline (3 CSV ingests, SQL filter, SQL join + aggregation, function"
          f" transform, CSV store; tracker on) cold vs all-hit rerun, Orchestrator(use_cache=True)."
          f"\n    The lesson's orders.csv has {lesson_rows} rows, so both runs are mostly fixed"
          f" overhead; the target is measured on {orders_rows:,} orders rows generated"
          f" deterministically from its schema and values ({csv_mb:.1f} MB).")
    big = CacheCase(scaled, workspace / "scaled")
    small = CacheCase(LESSON_DATA, workspace / "lesson")
    timings = interleave({
        "scaled-cold": big.cold,
        "scaled-warm": big.warm,
        "lesson-cold": small.cold,
        "lesson-warm": small.warm,
    }, repeat)
    med = medians(timings)
    for name, value in med.items():
        print(f"  {name:<11} median {value * 1000:8.1f} ms")
    print(f"  info: on the lesson's own {lesson_rows} rows cold/warm ="
          f" {med['lesson-cold'] / med['lesson-warm']:.2f}x (fixed overhead on both sides)")
    targets = [
        Target(f"ratio cold/warm ({orders_rows:,} orders rows, scaled lesson data)",
               med["scaled-cold"] / med["scaled-warm"], ">=", CACHE_SPEEDUP, "x"),
    ]
    return targets, {"orders_rows": orders_rows, "lesson_rows": lesson_rows,
                     "runs": timings.runs, "median_s": med}


# -- the suite -----------------------------------------------------------------------------------
QUICK = {"nodes": 200, "orders_rows": 5_000, "sleep_ms": 5.0, "repeat": 2}
FULL = {"nodes": 2000, "orders_rows": 200_000, "sleep_ms": 50.0, "repeat": 7}



def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("executor suite")
    group.add_argument("--quick", action="store_true",
                       help="tiny sizes for a smoke run: "
                            + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    group.add_argument("--nodes", type=int, default=None,
                       help=f"nodes of the no-op DAG (default {FULL['nodes']})")
    group.add_argument("--orders-rows", type=int, default=None,
                       help=f"orders rows of the scaled cache data (default {FULL['orders_rows']:,})")
    group.add_argument("--sleep-ms", type=float, default=None,
                       help=f"sleep per node of the parallel DAGs (default {FULL['sleep_ms']:g})")


def settings(args: argparse.Namespace) -> dict[str, Any]:
    base = QUICK if args.quick else FULL
    chosen = {key: getattr(args, key) if getattr(args, key, None) is not None else default
              for key, default in base.items()}
    if chosen["nodes"] < 2 or chosen["orders_rows"] < 1 or chosen["sleep_ms"] <= 0:
        raise ValueError("--nodes must be at least 2, --orders-rows at least 1, --sleep-ms > 0")
    return chosen


def run_suite(args: argparse.Namespace) -> tuple[list[Target], dict[str, Any]]:
    """Run (a), (b) and (c); return their targets and the raw numbers ((d) and (e) are in
    executor_scaling.py, run next by bench/run.py)."""
    _register()
    chosen = settings(args)
    repeat = chosen["repeat"]
    print(f"executor suite: {repeat} interleaved run(s) of each variant after 1 warm-up round;"
          f" medians; {WORKERS} workers; odibi DAGExecutor keywords {executor_options(WORKERS)}")
    targets: list[Target] = []
    details: dict[str, Any] = {"settings": chosen}
    started = time.perf_counter()
    for key, bench in (("overhead", lambda: bench_overhead(chosen["nodes"], repeat)),
                       ("parallel", lambda: bench_parallel(chosen["sleep_ms"], repeat))):
        found, details[key] = bench()
        _print_targets(found)
        targets += found
    with tempfile.TemporaryDirectory(prefix="odibi-bench-cache-") as tmp:
        found, details["cache"] = bench_cache(chosen["orders_rows"], repeat, Path(tmp))
    _print_targets(found)
    targets += found
    details["suite_seconds"] = time.perf_counter() - started
    print(f"executor suite took {details['suite_seconds']:.0f}s")
    return targets, details


def _print_targets(targets: list[Target]) -> None:
    for target in targets:
        print(target.line())
    print(flush=True)
