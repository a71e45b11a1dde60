"""Executor benchmarks on a layered fan-in DAG: odibi against bare graphlib loops (and, when
installed, Hamilton and Dask), the cost per node as the DAG grows, and the DAG build.

The workload: ``levels`` x ``width`` no-op nodes, each node of a level taking 2 parents drawn
with a seeded RNG from the level above. Only construct + execute is timed (the DAG is planned
before the clock starts; the build is timed on its own). Variants are interleaved after a
warm-up round; medians. Run through ``bench/run.py --suite executor``.

Peers (optional, skipped with a note when absent; never dependencies of the project):
``sf-hamilton`` (driver with a thread-pool ``FutureAdapter`` / sequential; the driver build is
not timed) and ``dask`` (``dask.threaded.get`` with 8 workers / ``dask.get``, the task graph
built inside the timed region, as a user would).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import executor as base
from benchlib import Target, interleave, medians

from odibi_core.core import DAGBuilder
from odibi_core.engine import create_engine_context

WORKERS = base.WORKERS
THREADED_RATIO = 2.0  # odibi 8 workers / bare graphlib + ThreadPoolExecutor(8)
INLINE_RATIO = 3.0  # odibi 1 worker / bare sequential graphlib loop
SCALING_RATIO = 1.3  # per-node cost at the largest size / at the smallest
BUILD_MS = 10.0  # DAGBuilder.build() of the fan-in DAG (2,000 nodes in the full run)


def fanin_dag(levels: int, width: int, fan_in: int = 2, seed: int = base.SEED) -> base.Dag:
    """``levels`` x ``width`` no-op nodes ``lLL_WWW``; each below the first level reads
    ``fan_in`` nodes of the level above, chosen by a seeded RNG."""
    rng = random.Random(seed)
    nodes: list[tuple[str, list[str], dict[str, Any]]] = []
    above: list[str] = []
    for level in range(levels):
        here = [f"l{level:02d}_{i:03d}" for i in range(width)]
        for name in here:
            parents = sorted(rng.sample(above, min(fan_in, len(above))))
            nodes.append((name, parents, {}))
        above = here
    return base._dag(nodes, base.NOOP, base.noop)


# -- optional peers ---------------------------------------------------------------------------
def _noop_positional(*parents: Any) -> Any:
    """The no-op for Dask tasks, which pass their parents' outputs positionally."""
    return base._EMPTY


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def hamilton_runner(dag: base.Dag, workers: int) -> Callable[[], float] | None:
    """A timed Hamilton run of ``dag`` (a driver over a module of generated no-op functions),
    or None when sf-hamilton (with its thread-pool adapter) is not installed."""
    if not _have("hamilton"):
        return None
    from hamilton import driver

    module = types.ModuleType(f"odibi_bench_hamilton_dag_{dag.size}_{workers}")
    sys.modules[module.__name__] = module  # Hamilton finds a module's functions through it
    module.__dict__.update(_EMPTY=base._EMPTY, _Frame=type(base._EMPTY))
    for name, parents in dag.graph.items():
        args = ", ".join(f"{parent}: _Frame" for parent in sorted(parents))
        exec(f"def {name}({args}) -> _Frame:\n    return _EMPTY\n", module.__dict__)
        module.__dict__[name].__module__ = module.__name__
    builder = driver.Builder().with_modules(module)
    if workers > 1:
        try:
            from hamilton.plugins.h_threadpool import FutureAdapter
        except ImportError:
            return None
        builder = builder.with_adapters(FutureAdapter(max_workers=workers))
    started = time.perf_counter()
    dr = builder.build()
    build_s = time.perf_counter() - started
    finals = sorted(name for name in dag.graph if not any(name in p for p in dag.graph.values()))

    def run() -> float:
        start = time.perf_counter()
        out = dr.execute(finals)
        seconds = time.perf_counter() - start
        if len(out) != len(finals):
            raise RuntimeError(f"hamilton run produced {len(out)} of {len(finals)} outputs")
        return seconds

    run.build_s = build_s  # type: ignore[attr-defined]
    return run


def dask_runner(dag: base.Dag, workers: int) -> Callable[[], float] | None:
    """A timed Dask run of ``dag`` (threaded scheduler, or the synchronous one for 1 worker),
    or None when dask is not installed."""
    if not _have("dask"):
        return None
    import dask
    import dask.threaded

    def run() -> float:
        start = time.perf_counter()
        graph = {name: (_noop_positional, *sorted(parents)) for name, parents in dag.graph.items()}
        if workers > 1:
            out = dask.threaded.get(graph, list(graph), num_workers=workers)
        else:
            out = dask.get(graph, list(graph))
        seconds = time.perf_counter() - start
        if len(out) != dag.size:
            raise RuntimeError(f"dask run produced {len(out)} of {dag.size} outputs")
        return seconds

    return run


# -- (d) the fan-in workload, side by side -------------------------------------------------------
def bench_fanin(levels: int, width: int, repeat: int) -> tuple[list[Target], dict[str, Any]]:
    dag = fanin_dag(levels, width)
    context = create_engine_context("pandas")
    print(f"[d] fan-in DAG: {levels} levels x {width} no-op nodes, 2 seeded-random parents from"
          f" the level above ({dag.size} nodes, {dag.edges()} edges); construct + execute timed")
    variants: dict[str, Callable[[], float]] = {
        "odibi-w8": lambda: base.run_odibi(dag, context, WORKERS),
        "bare-w8": lambda: base.run_bare(dag, WORKERS),
        "odibi-inline": lambda: base.run_odibi(dag, context, 1),
        "bare-inline": lambda: base.run_bare(dag, 1),
    }
    notes = []
    for peer, factory in (("hamilton", hamilton_runner), ("dask", dask_runner)):
        for label, workers in (("w8", WORKERS), ("inline", 1)):
            try:
                runner = factory(dag, workers)
            except Exception as exc:  # an optional peer that cannot run here is skipped, said so
                print(f"  note: {peer}-{label} failed to set up: {type(exc).__name__}: {exc}")
                runner = None
            if runner is None:
                notes.append(f"{peer}-{label}")
                continue
            variants[f"{peer}-{label}"] = runner
            if hasattr(runner, "build_s"):
                print(f"  info: {peer}-{label} driver build {runner.build_s * 1000:.1f} ms (not timed)")
    if notes:
        print(f"  note: skipped {', '.join(notes)} (pip install sf-hamilton dask to compare)")
    timings = interleave(variants, repeat)
    med = medians(timings)
    us = {name: seconds / dag.size * 1e6 for name, seconds in med.items()}
    for name, seconds in med.items():
        bare = "bare-w8" if name.endswith("w8") else "bare-inline"
        print(f"  {name:<15} median {seconds * 1000:8.1f} ms  = {us[name]:6.1f} us/node"
              f"  = {seconds / med[bare]:5.2f}x {bare}")
    builds = []
    for _ in range(max(5, repeat)):
        start = time.perf_counter()
        DAGBuilder(dag.steps).build()
        builds.append((time.perf_counter() - start) * 1000)
    build_ms = sorted(builds)[len(builds) // 2]
    targets = [
        Target(f"ratio odibi/bare ({WORKERS} workers, fan-in DAG)", med["odibi-w8"] / med["bare-w8"],
               "<=", THREADED_RATIO, "x", f"{us['odibi-w8']:.1f} vs {us['bare-w8']:.1f} us/node"),
        Target("ratio odibi/bare (inline, fan-in DAG)", med["odibi-inline"] / med["bare-inline"],
               "<=", INLINE_RATIO, "x", f"{us['odibi-inline']:.1f} vs {us['bare-inline']:.1f} us/node"),
        Target(f"DAG build of {dag.size} nodes", build_ms, "<=", BUILD_MS, " ms",
               "DAGBuilder(steps).build(), median"),
    ]
    return targets, {"nodes": dag.size, "runs": timings.runs, "median_s": med, "us_per_node": us,
                     "build_ms": build_ms, "skipped_peers": notes}


# -- (e) cost per node as the DAG grows --------------------------------------------------------
def bench_scaling(sizes: tuple[int, ...], width: int, repeat: int) -> tuple[list[Target], dict[str, Any]]:
    dags = {size: fanin_dag(max(1, size // width), width) for size in sizes}
    context = create_engine_context("pandas")
    print(f"[e] scaling, inline: fan-in DAGs of {', '.join(f'{s:,}' for s in sizes)} nodes"
          f" ({width} per level)")
    variants: dict[str, Callable[[], float]] = {}
    for size, dag in dags.items():
        variants[f"odibi-{size}"] = lambda dag=dag: base.run_odibi(dag, context, 1)
        variants[f"bare-{size}"] = lambda dag=dag: base.run_bare(dag, 1)
    timings = interleave(variants, repeat)
    med = medians(timings)
    per_node = {name: seconds / dags[int(name.split("-")[1])].size * 1e6 for name, seconds in med.items()}
    for size in sizes:
        print(f"  {size:>6,} nodes  odibi {per_node[f'odibi-{size}']:6.1f} us/node"
              f"   bare {per_node[f'bare-{size}']:5.1f} us/node")
    small, large = min(sizes), max(sizes)
    ratio = per_node[f"odibi-{large}"] / per_node[f"odibi-{small}"]
    bare_ratio = per_node[f"bare-{large}"] / per_node[f"bare-{small}"]
    targets = [Target(f"ratio per-node {large:,}/{small:,} nodes (odibi inline)", ratio, "<=",
                      SCALING_RATIO, "x", f"bare loop {bare_ratio:.2f}x")]
    return targets, {"sizes": list(sizes), "runs": timings.runs, "us_per_node": per_node}


# -- the suite's second half ----------------------------------------------------------------------
# the fan-in DAG (levels x width) and the scaling sizes: fixed by the workload, smaller when quick
FANIN = {"quick": (5, 40, (200, 400, 800)), "full": (20, 100, (500, 2000, 8000))}
FANIN_REPEAT = 5  # median of 5 after a warm-up (the full run; --repeat overrides)


def run_suite(args: argparse.Namespace) -> tuple[list[Target], dict[str, Any]]:
    """Run (d) and (e) (after executor.run_suite, in the same process); targets and numbers."""
    base._register()
    levels, width, sizes = FANIN["quick" if args.quick else "full"]
    repeat = args.repeat if args.repeat is not None or args.quick else FANIN_REPEAT
    targets: list[Target] = []
    details: dict[str, Any] = {}
    for key, bench in (("fanin", lambda: bench_fanin(levels, width, repeat)),
                       ("scaling", lambda: bench_scaling(sizes, width, repeat))):
        found, details[key] = bench()
        for target in found:
            print(target.line())
        print(flush=True)
        targets += found
    return targets, details
