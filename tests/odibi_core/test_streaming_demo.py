"""The Phase 6 demo runs end to end and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_streaming_demo_runs_and_cleans_up(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run([sys.executable, "-m", "odibi_core.examples.streaming_demo"], cwd=cwd,
                          env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "[1] file watch: 3 rows from 3 files; after a restart: nothing new" in out
    assert "not run again ['big_orders', 'save_big']" in out
    assert "[3] interval job fired 3 times; '0 9 * * 1' after Tue 01 Dec: Mon 07 Dec 09:00, Mon 14 Dec 09:00" in out
    assert "12 rows out of 12 in, exactly once: True" in out
    assert out.rstrip().endswith("all demos completed; cleaned up")
    assert list(cwd.iterdir()) == [] and list(scratch.iterdir()) == [], "the demo left files behind"


def test_streaming_demo_keep_keeps_its_files(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "odibi_core.examples.streaming_demo", "--keep",
                           str(tmp_path / "kept")], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "kept" / "continuous" / "sink" / "doubled").is_dir()
