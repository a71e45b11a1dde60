"""Nothing a lesson's kernel starts outlives grading: not after the kernel dies, not a child in
a new session, not a grandchild re-parented to init."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from coursekit import Course, code, spec

from grader.grade import GradeOptions, grade_notebook
from grader.processes import KernelProcesses, read_process
from grader.results import StepState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc"),
]


def _alive(pid: int) -> bool:
    info = read_process(pid)
    return info is not None and info.state != "Z"


def _pids(path: Path) -> list[int]:
    deadline = time.monotonic() + 10
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    return [int(line) for line in path.read_text().split()]


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pids.txt"
    yield path
    if path.is_file():  # whatever the test proves, leave no sleep 600 behind
        for pid in _pids(path):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _start(pid_file: Path, *, new_session: bool) -> str:
    return (f"import subprocess\n"
            f"child = subprocess.Popen(['sleep', '600'], start_new_session={new_session})\n"
            f"with open({str(pid_file)!r}, 'a') as f:\n"
            f"    f.write(f'{{child.pid}}\\n')\n")


def test_children_of_a_kernel_that_died_are_stopped(course: Course, pid_file: Path) -> None:
    cells = [code(_start(pid_file, new_session=False) + "import os\nos._exit(1)", "step-1", "check"),
             code("assert True", "step-2", "check")]
    path = course.lesson("01_dies", cells, spec("dies", runnable_steps=2, total_steps=2))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30, record=False))
    assert result.kernel_died and result.steps[1].state is StepState.NOT_RUN
    (pid,) = _pids(pid_file)
    assert not _alive(pid), f"sleep 600 (pid {pid}) outlived the dead kernel"


def test_a_child_in_a_new_session_is_stopped_after_a_normal_run(course: Course, pid_file: Path) -> None:
    cells = [code(_start(pid_file, new_session=True), "step-1"),
             code("assert child.poll() is None", "step-1", "check")]
    path = course.lesson("01_session", cells, spec("session"))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30, record=False))
    assert result.steps[0].state is StepState.PASSED, result.steps[0]
    (pid,) = _pids(pid_file)
    info = read_process(pid)
    assert not _alive(pid), f"sleep 600 in its own session (pid {pid}, {info}) outlived grading"


def test_a_grandchild_reparented_to_init_is_still_found_by_pid(course: Course, pid_file: Path) -> None:
    # the middle process starts sleep in a new session, then dies: sleep's parent becomes init
    middle = (f"import subprocess, time\n"
              f"p = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
              f"open({str(pid_file)!r}, 'a').write(f'{{p.pid}}\\n')\n"
              f"time.sleep(600)\n")
    cells = [
        code(f"import subprocess, sys, time, pathlib\n"
             f"mid = subprocess.Popen([sys.executable, '-c', {middle!r}])\n"
             f"while not pathlib.Path({str(pid_file)!r}).is_file():\n"
             f"    time.sleep(0.05)\n"
             f"time.sleep(0.2)", "step-1"),
        code("mid.kill(); mid.wait()", "step-1"),
        code("assert mid.poll() is not None", "step-1", "check"),
    ]
    path = course.lesson("01_orphan", cells, spec("orphan"))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30, record=False))
    assert result.steps[0].state is StepState.PASSED, result.steps[0]
    (pid,) = _pids(pid_file)
    assert not _alive(pid), f"orphaned sleep 600 (pid {pid}) outlived grading"


def test_the_grader_never_stops_its_own_session_or_ancestors() -> None:
    me = KernelProcesses(os.getpid(), interval=0)  # as if the "kernel" shared our session and group
    strays = {info.pid for info in me.strays()}
    assert not strays & {os.getpid(), os.getppid(), 1}
    own_session = {info.pid for info in map(read_process, strays) if info and info.sid == os.getsid(0)}
    assert own_session <= {info.pid for info in me.strays() if info.ppid == os.getpid()}
