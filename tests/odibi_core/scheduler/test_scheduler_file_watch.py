"""FILE_WATCH schedules: new complete files are handed to the job once (injected clock)."""

from __future__ import annotations

import os
from pathlib import Path

from odibi_core.scheduler import FileWatcher, ScheduleManager


def _poll(manager: ScheduleManager, clock, seconds: float = 1.0) -> int:
    clock.advance(seconds)
    started = manager.run_pending()
    assert manager.wait_idle(10)
    return started


def test_new_file_is_delivered_once_after_it_is_stable(clock, tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("a\n1\n")
    received: list[list[Path]] = []
    manager = ScheduleManager(clock=clock)
    manager.schedule_file_watch(tmp_path, received.append, "landing", pattern="*.csv",
                                poll_seconds=1)
    assert _poll(manager, clock) == 0  # the existing file is the baseline
    new = tmp_path / "new.csv"
    new.write_text("a\n2\n")
    (tmp_path / "notes.txt").write_text("ignored: pattern")
    (tmp_path / "upload.csv.part").write_text("ignored: temporary")
    (tmp_path / ".hidden.csv").write_text("ignored: hidden")
    assert _poll(manager, clock) == 0  # first seen: not yet known to be complete
    assert _poll(manager, clock) == 1
    assert received == [[new]]
    assert manager.get_runs("landing")[0].files == (str(new),)
    assert _poll(manager, clock) == 0  # never twice
    assert manager.schedules["landing"].run_count == 1


def test_a_file_still_growing_waits_and_a_rewritten_file_is_new_again(clock,
                                                                       tmp_path: Path) -> None:
    received: list[list[Path]] = []
    manager = ScheduleManager(clock=clock)
    manager.schedule_file_watch(tmp_path, received.append, "grow", poll_seconds=1)
    part = tmp_path / "big.csv"
    part.write_text("a\n")
    assert _poll(manager, clock) == 0
    part.write_text("a\n1\n2\n")  # still being written: size changed since the last poll
    assert _poll(manager, clock) == 0
    assert _poll(manager, clock) == 1
    part.write_text("a\n1\n2\n3\n")  # rewritten with another size: new again
    assert _poll(manager, clock) == 0
    assert _poll(manager, clock) == 1
    assert received == [[part], [part]]


def test_include_existing_and_files_ordered_oldest_first(clock, tmp_path: Path) -> None:
    for i, name in enumerate(["b.csv", "a.csv", "c.csv"]):
        path = tmp_path / name
        path.write_text(name)
        os.utime(path, ns=(1_000_000_000 * (i + 1), 1_000_000_000 * (i + 1)))
    received: list[list[Path]] = []
    manager = ScheduleManager(clock=clock)
    manager.schedule_file_watch(tmp_path, received.append, "all", include_existing=True,
                                poll_seconds=1)
    _poll(manager, clock)
    _poll(manager, clock)
    assert [[p.name for p in files] for files in received] == [["b.csv", "a.csv", "c.csv"]]


def test_trigger_on_file_watch_polls_now(clock, tmp_path: Path) -> None:
    manager = ScheduleManager(clock=clock)
    manager.schedule_file_watch(tmp_path, lambda files: None, "watch", poll_seconds=60)
    assert manager.trigger("watch") is None  # nothing new
    (tmp_path / "x.csv").write_text("x")
    assert manager.trigger("watch") is None  # first seen
    run = manager.trigger("watch").result(timeout=10)
    assert run.files == (str(tmp_path / "x.csv"),)


def test_missing_folder_is_empty_until_it_appears(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    watcher = FileWatcher(folder)
    assert watcher.poll() == []
    folder.mkdir()
    (folder / "f.json").write_text("{}")
    assert watcher.poll() == []
    assert watcher.poll() == [folder / "f.json"]
    watcher.mark_delivered([folder / "f.json"])
    assert watcher.poll() == []
