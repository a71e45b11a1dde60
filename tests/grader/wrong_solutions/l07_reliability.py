"""Plausible wrong solutions for lessons/07_reliability.ipynb (see __init__.py)."""

WRONG = {
    4: {
        # only one level down: the children of a changed node, not their children
        "source": '''def nodes_to_rerun(dag, changed):
    """Sorted names of the ``changed`` nodes and of every node downstream of one."""
    result = set(changed)
    for name in changed:
        result.update(dag[name].dependents)
    return sorted(result)
''',
        "shows": ["first missing 'save_revenue'"],
    },
    7: {
        # as in the guide's code: a new orchestrator inside each timing, so the second run is cold too
        "source": '''def measure_speedup(make_orchestrator):
    """(first_s, second_s, speedup) of two runs of one orchestrator from ``make_orchestrator()``."""
    start = time.perf_counter()
    make_orchestrator().execute()
    first = time.perf_counter() - start
    start = time.perf_counter()
    make_orchestrator().execute()
    second = time.perf_counter() - start
    print(f"First run: {first:.2f}s")
    print(f"Second run: {second:.2f}s")
    print(f"Speedup: {first / second:.1f}x")
    return first, second, first / second
''',
        "shows": ["calls of make_orchestrator", "expected 1, got 2"],
    },
    10: {
        # off by one: `<` instead of `<=`, so it fails one call too few
        "source": '''def flaky(times):
    """A function(orders) that raises RetryableError on its first ``times`` calls, then returns orders."""
    count = 0

    def source(orders):
        nonlocal count
        count += 1
        if count < times:
            raise RetryableError("unreliable-api: 503")
        return orders

    return source
''',
        "shows": ["attempts of flaky(2) with max_retries=5", "expected 3, got 2"],
    },
}
