"""Plausible wrong answers to the exercises of lesson 02 (see test_exercise_feedback.py)."""

WRONG = {
    7: {
        # every numeric column compared with the float tolerance: big integers one apart look equal
        "source": '''def frames_equal(left, right, *, key=None, float_tol=1e-9):
    """True when two pandas frames hold the same rows in any order (rules in the step above)."""
    if list(left.columns) != list(right.columns) or len(left) != len(right):
        return False
    by = list(left.columns) if key is None else ([key] if isinstance(key, str) else list(key))
    left = left.sort_values(by).reset_index(drop=True)
    right = right.sort_values(by).reset_index(drop=True)
    for column in left.columns:
        a, b = left[column], right[column]
        if (a.isna() != b.isna()).any():
            return False
        a, b = a[~a.isna()], b[~b.isna()]
        numeric_a = is_numeric_dtype(a) and not is_bool_dtype(a)
        numeric_b = is_numeric_dtype(b) and not is_bool_dtype(b)
        if numeric_a != numeric_b:
            return False
        if numeric_a:
            x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
            if (np.abs(x - y) > float_tol * np.maximum(1.0, np.maximum(np.abs(x), np.abs(y)))).any():
                return False
        elif a.tolist() != b.tolist():
            return False
    return True
''',
        "shows": ["at key 'big integers one apart' expected False, got True"],
    },
    10: {
        # shallow copies: the nested params dicts are still shared with the originals
        "source": '''def for_engine(steps, engine):
    """Copies of ``steps`` that run on ``engine``; the given steps are left untouched."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    return [replace(step, engine=engine, params=dict(step.params), inputs=dict(step.inputs),
                    outputs=dict(step.outputs), metadata=dict(step.metadata))
            for step in steps]
''',
        "shows": ["unexpected key 'header'"],
    },
}
