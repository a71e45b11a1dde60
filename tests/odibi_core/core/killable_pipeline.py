"""A 14-node pipeline with parallel branches, run by test_kill_resume.py in a subprocess.

Usage: python killable_pipeline.py WORKDIR [--kill NODE:start|complete] [--resume]

With ``--kill`` the process SIGKILLs itself when NODE starts (a node_start hook) or right after
NODE completed (a node_complete hook: its outputs are cached, its checkpoint not yet saved).
It prints one JSON line: each node's final state.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

import pandas as pd

from odibi_core.core import Orchestrator, Step
from odibi_core.core.events import EventEmitter
from odibi_core.functions import register_function


@register_function("kp_clean")
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.dropna().assign(value=lambda f: f["value"].round(2))


@register_function("kp_score")
def score(joined: pd.DataFrame) -> pd.DataFrame:
    return joined.assign(score=joined["value"] * 10 + joined["other"]).sort_values("id")


@register_function("kp_rank")
def rank(enriched: pd.DataFrame) -> pd.DataFrame:
    return enriched.assign(rank=enriched["value"].rank(method="first").astype(int)).sort_values("id")


def write_inputs(work: Path) -> None:
    (work / "in").mkdir(parents=True, exist_ok=True)
    for name, offset in (("a", 0), ("b", 100), ("c", 200)):
        path = work / "in" / f"{name}.csv"
        if not path.exists():
            ids = list(range(40))
            pd.DataFrame({"id": ids, "value": [(i * 7 + offset) % 13 + 0.123 for i in ids]}).to_csv(
                path, index=False)


def steps(work: Path) -> list[Step]:
    data, out = work / "in", work / "out"

    def step(layer: str, name: str, kind: str, value: str, inputs: dict | None = None,
             output: str | None = None) -> Step:
        return Step(layer, name, kind, "pandas", value, inputs=inputs or {},
                    outputs={"data": output} if output else {})

    return [
        step("ingest", "read_a", "config_op", str(data / "a.csv"), output="raw_a"),
        step("ingest", "read_b", "config_op", str(data / "b.csv"), output="raw_b"),
        step("ingest", "read_c", "config_op", str(data / "c.csv"), output="raw_c"),
        step("transform", "clean_a", "function", "kp_clean", {"raw": "raw_a"}, "a"),
        step("transform", "clean_b", "function", "kp_clean", {"raw": "raw_b"}, "b"),
        step("transform", "clean_c", "function", "kp_clean", {"raw": "raw_c"}, "c"),
        step("transform", "join_ab", "sql", "SELECT a.id, a.value, b.value AS other FROM a JOIN b USING (id)",
             {"a": "a", "b": "b"}, "ab"),
        step("transform", "enrich_c", "sql", "SELECT id, value * 3 AS value FROM c", {"c": "c"}, "c3"),
        step("transform", "score", "function", "kp_score", {"joined": "ab"}, "scored"),
        step("transform", "rank", "function", "kp_rank", {"enriched": "c3"}, "ranked"),
        step("transform", "combine", "sql",
             "SELECT s.id, s.score, r.rank FROM s JOIN r USING (id) ORDER BY s.id",
             {"s": "scored", "r": "ranked"}, "combined"),
        step("store", "save_score", "config_op", str(out / "score.csv"), {"data": "scored"}),
        step("store", "save_rank", "config_op", str(out / "rank.csv"), {"data": "ranked"}),
        step("store", "save_combined", "config_op", str(out / "combined.csv"), {"data": "combined"}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path)
    parser.add_argument("--kill", default=None)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    write_inputs(args.work)
    events = EventEmitter()
    if args.kill:
        node, phase = args.kill.split(":")

        def die(event: dict) -> None:
            if event["step_name"] == node:
                os.kill(os.getpid(), signal.SIGKILL)

        events.on("node_start" if phase == "start" else "node_complete", die)
    result = Orchestrator(steps(args.work), engine_type="pandas", event_bus=events, parallel=True,
                          max_workers=3, enable_cache=True, cache_dir=str(args.work / "cache"),
                          enable_checkpoints=True, checkpoint_dir=str(args.work / "checkpoints"),
                          resume_from_checkpoint=args.resume, pipeline_name="killable",
                          max_retries=0).execute()
    states = {name: r.state.value for name, r in result.node_results.items()}
    print(json.dumps({"success": result.success, "states": states, "resumed": result.resumed_nodes,
                      "rerun": result.rerun_nodes}))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
