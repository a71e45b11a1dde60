"""Retries: the delay sequence (backoff, cap, clamped exponent, jitter), which errors are
retried, per-step overrides, events and tracker records per attempt, and cache hits."""

from __future__ import annotations

import random
import threading
import time

import pandas as pd
import pytest

from odibi_core.cache import CacheManager, MemoryStore
from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    EventEmitter,
    Jitter,
    NodeState,
    Orchestrator,
    RetryPolicy,
    Step,
    Tracker,
    create_engine_context,
)
from odibi_core.core.retry import DEFAULT_RETRYABLE, exception_chain
from odibi_core.errors import EngineError, RetryableError, StepError
from odibi_core.functions import register_function, unregister_function


class FakeClock:
    """A monotonic clock that only moves when slept on (or advanced by a step)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky:
    """Raises ``errors`` one per call, then returns a frame; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, **frames):
        with self.lock:
            self.calls += 1
            error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return pd.DataFrame({"x": [self.calls]})


@pytest.fixture
def flaky():
    """Registers a Flaky as function 'flaky' (given its errors); unregisters after."""
    made = {}

    def make(*errors: BaseException, name: str = "flaky") -> Flaky:
        made[name] = state = Flaky(*errors)

        def flaky_step(**frames):  # a function with source, so the cache can fingerprint it
            return state(**frames)

        register_function(name, replace=True)(flaky_step)
        return state

    yield make
    for name in made:
        unregister_function(name)


def one_step(params=None, name="flaky", step="load") -> list[Step]:
    return [Step("transform", step, "function", "pandas", name, params=dict(params or {}),
                 outputs={"data": f"{step}_out"})]


def executor(steps, clock: FakeClock | None = None, **options) -> DAGExecutor:
    options.setdefault("max_workers", 1)
    if clock is not None:
        options.update(clock=clock, sleep=clock.sleep)
    return DAGExecutor(DAGBuilder(steps).build(), create_engine_context("pandas"), **options)


def record(bus: EventEmitter, *names: str) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []
    for name in names:
        bus.on(name, lambda data, name=name: seen.append((name, data)))
    return seen


# -- the policy ---------------------------------------------------------------------------


def test_delays_are_exactly_the_policy_sequence() -> None:
    policy = RetryPolicy(max_retries=6, retry_delay=0.5, backoff=2, max_delay=3, jitter="none")
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert policy.max_attempts == 7
    assert RetryPolicy(retry_delay=2, backoff=1, jitter=Jitter.NONE).delay(5) == 2


def test_exponent_is_clamped_before_the_power() -> None:
    with pytest.raises(OverflowError):
        pow(2.0, 10_000)  # what an unclamped base * 2 ** (n - 1) does for a large n
    policy = RetryPolicy(retry_delay=1, backoff=2, max_delay=30, jitter="none")
    assert policy.delay(10_000) == 30
    assert RetryPolicy(retry_delay=0.001, backoff=1e6, max_delay=5, jitter="none").delay(10**9) == 5
    assert RetryPolicy(retry_delay=0, max_delay=5, jitter="full").delay(10**9) == 0


@pytest.mark.parametrize("mode", ["full", "equal", "relative"])
def test_jitter_stays_in_its_documented_bounds_and_really_varies(mode: str) -> None:
    policy = RetryPolicy(retry_delay=1, backoff=2, max_delay=5, jitter=mode, jitter_factor=0.2)
    rng = random.Random(42)
    for n in range(1, 6):
        nominal = policy.nominal_delay(n)
        low, high = policy.delay_bounds(n)
        expected = {"full": (0.0, nominal), "equal": (nominal / 2, nominal),
                    "relative": (nominal * 0.8, min(5, nominal * 1.2))}[mode]
        assert (low, high) == pytest.approx(expected)
        draws = [policy.delay(n, rng) for _ in range(200)]
        assert all(low <= d <= high for d in draws), (n, min(draws), max(draws))
        assert len(set(draws)) > 150, "jitter must really be applied"
        assert any(d != nominal for d in draws)
    same = [policy.delay(3, random.Random(7)) for _ in range(3)]
    assert same[0] == same[1] == same[2], "a seeded rng makes the jitter reproducible"


