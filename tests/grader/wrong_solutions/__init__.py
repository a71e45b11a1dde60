"""Plausible wrong solutions, one per exercise of every lesson, for the feedback test.

Each module is named after its lesson (``l03_orchestration.py`` for
``lessons/03_orchestration.ipynb``) and holds ``WRONG``: exercise step number ->
``{"source": <the whole exercise cell as a learner might write it>,
"shows": [<text the check's message must contain: the differing value>]}``.
"""
