"""The seed's Step 2 / Step 4 "Try It Yourself" code, verbatim, each in its own working folder
(the seed writes relative paths). Its Step 14 tests are in tests/odibi_core/test_seed_streaming.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from odibi_core.streaming import StreamConfig, StreamManager, StreamMode


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """from_source() keeps state in artifacts/checkpoints under the working folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


def test_step2_try_it_yourself(capsys: pytest.CaptureFixture[str]) -> None:
    from odibi_core.streaming import StreamSource  # noqa: F401

    # Create a file watch configuration
    config = StreamConfig(
        mode=StreamMode.FILE_WATCH,
        source_path="data/incoming/",
        file_pattern="*.csv",
        format="csv"
    )

    print(f"Mode: {config.mode}")
    print(f"Pattern: {config.file_pattern}")
    print(f"Is enum: {isinstance(config.mode, StreamMode)}")
    assert capsys.readouterr().out.splitlines() == ["Mode: file_watch", "Pattern: *.csv",
                                                    "Is enum: True"]
    assert config.mode == "file_watch"


def test_step4_try_it_yourself(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path



    # Create test directory and files
    Path("test_stream").mkdir(exist_ok=True)
    pd.DataFrame({"a": [1, 2]}).to_csv("test_stream/file1.csv", index=False)
    pd.DataFrame({"a": [3, 4]}).to_csv("test_stream/file2.csv", index=False)

    # Setup stream manager
    stream = StreamManager.from_source("csv", path="test_stream", mode="file_watch", pattern="*.csv")

    # Read batch (should find 2 files)
    batch = stream.read_batch(list(stream.sources.keys())[0])  # noqa: RUF015 - verbatim
    print(f"Rows: {len(batch)}")  # Should print 4

    # Read again (no new files)
    batch2 = stream.read_batch(list(stream.sources.keys())[0])  # noqa: RUF015 - verbatim
    print(f"Second batch: {batch2}")  # Should print None
    assert capsys.readouterr().out.splitlines() == ["Rows: 4", "Second batch: None"]
    assert list(stream.sources) == ["csv_stream_0"]
    assert Path("artifacts/checkpoints/csv_stream_0.stream.json").is_file()
