"""Plausible wrong solutions for lessons/08_long_running.ipynb (see __init__.py)."""

WRONG = {
    7: {
        # counts every event that names a step, so each node's start is counted as well as its finish
        "source": '''def follow(streamer, subscriber_id, workflow_id, timeout):
    """(finished step names in order, the terminal event or None) of run ``workflow_id``."""
    finished = []
    for event in streamer.stream_events(subscriber_id, timeout, workflow_id=workflow_id):
        if event.step is not None:
            finished.append(event.step)
        if event.is_terminal:
            return finished, event
    return finished, None
''',
        "shows": ["the finished steps of the good run", "expected 'paid_orders', got 'order_lines'"],
    },
    9: {
        # forgets the case of a thread without checkpoints: None instead of an empty set
        "source": '''def will_skip(store_path, thread_id) -> set:
    """The node names the latest checkpoint of ``thread_id`` lists as complete (empty if none)."""
    with SqliteCheckpointStore(store_path) as store:
        latest = CheckpointManager(store=store).load_latest(thread_id)
    if latest is None:
        return None
    return set(latest.completed_names)
''',
        "shows": ["no-such-pipeline", "expected set(), got None"],
    },
    11: {
        # filters on the node but not on the pipeline: another pipeline's runs of the same node count
        "source": '''def failure_ratio(text, pipeline, node):
    """Failed runs / all runs of ``node`` in ``pipeline``, from Prometheus text; None without runs."""
    failed = total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "odibi_node_runs_total" and sample.labels.get("node") == node:
                total += sample.value
                if sample.labels.get("status") == "failed":
                    failed += sample.value
    if total == 0:
        return None
    return failed / total
''',
        "shows": ["customers-hourly", "expected None, got 0.0"],
    },
}
