"""The .dat parser: real files parse into the documented shapes; malformed files fail clearly."""

from __future__ import annotations

from pathlib import Path

import face_recognition_models as frm
import numpy as np
import pytest

from izde.vision.dlibfile import (
    AddPrev,
    Affine,
    BatchNorm,
    Conv,
    DlibFormatError,
    Fc,
    Pool,
    _Reader,
    load_network,
    parse_network,
)

RESNET = Path(frm.face_recognition_model_location())
MMOD = Path(frm.cnn_face_detector_model_location())


def test_packed_integers_and_floats() -> None:
    r = _Reader(bytes([0x01, 0x00, 0x81, 0x04, 0x02, 0x2C, 0x01, 0x01, 0x10, 0x81, 0x05]), "t")
    assert r.read_int() == 0
    assert r.read_int() == -4
    assert r.read_int() == 300
    assert r.read_float() == 0.5  # 16 * 2**-5


def test_resnet_structure() -> None:
    net = load_network(RESNET)
    assert net.loss == "loss_metric_2"
    assert net.input.size == (150, 150)
    assert net.input.mean == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    kinds = [type(layer) for layer in net.layers]
    assert kinds.count(Conv) == 29 and kinds.count(Affine) == 29 and kinds.count(AddPrev) == 14
    first = net.layers[0]
    assert isinstance(first, Conv)
    assert first.weights.shape == (32, 3, 7, 7) and first.stride == (2, 2) and first.padding == (0, 0)
    fc = net.layers[-1]
    assert isinstance(fc, Fc) and fc.weights.shape == (256, 128) and fc.bias is None
    last_pool = net.layers[-2]
    assert isinstance(last_pool, Pool) and last_pool.size == (0, 0)
    n_params = sum(
        a.size
        for layer in net.layers
        for a in (getattr(layer, n, None) for n in ("weights", "bias", "gamma", "beta"))
        if a is not None
    )
    assert n_params == 5_614_592


def test_mmod_structure_and_bn_folding() -> None:
    net = load_network(MMOD)
    assert net.loss == "loss_mmod_"
    assert net.input.name == "input_rgb_image_pyramid"
    assert (net.input.pyramid_padding, net.input.pyramid_outer_padding) == (10, 11)
    assert net.loss_options["nms_iou_thresh"] == pytest.approx(0.33827613511)
    convs = [layer for layer in net.layers if isinstance(layer, Conv)]
    assert [c.weights.shape[0] for c in convs] == [16, 32, 32, 45, 45, 45, 1]
    assert convs[-1].weights.shape == (1, 45, 9, 9) and convs[-1].padding == (4, 4)
    bn = next(layer for layer in net.layers if isinstance(layer, BatchNorm))
    assert bn.eps == pytest.approx(1e-4)
    folded = bn.folded()
    expect = bn.gamma / np.sqrt(bn.running_var + 1e-4)
    np.testing.assert_allclose(folded.gamma, expect, rtol=1e-6)
    np.testing.assert_allclose(folded.beta, bn.beta - expect * bn.running_mean, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[: len(d) // 2],  # truncated
        lambda d: d + b"\x01\x00",  # trailing bytes
        lambda d: b"\x01\x07" + d[2:],  # wrong network version
        lambda d: d[:2] + b"\x01\x05hello" + d[2:],  # unknown loss layer
        lambda d: b"",  # empty
        lambda d: bytes(range(256)) * 4,  # garbage
    ],
)
def test_malformed_files_raise_clear_errors(mangle: object) -> None:
    data = MMOD.read_bytes()
    with pytest.raises(DlibFormatError, match="not a dlib network file"):
        parse_network(mangle(data), "mangled.dat")  # type: ignore[operator]


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(DlibFormatError, match="cannot read"):
        load_network(tmp_path / "missing.dat")
