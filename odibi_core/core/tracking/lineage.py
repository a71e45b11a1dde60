"""Lineage as OpenLineage-style run events, built from a Tracker's records.

A run has exactly one START event and, once it ended, exactly one terminal event (COMPLETE
or FAIL). The terminal event names the datasets the run read from outside (ingest sources,
data-map keys provided from outside) and wrote (store and publish targets), each with its
schema facet; an ``odibi_steps`` run facet lists every step execution with its state and
timing, and a FAIL event carries an ``errorMessage`` facet naming the failed steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ... import __version__
from ...engine.base import Snapshot
from ...nodes.base import Connection
from ..config.step import Step

__all__ = ["DATA_MAP_NAMESPACE", "JOB_NAMESPACE", "PRODUCER", "RUN_EVENT_SCHEMA", "LineageDataset",
           "lifecycle_records", "run_events"]

#: who wrote the run events (OpenLineage ``producer``)
PRODUCER = f"odibi_core/{__version__}"
#: the OpenLineage schema the run events follow
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
_ERROR_FACET = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
#: namespace of the job, and of datasets that are data-map keys provided from outside
JOB_NAMESPACE = "odibi_core"
DATA_MAP_NAMESPACE = "odibi_core.data_map"
# the layers whose config_op steps read (ingest) or write (store, publish) a location
_READERS, _WRITERS = ("ingest",), ("store", "publish")


@dataclass(frozen=True)
class LineageDataset:
    """A dataset as OpenLineage names it: ``file`` + path, or ``sqlite:<db>`` + table."""

    namespace: str
    name: str

    @classmethod
    def for_step(cls, step: Step, connections: Mapping[str, str]) -> LineageDataset | None:
        """Where a config_op ingest/store/publish step reads or writes (None for other steps).

        ``connections`` maps the data-map keys of connect steps' outputs to their locations,
        so a step reading through a connection names the database table or folder file.
        """
        layer, kind = step.kind
        if kind != "config_op" or layer not in _READERS + _WRITERS:
            return None
        through = next((connections[k] for k in step.inputs.values() if k in connections), None)
        if through is not None:
            location, options = Connection.for_location("", through).resolve(str(step.value))
        else:
            location, options = str(step.value), dict(step.params)
        if "table" in options:
            return cls(f"sqlite:{location}", str(options["table"]))
        return cls("file", location)

    def to_dict(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name}


def lifecycle_records(node_results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Executor results (``DAGExecutor.results``) as plain data, by node name.

    Each node gives ``state``, ``attempts``, ``cached``, ``duration_ms``, ``error``,
    ``reason`` and ``transitions`` as ``{"state", "at_ms"}``, where ``at_ms`` counts from
    the earliest transition of any node (the start of the run's lifecycle).
    """
    times = [at for result in node_results.values()
             for _state, at in getattr(result, "transitions", ())]
    origin = min(times, default=0.0)
    return {
        str(name): {
            "state": str(result.state),
            "attempts": int(getattr(result, "attempts", 0)),
            "cached": bool(getattr(result, "cached", False)),
            "duration_ms": getattr(result, "duration_ms", None),
            "error": getattr(result, "error", None),
            "reason": getattr(result, "reason", "") or "",
            "transitions": [{"state": str(state), "at_ms": round((at - origin) * 1000, 3)}
                            for state, at in getattr(result, "transitions", ())],
        }
        for name, result in node_results.items()
    }


def _schema_facet(snapshot: Snapshot | None) -> dict[str, Any]:
    if snapshot is None or not snapshot.schema:
        return {}
    return {"schema": {"_producer": PRODUCER, "_schemaURL": _SCHEMA_FACET,
                       "fields": [{"name": n, "type": t} for n, t in snapshot.schema]}}


def _add_dataset(found: dict[LineageDataset, Snapshot | None], dataset: LineageDataset,
                 snapshot: Snapshot | None) -> None:
    """Keep each dataset once, with the first schema seen for it."""
    known = found.get(dataset)
    if dataset not in found or (snapshot is not None and (known is None or not known.schema)):
        found[dataset] = snapshot


def _datasets(found: dict[LineageDataset, Snapshot | None]) -> list[dict[str, Any]]:
    return [{**d.to_dict(), "facets": _schema_facet(s)} for d, s in found.items()]


_OK = ("SUCCESS", "CACHED")


def _event(kind: str, at: str, run_id: str, job_name: str, facets: dict[str, Any],
           inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eventType": kind, "eventTime": at, "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA, "run": {"runId": run_id, "facets": facets},
            "job": {"namespace": JOB_NAMESPACE, "name": job_name},
            "inputs": inputs, "outputs": outputs}


def _io_datasets(executions: Iterable[Any], connections: Mapping[str, str],
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(read from outside, written): ingest sources and external keys; stored targets."""
    executions = list(executions)
    written = {key for e in executions for key in e.outputs.values()}
    read: dict[LineageDataset, Snapshot | None] = {}
    wrote: dict[LineageDataset, Snapshot | None] = {}
    for e in executions:
        ok = str(e.status) in _OK
        if e.source is not None:
            _add_dataset(read, e.source, e.after_snapshot if ok else None)
        for logical, key in e.inputs.items():
            if key not in written and key not in connections:
                _add_dataset(read, LineageDataset(DATA_MAP_NAMESPACE, key),
                             e.input_snapshots.get(logical))
        if e.target is not None and ok:
            _add_dataset(wrote, e.target, next(iter(e.input_snapshots.values()), None))
    return _datasets(read), _datasets(wrote)


def _failure_message(job_name: str, executions: Iterable[Any],
                     lifecycle: Mapping[str, Mapping[str, Any]]) -> str:
    """Every failed step with its error: the latest record of each, then nodes that failed
    before a record was made (known from the lifecycle)."""
    latest = {e.step_name: e for e in executions}
    failed = {name: e.error or "" for name, e in latest.items() if str(e.status) == "FAILED"}
    for name, node in lifecycle.items():
        if str(node["state"]) == "FAILED" and name not in failed:
            failed[name] = node["error"] or ""
    if not failed:
        return f"pipeline {job_name!r} failed with no failed step recorded"
    return "; ".join(f"step {name!r} failed: {message}" for name, message in sorted(failed.items()))


def run_events(*, run_id: str, job_name: str, status: str | None, start_time: str | None,
               end_time: str | None, executions: Iterable[Any],
               lifecycle: Mapping[str, Mapping[str, Any]],
               connections: Mapping[str, str]) -> list[dict[str, Any]]:
    """The run's events: none before it starts, START while it runs, START and COMPLETE or
    FAIL once it ended (``status`` SUCCESS means COMPLETE). ``executions`` are the Tracker's
    StepExecution records."""
    if start_time is None:
        return []
    executions = list(executions)
    events = [_event("START", start_time, run_id, job_name, {}, [], [])]
    if end_time is not None:
        failed = status != "SUCCESS"
        facets: dict[str, Any] = {"odibi_steps": {"_producer": PRODUCER, "steps": [
            {"name": e.step_name, "state": str(e.status), "start_time": e.start_time,
             "end_time": e.end_time, "duration_ms": e.duration_ms, "attempt": e.attempt}
            for e in executions]}}
        if failed:
            facets["errorMessage"] = {"_producer": PRODUCER, "_schemaURL": _ERROR_FACET,
                                      "message": _failure_message(job_name, executions, lifecycle),
                                      "programmingLanguage": "python"}
        inputs, outputs = _io_datasets(executions, connections)
        events.append(_event("FAIL" if failed else "COMPLETE", end_time, run_id, job_name, facets,
                             inputs, outputs))
    return events
