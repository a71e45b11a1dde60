"""Plausible wrong solutions for lessons/06_streaming.ipynb (see __init__.py)."""

WRONG = {
    5: {
        # forgets that the old counts still hold when the new watermark equals the old one
        "source": '''def incremental_filter(df, column, low, delivered):
    """(rows, new_low, new_delivered): the rows after watermark ``low``, given the Counter
    ``delivered`` of row keys (tuples of values) already delivered at ``low``."""
    skip = Counter(delivered)
    kept = []
    for row in df.itertuples(index=False, name=None):
        value = row[list(df.columns).index(column)]
        if pd.isna(value):
            continue
        if low is not None and value < low:
            continue
        if low is not None and value == low and skip[row]:
            skip[row] -= 1
            continue
        kept.append(row)
    if not kept:
        return df.iloc[0:0], low, delivered
    result = pd.DataFrame(kept, columns=df.columns)
    new_low = result[column].max()
    return result, new_low, Counter(r for r in kept if r[list(df.columns).index(column)] == new_low)
''',
        "shows": ["at key (5, 'x') expected 3, got 1"],
    },
    8: {
        # writes through a temp file but never cleans it up when the write fails
        "source": '''def save_json_atomically(path, data) -> Path:
    """Write ``data`` as JSON to ``path`` atomically: temp file in the same folder, flush, fsync,
    os.replace; on any failure remove the temp file and re-raise."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
''',
        "shows": ["no temp file may be left", "expected 1", ".tmp'"],
    },
    10: {
        # rounds up, so a `now` exactly on a slot returns that slot instead of the next one
        "source": '''def next_interval_fire(scheduled: datetime, interval: timedelta, now: datetime) -> datetime:
    """The first time on the grid ``scheduled + k * interval`` (k >= 1) strictly after ``now``."""
    import math
    k = max(1, math.ceil((now - scheduled) / interval))
    return scheduled + k * interval
''',
        "shows": ["exactly on a slot", "expected '2026-03-02T09:02:00+00:00', got '2026-03-02T09:01:00+00:00'"],
    },
}
