"""How the Spark engine context picks and checks its master: argument, ODIBI_SPARK_MASTER,
local[2]; malformed and unreachable masters and a second master in one process are clear
EngineErrors, found without waiting for Spark's own retries."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from odibi_core.engine import SparkEngineContext, create_engine_context
from odibi_core.engine.spark_context import MASTER_ENV, resolve_master
from odibi_core.errors import EngineError

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections (and speaks no Spark)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_master_comes_from_the_argument_then_the_environment_then_local(monkeypatch) -> None:
    monkeypatch.delenv(MASTER_ENV, raising=False)
    assert SparkEngineContext().master == "local[2]"
    monkeypatch.setenv(MASTER_ENV, "spark://127.0.0.1:7077")
    assert create_engine_context("spark").master == "spark://127.0.0.1:7077"
    assert SparkEngineContext(master="local[1]").master == "local[1]"
    for good in ("local", "local[*]", "local[4, 2]", "spark://a:1,b:2", "sc://host:15002", "sc://host:15002/;token=t", "yarn",
                 "k8s://https://host:443"):
        assert resolve_master(good) == good


@pytest.mark.parametrize("bad", ["localhost:7077", "spark:/host:7077", "local[two]", "mesos"])
def test_a_malformed_master_names_the_accepted_forms(bad: str) -> None:
    with pytest.raises(EngineError, match=r"unknown Spark master .*expected local, local\[N\].*spark://host:port"):
        SparkEngineContext(master=bad)


def test_a_malformed_master_from_the_environment_says_so(monkeypatch) -> None:
    monkeypatch.setenv(MASTER_ENV, "host:7077")
    with pytest.raises(EngineError, match=r"'host:7077' \(from \$ODIBI_SPARK_MASTER\)"):
        SparkEngineContext()


@pytest.mark.parametrize("scheme", ["spark", "sc"])
def test_an_unreachable_master_fails_fast_and_names_the_url(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        _ = SparkEngineContext(master=url, spark_conf={"spark.executor.memory": "512m"}).session
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert "cannot reach the Spark master" in message or "has no Connect client" in message, message
    assert url in message


def test_a_second_master_in_one_process_is_refused(listener: int) -> None:
    local = SparkEngineContext(master="local[2]").session  # the process's session (maybe shared)
    running = local.sparkContext.master
    if not running.startswith("local"):
        pytest.fail(f"expected the test process to run a local session, got {running}")
    with pytest.raises(EngineError, match=r"already runs a SparkSession on master 'local\[.*one SparkContext per"
                                         r" process"):
        _ = SparkEngineContext(master=f"spark://127.0.0.1:{listener}").session
    assert SparkEngineContext(master="local[1]").session is not None  # local[N]s share it
    given = SparkEngineContext(session=local)
    assert given.session is local and given.master == running
