"""Bad arguments raise ConfigError naming the problem; error_type labels stay bounded."""

from __future__ import annotations

import pytest

from odibi_core.core import EventEmitter
from odibi_core.errors import ConfigError
from odibi_core.metrics import ErrorTypeLimiter, PipelineMetrics


@pytest.mark.parametrize("options, message", [
    ({"namespace": "odibi-core"}, "namespace must match"),
    ({"namespace": ""}, "namespace must match"),
    ({"buckets": []}, "strictly increasing"),
    ({"buckets": [1, 0.5]}, "strictly increasing"),
    ({"buckets": [1, 1]}, "strictly increasing"),
    ({"buckets": [-1, 1]}, "strictly increasing"),
    ({"buckets": [float("inf"), 1]}, "strictly increasing"),
    ({"buckets": ["a"]}, "buckets must be numbers"),
    ({"max_error_types": 0}, "max_error_types"),
])
def test_bad_options(options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        PipelineMetrics(**options)


def test_inf_bucket_is_optional() -> None:
    assert PipelineMetrics(buckets=[1, 2, float("inf")]).buckets == PipelineMetrics(buckets=[1, 2]).buckets


def test_bad_record_arguments() -> None:
    metrics = PipelineMetrics()
    with pytest.raises(ConfigError, match="status must be one of"):
        metrics.node_finished("p", "a", "done")
    with pytest.raises(ConfigError, match="use node_failed"):
        metrics.node_finished("p", "a", "failed")
    with pytest.raises(ConfigError, match="node must be a non-empty string"):
        metrics.node_retried("p", "")
    with pytest.raises(ConfigError, match="pipeline must be at most 200"):
        metrics.node_retried("p" * 201, "a")
    with pytest.raises(ConfigError, match="status must be one of"):
        metrics.pipeline_finished("p", "cached")
    with pytest.raises(ConfigError, match="attach needs an EventEmitter"):
        metrics.attach(object(), "p")
    with pytest.raises(ConfigError, match="pipeline_name must be a non-empty string"):
        metrics.attach(EventEmitter(), " ")
    with pytest.raises(ConfigError, match="port must be"):
        metrics.serve(70000)


def test_error_types_are_bounded() -> None:
    limit = ErrorTypeLimiter(2)
    assert limit(None) == "unknown"
    assert limit("file not found: /data/run-42.csv") == "other"  # a message, not a class name
    assert limit("ValueError") == "ValueError"
    assert limit("odibi_core.errors.StepError") == "odibi_core.errors.StepError"
    assert limit("KeyError") == "other"  # past the limit
    assert limit("ValueError") == "ValueError"  # seen before: kept


def test_failures_past_the_limit_count_as_other() -> None:
    metrics = PipelineMetrics(max_error_types=1)
    for error_type in ("ValueError", "KeyError", "OSError", None):
        metrics.node_failed("p", "a", error_type)
    node = metrics.to_json()["pipelines"]["p"]["nodes"]["a"]
    assert node["failures"] == {"ValueError": 1, "other": 2, "unknown": 1}
    assert node["runs"]["failed"] == 4
