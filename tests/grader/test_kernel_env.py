"""A graded lesson's kernel writes only under its run folder: course home, odibi home, cache."""

from __future__ import annotations

from pathlib import Path

from grader.grade import GradeOptions, _kernel_env


def test_the_kernel_env_keeps_every_store_in_the_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = _kernel_env(tmp_path / "course", run / "work", GradeOptions())
    assert env["ODIBI_WORKDIR"] == str(run / "work")
    for name in ("ODIBI_COURSE_HOME", "ODIBI_HOME", "ODIBI_CACHE_DIR"):
        assert Path(env[name]).parent == run, f"{name}={env[name]} is outside the run folder"
