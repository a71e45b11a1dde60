"""Plausible wrong answers to the exercises of lesson 03 (see test_exercise_feedback.py)."""

WRONG = {
    6: {
        # fixes the typo and the paid transform's output, but forgets the big_orders output
        "source": '''def fix_config(records: list[dict]) -> list[dict]:
    """A fixed copy of ``records``: validates, and wires each store step to the data it names."""
    fixed = copy.deepcopy(records)
    by_name = {record["name"]: record for record in fixed}
    by_name["paid_orders"]["inputs"]["orders"] = "raw_orders"
    by_name["paid_orders"]["outputs"]["data"] = "paid_orders"
    return fixed
''',
        "shows": ["step 'save_big' reads 'big_orders'", "which no step writes"],
    },
    12: {
        # filters by truthiness: steps whose row_delta is 0 disappear too
        "source": '''def lineage_summary(path) -> dict[str, int]:
    """{step_name: row_delta} for the step records of a lineage JSON file that have a row_delta."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {record["step_name"]: record["row_delta"] for record in data["steps"] if record["row_delta"]}
''',
        "shows": ["missing key 'save_revenue'"],
    },
}
