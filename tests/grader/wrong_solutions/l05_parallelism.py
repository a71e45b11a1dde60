"""Plausible wrong answers to lesson 05's exercises, one per exercise step."""

WRONG = {
    # leaves the code out of the key: a changed function is served the old result
    5: {
        "source": '''def get_or_compute(cache, context, step_name, params, inputs, compute):
    """(value, hit): ``compute(**inputs, **params)`` through ``cache``, keyed by the step name, the
    params, the engine, the code of ``compute`` and the fingerprint of each input's data."""
    fingerprints = {name: context.fingerprint(frame) for name, frame in inputs.items()}
    try:
        key = cache.compute_cache_key(step_name, params, fingerprints, None, engine=context.name)
    except Uncacheable:
        return compute(**inputs, **params), False
    cached = cache.get(key, engine=context.name)
    if cached is not None:
        return cached, True
    value = compute(**inputs, **params)
    cache.put(key, value, engine=context.name, step_name=step_name)
    return value, False
''',
        "shows": ["changed code", "got hit=True"],
    },
    # walks back from the end of the chain and forgets to reverse the path
    12: {
        "source": '''import graphlib


def critical_path(dag: dict[str, DAGNode], durations: dict[str, float]) -> tuple[list[str], float]:
    """The dependency chain with the largest summed duration, and that sum."""
    if not dag:
        return [], 0.0
    total, came_from = {}, {}
    for name in graphlib.TopologicalSorter({n: node.dependencies for n, node in dag.items()}).static_order():
        deps = sorted(dag[name].dependencies)
        best = max(deps, key=lambda d: total[d]) if deps else None
        total[name] = durations[name] + (total[best] if best else 0.0)
        came_from[name] = best
    last = max(sorted(total), key=total.get)
    chain, node = [], last
    while node is not None:
        chain.append(node)
        node = came_from[node]
    return chain, total[last]
''',
        "shows": ["expected ['src', 'a', 'c'], got ['c', 'a', 'src']"],
    },
    # runs in parallel but forgets to switch the cache on
    15: {
        "source": '''def run_with_cache(steps: list[Step], cache_dir) -> OrchestrationResult:
    """Run ``steps`` in parallel with the content-addressed cache kept in ``cache_dir``."""
    return Orchestrator(steps, parallel=True, max_workers=4, cache_dir=str(cache_dir)).run()
''',
        "shows": ["run 2 (nothing changed): cache_hits", "expected 5, got 0"],
    },
}
