"""Video files made from the shared clips for tests: remuxed, never re-encoded, written to a test's tmp dir."""

from __future__ import annotations

from pathlib import Path

import av


def faststart_copy(src: Path, dst: Path) -> Path:
    """``src``'s video stream with the index (moov) before the data, as streaming encoders write it.

    The shared clips keep their index at the end, so cutting one in half loses the index and the file is
    refused when opened; a cut fast-start file still opens, and its reader runs out of frames part way."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "faststart"}) as out:
        stream_in = inp.streams.video[0]
        stream_out = out.add_stream_from_template(stream_in)
        for packet in inp.demux(stream_in):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = stream_out
            out.mux(packet)
    return dst


def truncated_copy(src: Path, dst: Path, keep: float = 0.5) -> Path:
    """A fast-start copy of ``src`` cut after ``keep`` of its bytes: the header survives, the tail is gone."""
    full = faststart_copy(src, dst.with_name(dst.stem + "-full.mp4"))
    data = full.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst
