"""Stress: 200 parallel runs of seeded random 50-node DAGs (random 0-2 ms sleeps, some nodes
failing once with a transient error) give exactly the data map of a sequential run."""

from __future__ import annotations

import random
import threading
import time

import pandas as pd
import pytest

from odibi_core.core import DAGBuilder, DAGExecutor, RetryPolicy, Step, create_engine_context
from odibi_core.errors import RetryableError
from odibi_core.functions import register_function, unregister_function

NODES = 50
DAGS = 20
RUNS_PER_DAG = 10  # 200 parallel runs in all
NO_WAIT = RetryPolicy(max_retries=1, retry_delay=0.0, jitter="none")


class Combine:
    """The step function: a deterministic mix of its inputs, after a random short sleep.

    Nodes in ``flaky`` fail their first attempt of each run with a RetryableError."""

    def __init__(self) -> None:
        self.flaky: set[str] = set()
        self.failed: set[str] = set()
        self.lock = threading.Lock()
        self.rng = random.Random(0)

    def reset(self, flaky: set[str]) -> None:
        with self.lock:
            self.flaky, self.failed = set(flaky), set()

    def __call__(self, *, node: str, salt: int, **inputs: pd.DataFrame) -> pd.DataFrame:
        with self.lock:
            pause = self.rng.random() * 0.002
            fail = node in self.flaky and node not in self.failed
            if fail:
                self.failed.add(node)
        time.sleep(pause)
        if fail:
            raise RetryableError(f"{node}: transient")
        values = [salt] * 4
        for position, name in enumerate(sorted(inputs), start=1):
            column = inputs[name]["v"].tolist()
            values = [(v * 31 + c * position + salt) % 1_000_003 for v, c in zip(values, column, strict=True)]
        return pd.DataFrame({"v": values})


@pytest.fixture
def combine():
    state = Combine()

    @register_function("stress_combine", replace=True)
    def stress_combine(*, node: str, salt: int, **inputs):
        return state(node=node, salt=salt, **inputs)

    yield state
    unregister_function("stress_combine")


def random_dag(seed: int) -> tuple[list[Step], set[str]]:
    """50 function steps; each reads up to 3 earlier ones (names shuffled, so name order is not
    topological order); about one in ten fails once per run."""
    rng = random.Random(seed)
    names = [f"n{i:02d}" for i in range(NODES)]
    rng.shuffle(names)
    steps = []
    for i, name in enumerate(names):
        parents = rng.sample(names[:i], k=min(i, rng.randint(0, 3)))
        steps.append(Step("transform", name, "function", "pandas", "stress_combine",
                          params={"args": {"node": name, "salt": rng.randint(1, 999)}},
                          inputs={f"in_{p}": f"{p}_out" for p in parents},
                          outputs={"data": f"{name}_out"}))
    flaky = set(rng.sample(names, k=NODES // 10))
    return steps, flaky


def run(steps: list[Step], workers: int) -> dict[str, pd.DataFrame]:
    ex = DAGExecutor(DAGBuilder(steps).build(), create_engine_context("pandas"), max_workers=workers,
                     retry_policy=NO_WAIT)
    data = ex.execute()
    assert ex.get_stats()["retries"] == NODES // 10
    return data


@pytest.mark.timeout(300)
def test_parallel_runs_equal_a_sequential_run(combine: Combine) -> None:
    for seed in range(DAGS):
        steps, flaky = random_dag(seed)
        combine.reset(flaky)
        expected = run(steps, workers=1)
        assert len(expected) == NODES
        for _ in range(RUNS_PER_DAG):
            combine.reset(flaky)
            got = run(steps, workers=8)
            assert sorted(got) == sorted(expected)
            different = [k for k in expected if not got[k].equals(expected[k])]
            assert different == [], f"DAG {seed}: {different} differ from the sequential run"