def test_policy_rejects_nonsense_and_says_what_it_expected() -> None:
    for bad, match in [({"max_retries": -1}, "max_retries must be an int >= 0"),
                       ({"max_retries": 1.5}, "max_retries"),
                       ({"retry_delay": -1}, "retry_delay must be a finite number"),
                       ({"backoff": 0.5}, "backoff must be a finite number >= 1"),
                       ({"jitter": "sometimes"}, "jitter must be one of"),
                       ({"jitter_factor": 2}, "jitter_factor"),
                       ({"retry_on": ("not a type",)}, "retry_on must hold exception types")]:
        with pytest.raises(ValueError, match=match):
            RetryPolicy(**bad)


def test_default_retryable_errors_look_through_wrapping() -> None:
    policy = RetryPolicy()
    assert set(DEFAULT_RETRYABLE) == {ConnectionError, TimeoutError, RetryableError}
    for error in (ConnectionError("reset"), TimeoutError("slow"), RetryableError("busy"),
                  ConnectionRefusedError("refused")):
        assert policy.is_retryable(error), error
    for error in (FileNotFoundError("x.csv"), ValueError("bad"), KeyError("k"),
                  StepError("s", "unknown layer"), EngineError("SQL failed: Parser Error")):
        assert not policy.is_retryable(error), error

    try:
        try:
            raise ConnectionError("reset by peer")
        except ConnectionError as exc:
            raise EngineError("cannot read table") from exc
    except EngineError as wrapped:
        assert policy.is_retryable(wrapped)
        assert [type(e) for e in exception_chain(wrapped)] == [EngineError, ConnectionError]
    try:
        try:
            raise TimeoutError("slow")
        except TimeoutError:
            raise ValueError("while handling") from None  # explicitly not a wrapper
    except ValueError as hidden:
        assert not policy.is_retryable(hidden)


def test_retry_on_takes_a_type_tuple_or_a_predicate() -> None:
    only_keys = RetryPolicy(retry_on=KeyError)  # one class is a tuple, not a predicate
    assert only_keys.retry_on == (KeyError,)
    assert only_keys.is_retryable(KeyError("k")) and not only_keys.is_retryable(ConnectionError())
    by_text = RetryPolicy(retry_on=lambda exc: "try again" in str(exc))
    assert by_text.is_retryable(RuntimeError("busy, try again"))
    assert not by_text.is_retryable(RuntimeError("broken"))
    assert by_text.should_retry(RuntimeError("try again"), attempt=2)
    assert not by_text.should_retry(RuntimeError("try again"), attempt=3)  # 3 = max_attempts


# -- the executor -------------------------------------------------------------------------


def test_executor_waits_exactly_the_policy_delays(flaky) -> None:
    fn = flaky(ConnectionError("a"), ConnectionError("b"), ConnectionError("c"))
    clock = FakeClock()
    ex = executor(one_step(), clock, retry_policy=RetryPolicy(max_retries=3, retry_delay=1.0,
                                                              jitter="none"))
    ex.execute()
    result = ex.results["load"]
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert result.retry_delays == [1.0, 2.0, 4.0]
    assert (result.attempts, result.retries, fn.calls, result.state) == (4, 3, 4, NodeState.SUCCESS)
    assert result.error is None and result.finished_at == pytest.approx(7.0)
    states = [s for s, _ in result.transitions]
    assert states == [NodeState.PENDING, NodeState.READY] + [NodeState.RUNNING, NodeState.FAILED,
                                                             NodeState.READY] * 3 + [
        NodeState.RUNNING, NodeState.SUCCESS]
    stats = ex.get_stats()
    assert (stats["total_attempts"], stats["retries"]) == (4, 3)
    assert stats["total_duration_ms"] == pytest.approx(7000.0)


def test_an_injected_sleep_is_trusted_even_when_the_clock_does_not_move(flaky) -> None:
    """A recorder as ``sleep`` (lessons, tests) is called once per retry; nothing spins."""
    fn = flaky(ConnectionError("a"), ConnectionError("b"))
    slept: list[float] = []
    ex = executor(one_step(), sleep=slept.append,
                  retry_policy=RetryPolicy(max_retries=2, retry_delay=30.0, jitter="none"))
    started = time.monotonic()
    ex.execute()
    assert slept == pytest.approx([30.0, 60.0], abs=0.5)
    assert (ex.results["load"].attempts, fn.calls) == (3, 3)
    assert time.monotonic() - started < 10, "the executor waited for real instead of trusting sleep"


