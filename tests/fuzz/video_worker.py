"""Reads every video of a folder through izde's file source, in a process of its own, and prints one JSON line of
counts. Run by test_fuzz_videos: a decoder crash kills this process, not the test run, and shows as a crash."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from izde.errors import IzdeError
from izde.pipeline.sources import FileSource, SourceKind, SourceSpec

PER_VIDEO_S = 30.0  # far beyond any of these short clips; more is a hang


def read_one(path: Path) -> str:
    try:
        src = FileSource(SourceSpec(SourceKind.FILE, str(path)))
    except IzdeError:
        return "refused"
    n = sum(1 for _ in src.frames(5.0, threading.Event()))
    if src.stats.finished:
        # Finished means read to its end: never a silently short read of a damaged file.
        if src.frame_count and src.stats.frames_read < 0.98 * src.frame_count - 1:
            return "short-but-finished"
        return "read"
    assert src.stats.error, "neither finished nor an error"
    return "error" if n or src.stats.frames_read else "refused"


def main(folder: str) -> None:
    counts: dict[str, int] = {}
    slowest = 0.0
    for path in sorted(Path(folder).iterdir()):
        result: list[str] = []
        t = threading.Thread(target=lambda p=path, out=result: out.append(read_one(p)), daemon=True)
        started = time.monotonic()
        t.start()
        t.join(PER_VIDEO_S)
        slowest = max(slowest, time.monotonic() - started)
        outcome = result[0] if result else ("hang" if t.is_alive() else "exception")
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome in ("hang", "exception", "short-but-finished"):
            print(f"{outcome}: {path.name}", file=sys.stderr, flush=True)
            if outcome == "hang":
                break
    print(json.dumps({"counts": counts, "slowest_s": round(slowest, 2)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
