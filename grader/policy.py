"""The pass policy: the one place that decides whether a graded lesson passed, and why not.

A lesson passes when every one of these holds (each failed one is a reason):

- every exercise step passed (unless the spec says ``assessment.exercises: counted``);
- the step score reaches ``pass_score`` (less ``hint_penalty`` per hint used, when the
  spec asks for a penalty);
- for a learner copy, the quiz score (best round, first attempts) reaches ``pass_score``;
- in strict mode, nothing was found by the instructor's checks;
- nothing was tampered with (learner code that changes how checks run, a canary check that
  did not fail, a canonical file changed during the run): a tampered lesson is
  ``tampered``, never passed, whatever its score.
"""

from __future__ import annotations

from .lesson import LessonSpec
from .results import LessonResult, LessonStatus, StepState

__all__ = ["describe_policy", "judge", "retake_command"]


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def retake_command(lesson_name: str) -> str:
    """The command that starts a new quiz round for a lesson."""
    return f"python -m grader quiz retake {lesson_name}"


def describe_policy(spec: LessonSpec) -> dict[str, object]:
    """The policy a lesson is graded by, as shown in every report."""
    assessment = spec.assessment
    return {"exercises": assessment.exercises, "pass_score": assessment.pass_score,
            "quiz_required": True, "hint_penalty": assessment.hint_penalty}


def _exercise_reason(number: int, title: str, state: StepState) -> str:
    what = {StepState.FAILED: "not solved", StepState.TIMED_OUT: "timed out",
            StepState.NOT_RUN: "not run"}.get(state, state.value)
    return f'exercise {number} "{title}" {what}'


def judge(result: LessonResult, spec: LessonSpec, *, lesson_name: str,
          strict: bool = False) -> tuple[LessonStatus, list[str]]:
    """The verdict for ``result`` under ``spec``'s policy, with every reason it failed."""
    if result.tampered:
        return LessonStatus.TAMPERED, [f"tampered: {line}" for line in result.tampered]
    reasons: list[str] = []
    score = result.score
    if score is None:
        return LessonStatus.FAILED, ["no runnable step could run (all skipped or none defined)"]
    if spec.assessment.exercises == "required":
        for step in result.steps:
            if step.exercise and step.runnable and step.state not in (StepState.PASSED,
                                                                        StepState.SKIPPED):
                reasons.append(_exercise_reason(step.number, step.title, step.state))
    pass_score = spec.assessment.pass_score
    if score < pass_score:
        reasons.append(f"steps {_percent(score)} < {_percent(pass_score)}")
    if result.learner_copy:
        quiz = result.quiz_score or 0.0
        if quiz < pass_score:
            reasons.append(f"quiz {_percent(quiz)} < {_percent(pass_score)} (start a new round:"
                           f" {retake_command(lesson_name)})")
    if strict and result.lint:
        count = len(result.lint)
        reasons.append(f"{count} strict-mode problem{'s' if count != 1 else ''} (see lint)")
    return (LessonStatus.FAILED if reasons else LessonStatus.PASSED), reasons