def test_jittered_delays_come_from_the_injected_rng(flaky) -> None:
    def run() -> list[float]:
        flaky(ConnectionError(), ConnectionError())
        clock = FakeClock()
        ex = executor(one_step(), clock, rng=random.Random(3),
                      retry_policy=RetryPolicy(retry_delay=1.0, jitter="equal"))
        ex.execute()
        assert clock.sleeps == pytest.approx(ex.results["load"].retry_delays)
        return ex.results["load"].retry_delays

    first = run()
    assert first == run(), "the same seed gives the same delays"
    assert 0.5 <= first[0] <= 1.0 and 1.0 <= first[1] <= 2.0
    assert first != [1.0, 2.0]


def test_only_retryable_errors_are_retried(flaky) -> None:
    fn = flaky(ValueError("bad value"), ConnectionError("never reached"))
    clock = FakeClock()
    ex = executor(one_step(), clock, max_retries=2)
    assert ex.execute(raise_on_failure=False) == {}
    result = ex.results["load"]
    assert (result.attempts, fn.calls, result.state, clock.sleeps) == (1, 1, NodeState.FAILED, [])
    assert result.error == "ValueError: bad value" and result.error_type == "ValueError"


def test_connection_error_succeeds_on_the_third_attempt(flaky) -> None:
    flaky(ConnectionError("1"), ConnectionError("2"))
    ex = executor(one_step(), FakeClock(), max_retries=2)
    data = ex.execute()
    assert ex.results["load"].attempts == 3 and data["load_out"]["x"].tolist() == [3]


def test_retries_run_out_after_max_retries(flaky) -> None:
    flaky(ConnectionError("1"), ConnectionError("2"))
    ex = executor(one_step(), FakeClock(), max_retries=1)
    ex.execute(raise_on_failure=False)
    result = ex.results["load"]
    assert (result.attempts, result.state, result.error) == (2, NodeState.FAILED, "ConnectionError: 2")


def test_a_wrapped_transient_error_is_retried(flaky) -> None:
    def wrapped() -> StepError:
        try:
            raise TimeoutError("upstream slow")
        except TimeoutError as exc:
            raise StepError("load", "fetch failed") from exc

    try:
        wrapped()
    except StepError as error:
        flaky(error)
    ex = executor(one_step(), FakeClock())
    ex.execute()
    assert ex.results["load"].attempts == 2


def test_step_params_override_the_pipeline_policy(flaky) -> None:
    flaky(ConnectionError(), ConnectionError(), ConnectionError(), name="patient")
    flaky(ConnectionError(), name="impatient")
    steps = (one_step({"max_retries": 3, "retry_delay": 0.25}, name="patient", step="p")
             + one_step({"max_retries": 0}, name="impatient", step="q"))
    clock = FakeClock()
    ex = executor(steps, clock, fail_fast=False,
                  retry_policy=RetryPolicy(max_retries=1, retry_delay=5.0, jitter="none"))
    ex.execute(raise_on_failure=False)
    assert ex.results["p"].retry_delays == [0.25, 0.5, 1.0] and ex.results["p"].success
    assert ex.results["q"].attempts == 1 and ex.results["q"].state is NodeState.FAILED
    assert ex.retry_policy.max_retries == 1, "overrides are per step"


def test_a_bad_retry_override_fails_its_step_with_a_clear_message(flaky) -> None:
    fn = flaky()
    ex = executor(one_step({"max_retries": "lots"}), FakeClock())
    ex.execute(raise_on_failure=False)
    assert ex.results["load"].state is NodeState.FAILED and fn.calls == 0
    assert "step 'load' failed: params: max_retries must be an int >= 0" in ex.results["load"].error


