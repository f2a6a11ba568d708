"""The peak-week benchmark in small: a few hundred submissions through every service process.

Only the accounting is asserted (every accepted submission reached review, awards and notify
once, every recognition reached awards once); the figures are `make bench`'s business.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_block(size: int) -> int:
    """The first port of `size` consecutive free ports (the benchmark numbers its services)."""
    for first in range(18_100, 19_000, size):
        sockets = []
        try:
            for port in range(first, first + size):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no block of free ports")


def test_a_small_peak_loses_and_doubles_nothing() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/bench_peak.py", "--smoke", "--first-port", str(free_block(8))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads((ROOT / "var/bench/peak-smoke.json").read_text())
    assert figures["accepted"] >= 250 and figures["csv_rows_accepted"] > 0
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["phantom_writes"] == 0
    assert figures["recognized_by_reviewers"] > 0
    assert figures["recognized_in_awards"] == figures["recognized_by_reviewers"]
