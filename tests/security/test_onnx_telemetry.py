"""ONNX Runtime's telemetry is switched off before izde makes any inference session."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from izde.vision.onnx_backend import make_session


def test_sessions_are_made_with_telemetry_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    calls: list[str] = []
    real = ort.disable_telemetry_events

    def spy() -> None:
        calls.append("off")
        real()

    monkeypatch.setattr(ort, "disable_telemetry_events", spy)
    session = make_session(path, "cpu")
    assert calls == ["off"]
    assert session.get_inputs()[0].name == "x"