def test_retry_events_and_one_terminal_event_per_node(flaky) -> None:
    flaky(ConnectionError("down"), name="ok_fn")
    flaky(TimeoutError("t1"), TimeoutError("t2"), name="bad_fn")
    bus = EventEmitter()
    seen = record(bus, "node_start", "node_retry", "node_complete", "node_error")
    steps = one_step(name="ok_fn", step="good") + one_step(name="bad_fn", step="bad")
    ex = executor(steps, FakeClock(), events=bus, fail_fast=False,
                  retry_policy=RetryPolicy(max_retries=1, retry_delay=2.0, jitter="none"))
    ex.execute(raise_on_failure=False)

    starts = [(d["step_name"], d["attempt"]) for n, d in seen if n == "node_start"]
    assert sorted(starts) == [("bad", 1), ("bad", 2), ("good", 1), ("good", 2)]
    retries = [d for n, d in seen if n == "node_retry"]
    assert [{k: v for k, v in d.items() if k != "event"} for d in retries] == [
        {"step_name": "bad", "layer": "transform", "attempt": 1, "next_attempt": 2, "max_attempts": 2,
         "delay_seconds": 2.0, "error_message": "TimeoutError: t1", "error_type": "TimeoutError"},
        {"step_name": "good", "layer": "transform", "attempt": 1, "next_attempt": 2, "max_attempts": 2,
         "delay_seconds": 2.0, "error_message": "ConnectionError: down", "error_type": "ConnectionError"},
    ]
    terminal = [(n, d["step_name"]) for n, d in seen if n in ("node_complete", "node_error")]
    assert sorted(terminal) == [("node_complete", "good"), ("node_error", "bad")]
    error = next(d for n, d in seen if n == "node_error")
    assert (error["attempts"], error["retry_count"], error["error_message"]) == (2, 1, "TimeoutError: t2")
    complete = next(d for n, d in seen if n == "node_complete")
    assert (complete["attempts"], complete["status"]) == (2, "SUCCESS")


def test_tracker_keeps_one_record_per_attempt(flaky) -> None:
    flaky(ConnectionError("1"), RetryableError("2"))
    tracker = Tracker()
    ex = executor(one_step(), FakeClock(), tracker=tracker)
    ex.execute()
    records = [e for e in tracker.step_executions if e.step_name == "load"]
    assert [str(e.status) for e in records] == ["FAILED", "FAILED", "SUCCESS"]
    assert [e.error for e in records] == ["ConnectionError: 1", "RetryableError: 2", None]
    assert [e.attempt for e in records] == [1, 2, 3]
    assert all(e.duration_ms is not None for e in records)


def test_a_retry_wait_never_blocks_other_ready_nodes(flaky) -> None:
    clock = FakeClock()
    flaky(ConnectionError(), name="slow_start")

    @register_function("takes_400ms", replace=True)
    def takes_400ms():
        clock.now += 0.4
        return pd.DataFrame({"x": [1]})

    try:
        steps = one_step(name="slow_start", step="a") + one_step(name="takes_400ms", step="b")
        bus = EventEmitter()
        seen = record(bus, "node_start", "node_complete")
        ex = executor(steps, clock, events=bus, retry_policy=RetryPolicy(retry_delay=1.0, jitter="none"))
        ex.execute()
    finally:
        unregister_function("takes_400ms")
    # a fails at t=0; b runs during a's wait; the loop sleeps only the 0.6 s that remain
    assert clock.sleeps == [pytest.approx(0.6)]
    assert [(n, d["step_name"]) for n, d in seen] == [
        ("node_start", "a"), ("node_start", "b"), ("node_complete", "b"), ("node_start", "a"),
        ("node_complete", "a")]


def test_parallel_retries_wait_in_the_loop_not_in_a_worker(flaky) -> None:
    """While b runs, a's retry is due: the loop starts it without waiting for b, and never
    calls sleep (something was running); no worker thread ever sleeps for a retry."""
    flaky(ConnectionError(), name="fails_once")
    release = threading.Event()

    @register_function("waits_for_release", replace=True)
    def waits_for_release():
        assert release.wait(30)
        return pd.DataFrame({"x": [1]})

    bus = EventEmitter()
    bus.on("node_complete", lambda d: d["step_name"] == "a" and release.set())
    sleeps: list[str] = []
    try:
        steps = one_step(name="fails_once", step="a") + one_step(name="waits_for_release", step="b")
        ex = executor(steps, max_workers=2, events=bus,
                      sleep=lambda s: (sleeps.append(threading.current_thread().name), time.sleep(s)),
                      retry_policy=RetryPolicy(retry_delay=0.05, jitter="none"))
        ex.execute()
    finally:
        unregister_function("waits_for_release")
    assert ex.results["a"].attempts == 2 and ex.results["b"].success
    assert ex.results["a"].finished_at < ex.results["b"].finished_at, "a's retry waited for b"
    assert sleeps == []


