"""Plausible wrong answers to the exercises of lesson 01 (see test_exercise_feedback.py)."""

WRONG = {
    8: {
        # forgets the paid-only filter: refunded and cancelled orders are counted too
        "source": '''def paid_revenue_by_country_sql() -> str:
    """SQL over tables orders, customers, products: paid revenue per country."""
    return """
    SELECT c.country, ROUND(SUM(o.quantity * p.price), 2) AS revenue
    FROM orders AS o
    JOIN customers AS c ON o.customer_id = c.customer_id
    JOIN products AS p ON o.product_id = p.product_id
    GROUP BY c.country
    ORDER BY c.country
    """
''',
        "shows": ["revenue of DE", "got 1179.3"],
    },
    11: {
        # "not cancelled" instead of "paid": refunded orders are counted as paid
        "source": '''def build_paid_units_pipeline(orders_path: str, out_path: str) -> list[Step]:
    """read_orders (CSV) -> paid_units (SQL) -> store_units (Parquet)."""
    return [
        Step("ingest", "read_orders", "config_op", "pandas", orders_path,
             outputs={"data": "orders"}),
        Step("transform", "paid_units", "sql", "pandas",
             """
             SELECT product_id, COUNT(*) AS paid_orders, CAST(SUM(quantity) AS BIGINT) AS units
             FROM orders
             WHERE status <> 'cancelled'
             GROUP BY product_id
             ORDER BY product_id
             """,
             inputs={"orders": "orders"}, outputs={"data": "units"}),
        Step("store", "store_units", "config_op", "pandas", out_path,
             inputs={"data": "units"}),
    ]
''',
        "shows": ["column 'paid_orders'", "expected 11, got 12"],
    },
}
