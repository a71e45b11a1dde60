"""File watch: complete-file rule, persisted seen-set, commit/replay, failures and quarantine,
ordering and the per-trigger cap."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from odibi_core.streaming import StreamConfig, StreamError, StreamManager, StreamMode, StreamWarning
from odibi_core.streaming import watch as watch_module
from odibi_core.streaming.files import is_ignored, list_files


def write_csv(folder: Path, name: str, values: list[int], mtime_ns: int | None = None) -> Path:
    path = folder / name
    pd.DataFrame({"a": values}).to_csv(path, index=False)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def manager(tmp_path: Path, **options) -> StreamManager:
    stream = StreamManager(str(tmp_path / "ckpt"))
    stream.add_source("files", StreamConfig(StreamMode.FILE_WATCH, str(tmp_path / "in"),
                                            file_pattern="*.csv", **options))
    return stream


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def values(batch) -> list[int]:
    return sorted(batch.data["a"].tolist())


def test_poll_advances_in_memory_but_persists_only_at_commit(tmp_path: Path, inbox: Path) -> None:
    write_csv(inbox, "one.csv", [1, 2])
    stream = manager(tmp_path)
    batch = stream.poll("files")
    assert values(batch) == [1, 2] and batch.row_count == 2 and batch.start == {}
    assert batch.offsets["files"][0][0] == str(inbox / "one.csv")
    assert stream.poll("files") is None, "the cursor moved: the same file is not polled twice"
    assert not (tmp_path / "ckpt" / "files.stream.json").exists(), "nothing persisted before commit"
    assert stream.get_status()["files"]["pending"] == 1
    stream.commit("files")
    assert (tmp_path / "ckpt" / "files.stream.json").is_file()
    assert stream.get_status()["files"]["processed_files"] == 1


def test_restart_does_not_reprocess_committed_files(tmp_path: Path, inbox: Path) -> None:
    write_csv(inbox, "one.csv", [1])
    first = manager(tmp_path)
    first.commit("files", first.poll("files").offsets)
    write_csv(inbox, "two.csv", [2])
    again = manager(tmp_path)  # a restart over the same checkpoint_dir
    assert values(again.poll("files")) == [2]
    assert again.sources["files"].processed_files == {str(inbox / "one.csv")}


def test_uncommitted_batch_is_delivered_again_after_restart(tmp_path: Path, inbox: Path) -> None:
    write_csv(inbox, "one.csv", [1, 2])
    crashed = manager(tmp_path)
    assert values(crashed.poll("files")) == [1, 2]  # processed, then the process dies
    restarted = manager(tmp_path)
    assert values(restarted.poll("files")) == [1, 2]


def test_replay_reads_exactly_the_logged_files_and_commit_rolls_forward(tmp_path: Path,
                                                                        inbox: Path) -> None:
    write_csv(inbox, "one.csv", [1], mtime_ns=1_000_000_000)
    crashed = manager(tmp_path)
    logged = crashed.poll("files").replay_record
    write_csv(inbox, "two.csv", [2], mtime_ns=2_000_000_000)
    restarted = manager(tmp_path)
    replayed = restarted.poll("files", replay=logged)
    assert values(replayed) == [1] and replayed.files == [str(inbox / "one.csv")]
    restarted.commit("files", logged)
    assert values(restarted.poll("files")) == [2], "the replayed file is not polled again"


def test_replay_of_a_rewritten_file_is_an_error(tmp_path: Path, inbox: Path) -> None:
    from odibi_core.streaming import StreamError

    write_csv(inbox, "one.csv", [1], mtime_ns=1_000_000_000)
    stream = manager(tmp_path)
    logged = stream.poll("files").offsets
    write_csv(inbox, "one.csv", [1, 2, 3], mtime_ns=5_000_000_000)
    with pytest.raises(StreamError, match=r"one\.csv.*rewritten"):
        stream.poll("files", replay=logged)


def test_a_file_still_open_for_writing_is_not_taken_until_closed(tmp_path: Path,
                                                                 inbox: Path) -> None:
    stream = manager(tmp_path)
    with (inbox / "slow.csv").open("w") as handle:
        handle.write("a\n1\n")
        handle.flush()
        assert stream.poll("files") is None, "a writer still has it open"
        handle.write("2\n")
    assert values(stream.poll("files")) == [1, 2]


def test_without_leases_a_file_must_be_stable_or_settled(tmp_path: Path, inbox: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_module, "writer_has_open", lambda path: None)
    now = [2_000.0]
    stream = StreamManager(str(tmp_path / "ckpt"), clock=lambda: now[0])
    stream.add_source("files", StreamConfig(StreamMode.FILE_WATCH, str(inbox),
                                            file_pattern="*.csv", settle_seconds=30))
    write_csv(inbox, "new.csv", [1], mtime_ns=1_990_000_000_000)  # 10 s old
    write_csv(inbox, "old.csv", [2], mtime_ns=1_000_000_000_000)  # long settled
    assert values(stream.poll("files")) == [2]
    assert values(stream.poll("files")) == [1], "unchanged since the previous poll"


def test_files_come_oldest_first_capped_per_trigger(tmp_path: Path, inbox: Path) -> None:
    for i, name in enumerate(["c.csv", "a.csv", "b.csv", "d.csv"]):
        write_csv(inbox, name, [i], mtime_ns=(10 - i) * 1_000_000_000)
    write_csv(inbox, "tie.csv", [9], mtime_ns=7_000_000_000)  # same mtime as d: path order
    stream = manager(tmp_path, max_files_per_trigger=2)
    names = []
    while (batch := stream.poll("files")) is not None:
        assert len(batch.files) <= 2
        names.append([Path(f).name for f in batch.files])
    assert names == [["d.csv", "tie.csv"], ["b.csv", "a.csv"], ["c.csv"]]


def test_hidden_and_temporary_names_are_ignored(tmp_path: Path, inbox: Path) -> None:
    for name in [".hidden.csv", "_SUCCESS.csv", "x.csv.tmp", "y.csv.part", "z.csv.crdownload",
                 "w._COPYING_.csv"]:
        (inbox / name).write_text("a\n1\n")
    write_csv(inbox, "real.csv", [5])
    assert [Path(e.path).name for e in list_files(inbox, "*")] == ["real.csv"]
    assert is_ignored("part._COPYING_") and not is_ignored("data.csv")
    assert values(manager(tmp_path).poll("files")) == [5]


def test_a_rewritten_file_is_new_again_only_with_allow_overwrites(tmp_path: Path, inbox: Path) -> None:
    write_csv(inbox, "one.csv", [1], mtime_ns=1_000_000_000)
    stream = manager(tmp_path, allow_overwrites=True)
    assert stream.read_batch("files") is not None
    write_csv(inbox, "one.csv", [1, 2], mtime_ns=2_000_000_000)
    assert sorted(stream.read_batch("files")["a"]) == [1, 2]
    write_csv(inbox, "one.csv", [1, 2, 3], mtime_ns=3_000_000_000)
    assert sorted(stream.read_batch("files")["a"]) == [1, 2, 3]


def test_by_default_a_committed_file_is_not_read_again_even_if_rewritten(tmp_path: Path,
                                                                        inbox: Path) -> None:
    write_csv(inbox, "one.csv", [1], mtime_ns=1_000_000_000)
    stream = manager(tmp_path)
    assert stream.read_batch("files") is not None
    write_csv(inbox, "one.csv", [1, 2], mtime_ns=2_000_000_000)
    assert stream.read_batch("files") is None
    write_csv(inbox, "two.csv", [7], mtime_ns=3_000_000_000)
    assert sorted(stream.read_batch("files")["a"]) == [7]


def test_unreadable_file_is_retried_then_quarantined_never_marked_processed(
        tmp_path: Path, inbox: Path) -> None:
    (inbox / "bad.csv").write_bytes(b'a\n"unterminated')  # pandas cannot read it
    write_csv(inbox, "good.csv", [1])
    stream = manager(tmp_path, max_file_failures=3)
    assert values(stream.poll("files")) == [1]
    stream.commit("files")
    assert stream.poll("files") is None
    status = stream.get_status()["files"]
    assert status["failures"] == {str(inbox / "bad.csv"): 2} and status["quarantined"] == []
    restarted = manager(tmp_path, max_file_failures=3)  # the failure count was persisted
    with pytest.warns(StreamWarning, match=r"quarantined .*bad\.csv.* after 3 failed reads"):
        assert restarted.poll("files") is None
    status = restarted.get_status()["files"]
    assert status["quarantined"] == [str(inbox / "bad.csv")] and status["failures"] == {}
    assert str(inbox / "bad.csv") not in restarted.sources["files"].processed_files
    assert restarted.poll("files") is None, "a quarantined file is never delivered"
    write_csv(inbox, "bad.csv", [7], mtime_ns=9_000_000_000)  # fixed by its producer
    assert values(restarted.poll("files")) == [7]


def test_listing_skips_seen_files_without_opening_them(tmp_path: Path, inbox: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(50):
        write_csv(inbox, f"f{i:03d}.csv", [i])
    stream = manager(tmp_path)
    stream.read_batch("files")
    opened: list[str] = []
    monkeypatch.setattr(watch_module, "writer_has_open", lambda path: opened.append(path) or False)
    write_csv(inbox, "new.csv", [99])
    assert values(stream.poll("files")) == [99]
    assert [Path(p).name for p in opened] == ["new.csv"]


def test_missing_folder_warns_once_and_polls_none(tmp_path: Path) -> None:
    stream = manager(tmp_path)
    with pytest.warns(StreamWarning, match="is not a folder"):
        assert stream.poll("files") is None
    assert stream.poll("files") is None


def test_two_streams_cannot_share_one_state_file(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write_csv(tmp_path / folder, "1.csv", [1])
    first = StreamManager.from_source("csv", path=str(tmp_path / "a"), pattern="*.csv",
                                      checkpoint_dir=str(tmp_path / "ckpt"))
    assert first.read_batch("csv_stream_0") is not None
    first.commit("csv_stream_0")
    with pytest.raises(StreamError, match=r"belongs to a source reading .*a'; source 'csv_stream_0'"
                                          r" reads .*b': give each stream its own name"):
        StreamManager.from_source("csv", path=str(tmp_path / "b"), pattern="*.csv",
                                  checkpoint_dir=str(tmp_path / "ckpt"))
    again = StreamManager.from_source("csv", path=str(tmp_path / "a"), pattern="*.csv",
                                      checkpoint_dir=str(tmp_path / "ckpt"))
    assert again.read_batch("csv_stream_0") is None, "the same source resumes its own state"


def write_rows(path: Path, fmt: str, values: list[int], mtime_ns: int) -> None:
    frame = pd.DataFrame({"a": values})
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records")
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_zero_byte_file_waits_then_is_retried_and_quarantined_in_every_format(
        tmp_path: Path, inbox: Path, fmt: str) -> None:
    now = [2_000.0]
    stream = StreamManager(str(tmp_path / "ckpt"), clock=lambda: now[0])
    stream.add_source("files", StreamConfig(StreamMode.FILE_WATCH, str(inbox), format=fmt,
                                            file_pattern=f"*.{fmt}", settle_seconds=30,
                                            max_file_failures=2))
    empty = inbox / f"empty.{fmt}"
    empty.write_bytes(b"")
    os.utime(empty, ns=(1_990_000_000_000, 1_990_000_000_000))  # empty for 10 s

    assert stream.poll("files") is None, "an empty file may be one still being created"
    assert stream.get_status()["files"]["failures"] == {}

    now[0] = 2_021.0  # empty for 31 s: past settle_seconds, an unreadable file
    assert stream.poll("files") is None
    assert stream.get_status()["files"]["failures"] == {str(empty): 1}
    with pytest.warns(StreamWarning, match=rf"quarantined .*empty\.{fmt}.* after 2 failed reads"
                                           r".*is empty \(0 bytes"):
        assert stream.poll("files") is None
    status = stream.get_status()["files"]
    assert status["quarantined"] == [str(empty)] and status["processed_files"] == 0
    assert str(empty) not in stream.sources["files"].processed_files

    write_rows(empty, fmt, [7], mtime_ns=2_030_000_000_000)  # its producer writes it at last
    now[0] = 2_100.0
    assert values(stream.poll("files")) == [7]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_file_created_empty_then_written_is_delivered_once_with_its_rows(
        tmp_path: Path, inbox: Path, fmt: str) -> None:
    stream = StreamManager(str(tmp_path / "ckpt"))
    stream.add_source("files", StreamConfig(StreamMode.FILE_WATCH, str(inbox), format=fmt,
                                            file_pattern=f"*.{fmt}"))
    path = inbox / f"later.{fmt}"
    path.touch()  # created and closed, not written yet

    assert stream.poll("files") is None
    write_rows(path, fmt, [1, 2], mtime_ns=path.stat().st_mtime_ns + 1_000_000)

    batch = stream.poll("files")
    assert values(batch) == [1, 2] and batch.row_count == 2
    assert stream.poll("files") is None
