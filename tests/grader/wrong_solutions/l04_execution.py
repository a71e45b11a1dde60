"""Plausible wrong answers to lesson 04's exercises, one per exercise step."""

WRONG = {
    # keeps the whole (column, old dtype, new dtype) tuples instead of the column names
    6: {
        "source": '''def schema_steps(source: Path) -> list[Step]:
    """read_bronze -> add_column -> drop_columns, as described above."""
    return [
        Step("ingest", "read_bronze", "config_op", "pandas", path(source), outputs={"data": "bronze"}),
        Step("transform", "add_column", "sql", "pandas", "SELECT *, 100 AS new_column FROM bronze",
             inputs={"bronze": "bronze"}, outputs={"data": "silver"}),
        Step("transform", "drop_columns", "sql", "pandas",
             "SELECT customer_id, name, CAST(active AS BOOLEAN) AS active, new_column FROM silver",
             inputs={"silver": "silver"}, outputs={"data": "gold"}),
    ]


def schema_changes(tracker: Tracker) -> dict[str, dict[str, list[str]]]:
    """{step: {"added": [...], "removed": [...], "changed": [column, ...]}} for each record."""
    changes = {}
    for record in tracker.step_executions:
        diff = record.schema_diff
        changes[record.step_name] = {"added": list(diff.added), "removed": list(diff.removed),
                                     "changed": list(diff.changed)}
    return changes
''',
        "shows": ["at key 'drop_columns'", "('active', 'int64', 'bool')"],
    },
    # rounds the durations to whole milliseconds
    11: {
        "source": '''def make_timing_hook(timings: dict[str, float]):
    """A hook storing step_name -> duration_ms into ``timings``."""
    def hook(event: dict) -> None:
        timings[event["step_name"]] = round(event["duration_ms"])

    return hook
''',
        "shows": ["expected a float of milliseconds", "of type int"],
    },
    # filters the join to paid orders, as the running example does
    12: {
        "source": '''def parallel_join_steps() -> list[Step]:
    """Three independent reads and the join that needs all three."""
    steps = []
    for name in ("customers", "orders", "products"):
        steps.append(Step("ingest", f"read_{name}", "config_op", "pandas", path(DATA / f"{name}.csv"),
                          outputs={"data": f"raw_{name}"}))
    steps.append(Step("transform", "join_all", "sql", "pandas",
                      "SELECT o.*, c.country, p.category, p.price FROM orders o"
                      " JOIN customers c ON o.customer_id = c.customer_id"
                      " JOIN products p ON o.product_id = p.product_id WHERE o.status = 'paid'",
                      inputs={"customers": "raw_customers", "orders": "raw_orders", "products": "raw_products"},
                      outputs={"data": "joined"}))
    return steps
''',
        "shows": ["rows of joined (one per order)", "expected 60, got 48"],
    },
}
