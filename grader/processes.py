"""Stop every process a lesson's kernel started, once the lesson is over.

jupyter_client starts each kernel as the leader of a new session (and process
group), so most of what a lesson starts shares the kernel's session id. A child
that calls ``setsid`` (``start_new_session=True``) leaves that session; it is
still the kernel's descendant by parent pid while its parent lives, and it is
re-parented to init when the parent dies. So the grader watches the kernel's
descendants while the lesson runs (after every cell and on a timer) and, when
the lesson ends, stops everything it saw (by pid and start time, so a reused pid
is never hit), every descendant, and every process in the kernel's session or
process group. Never the grader's own session, group, or ancestors.

Linux only reads ``/proc``; elsewhere the kernel's process group is stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KernelProcesses", "ProcessInfo"]

log = logging.getLogger(__name__)

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessInfo:
    """One process as ``/proc/<pid>/stat`` shows it."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    start: int  # start time in clock ticks since boot: (pid, start) names one process for good
    state: str
    name: str


def read_process(pid: int) -> ProcessInfo | None:
    """The process ``pid`` now, or ``None`` when it is gone (or ``/proc`` is not there)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    name_end = text.rfind(")")
    name = text[text.find("(") + 1:name_end]
    fields = text[name_end + 2:].split()
    try:
        return ProcessInfo(pid=pid, ppid=int(fields[1]), pgid=int(fields[2]), sid=int(fields[3]),
                           start=int(fields[19]), state=fields[0], name=name)
    except (IndexError, ValueError):
        return None


def _all_processes() -> dict[int, ProcessInfo]:
    found: dict[int, ProcessInfo] = {}
    try:
        entries = list(_PROC.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.name.isdigit() and (info := read_process(int(entry.name))) is not None:
            found[info.pid] = info
    return found


def _ancestors(pid: int) -> set[int]:
    seen = {pid}
    while (info := read_process(pid)) is not None and info.ppid > 0 and info.ppid not in seen:
        pid = info.ppid
        seen.add(pid)
    return seen


class KernelProcesses:
    """The processes of one kernel: watched while it runs, stopped when the lesson ends.

    Args:
        pid: the kernel's process id.
        interval: seconds between background snapshots of its descendants (0: none).
    """

    def __init__(self, pid: int, *, interval: float = 1.0) -> None:
        self.pid = pid
        self.kernel = read_process(pid)
        self.proc = _PROC.is_dir() and self.kernel is not None
        try:
            self.sid = os.getsid(pid)
            self.pgid = os.getpgid(pid)
        except OSError:
            self.sid = self.pgid = -1
        # never the grader's own session or group (a kernel started without setsid shares them)
        self._own = {os.getsid(0), os.getpgid(0), 0, 1}
        self._protected = _ancestors(os.getpid()) | {1}
        self.seen: dict[int, int] = {}  # pid -> start time of every descendant ever seen
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.proc and interval > 0:
            self._thread = threading.Thread(target=self._watch, args=(interval,), daemon=True,
                                            name=f"odibi-watch-{pid}")
            self._thread.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.snapshot()

    def _descendants(self, table: dict[int, ProcessInfo]) -> set[int]:
        children: dict[int, list[int]] = {}
        for info in table.values():
            children.setdefault(info.ppid, []).append(info.pid)
        roots = [self.pid] if self.kernel and self._same(table.get(self.pid), self.kernel.start) else []
        roots += [pid for pid, start in self.seen.items() if self._same(table.get(pid), start)]
        found: set[int] = set()
        stack = list(roots)
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    @staticmethod
    def _same(info: ProcessInfo | None, start: int) -> bool:
        return info is not None and info.start == start

    def snapshot(self) -> None:
        """Remember the kernel's descendants as they are now."""
        if not self.proc:
            return
        table = _all_processes()
        with self._lock:
            for pid in self._descendants(table):
                self.seen.setdefault(pid, table[pid].start)

    def strays(self) -> list[ProcessInfo]:
        """Live processes of this kernel: itself, what it was seen to start, their descendants
        now, and members of its session or process group."""
        table = _all_processes()
        with self._lock:
            wanted = self._descendants(table)
            wanted |= {pid for pid, start in self.seen.items() if self._same(table.get(pid), start)}
        if self.kernel is not None and self._same(table.get(self.pid), self.kernel.start):
            wanted.add(self.pid)
        for info in table.values():
            if (info.sid == self.sid and self.sid not in self._own) or (
                    info.pgid == self.pgid and self.pgid not in self._own):
                wanted.add(info.pid)
        return sorted((table[pid] for pid in wanted - self._protected
                       if pid != os.getpid() and table[pid].state != "Z"), key=lambda i: i.pid)

    def stop(self, *, grace: float = 1.0) -> list[ProcessInfo]:
        """Stop the watcher, then every stray process: SIGTERM, and SIGKILL after ``grace``
        seconds for what is left. Returns the processes that were signalled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.proc:
            if self.pgid not in self._own:
                with contextlib.suppress(OSError):
                    os.killpg(self.pgid, signal.SIGKILL)
            return []
        targets = self.strays()
        for info in targets:
            self._signal(info, signal.SIGTERM)
        deadline = time.monotonic() + grace
        left = targets
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [i for i in left if self._alive(i)]
        for info in left:
            self._signal(info, signal.SIGKILL)
        # anything started in the meantime (a child forking as it died) gets a second pass
        for info in self.strays():
            self._signal(info, signal.SIGKILL)
        if targets:
            log.info("stopped %d process(es) the kernel left running: %s", len(targets),
                     ", ".join(f"{i.pid} ({i.name})" for i in targets))
        return targets

    def _alive(self, info: ProcessInfo) -> bool:
        now = read_process(info.pid)
        return now is not None and now.start == info.start and now.state != "Z"

    def _signal(self, info: ProcessInfo, signum: int) -> None:
        if not self._alive(info):  # gone, a zombie, or a new process with a reused pid
            return
        with contextlib.suppress(OSError):
            os.kill(info.pid, signum)