def test_a_cache_hit_is_never_retried(flaky) -> None:
    cache = CacheManager(store=MemoryStore())
    fn = flaky(ConnectionError("first call"))
    first = executor(one_step(), FakeClock(), cache=cache)
    first.execute()
    assert first.results["load"].attempts == 2 and fn.calls == 2

    class BrokenTracker(Tracker):
        def record_cached(self, *args, **kwargs):
            raise ConnectionError("tracker store unreachable")

    bus = EventEmitter()
    retries = record(bus, "node_retry")
    second = executor(one_step(), FakeClock(), cache=cache, events=bus, tracker=BrokenTracker())
    second.execute(raise_on_failure=False)
    result = second.results["load"]
    assert fn.calls == 2, "the function must not run again: its output was cached"
    assert (result.attempts, result.state, retries) == (1, NodeState.FAILED, [])

    third = executor(one_step(), FakeClock(), cache=cache)
    third.execute()
    assert third.results["load"].cached and third.results["load"].attempts == 1
    assert third.get_stats()["retries"] == 0


def test_retry_params_do_not_change_the_cache_key(flaky) -> None:
    cache = CacheManager(store=MemoryStore())
    flaky()
    executor(one_step(), FakeClock(), cache=cache).execute()
    again = executor(one_step({"max_retries": 5, "retry_delay": 0.1}), FakeClock(), cache=cache)
    again.execute()
    assert again.results["load"].cached


def test_fail_fast_cancels_scheduled_retries(flaky) -> None:
    flaky(ConnectionError("a1"), ConnectionError("a2"), name="a_fn")
    flaky(ValueError("b broke"), name="b_fn")
    bus = EventEmitter()
    seen = record(bus, "node_complete", "node_error")
    steps = one_step(name="a_fn", step="a") + one_step(name="b_fn", step="b")
    ex = executor(steps, FakeClock(), events=bus, retry_policy=RetryPolicy(retry_delay=1, jitter="none"))
    ex.execute(raise_on_failure=False)
    a = ex.results["a"]
    assert (a.state, a.attempts, a.retry_delays, a.error) == (NodeState.FAILED, 1, [], "ConnectionError: a1")
    assert "retry cancelled" in a.reason and "'b'" in a.reason
    assert sorted((n, d["step_name"]) for n, d in seen) == [("node_error", "a"), ("node_error", "b")]


def test_orchestrator_passes_its_retry_settings(flaky) -> None:
    for parallel in (False, True):
        flaky(ConnectionError(), ConnectionError())
        result = Orchestrator(steps=one_step(), engine_type="pandas", parallel=parallel,
                              max_retries=2, retry_delay=0.001, retry_backoff=3.0).run()
        assert result.success and result.node_results["load"].attempts == 3
        assert result.stats["retries"] == 2 and result.stats["total_attempts"] == 3
        low, high = (0.0005, 0.001), (0.0015, 0.003)  # equal jitter: [d/2, d]
        delays = result.node_results["load"].retry_delays
        assert low[0] <= delays[0] <= low[1] and high[0] <= delays[1] <= high[1]
    with pytest.raises(ValueError, match="either retry_policy or"):
        Orchestrator(steps=one_step(), engine_type="pandas", max_retries=5, retry_policy=RetryPolicy())
    policy = RetryPolicy(max_retries=0)
    assert Orchestrator(steps=one_step(), engine_type="pandas", retry_policy=policy).retry_policy is policy


def test_delays_are_floats_even_with_an_int_cap() -> None:
    policy = RetryPolicy(max_retries=5, retry_delay=0.5, max_delay=3, jitter="none")
    delays = [policy.delay(n) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0] and all(type(d) is float for d in delays)
