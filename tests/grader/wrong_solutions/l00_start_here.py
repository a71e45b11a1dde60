"""A plausible wrong answer to lesson 00's exercise: it keeps the LAST attempt per question."""

WRONG = {
    5: {
        "source": '''def first_attempt_score(attempts, question_ids):
    """Share of question_ids answered correctly at the first attempt."""
    last = dict(attempts)
    return sum(1 for q in question_ids if last.get(q)) / len(question_ids)
''',
        "shows": ["expected 0.5, got 1.0"],
    },
}
