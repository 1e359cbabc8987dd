"""dlib's MMOD pre/post-processing rules, checked on small inputs."""

from __future__ import annotations

import itertools

import dlib
import numpy as np
import pytest

from izde.vision import mmod_pyramid as mp


def test_round_half_away_from_zero() -> None:
    assert [mp._round(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, 2.49)] == [1, 2, 3, -1, -2, 2]


def test_nms_uses_bounding_box_of_both_not_union() -> None:
    a = (0, 0, 99, 99)
    near = (20, 20, 119, 119)  # 6400 / bounding box 14400 = 0.44: suppressed
    # 5184 / union 14816 = 0.35 would be suppressed by IoU, but 5184 / bounding box 16384 = 0.32 is not
    diagonal = (28, 28, 127, 127)
    far = (300, 300, 399, 399)
    kept, conf = mp.nms([a, near, diagonal, far], [4.0, 3.0, 2.0, 1.0], 0.33827613511)
    assert kept == [a, diagonal, far]
    assert conf == [4.0, 2.0, 1.0]


def test_tile_layout_levels_and_no_overlap() -> None:
    layout = mp.tile_layout(360, 640)
    sizes = [(r[3] - r[1] + 1, r[2] - r[0] + 1) for r in layout.rects]
    assert sizes[0] == (360, 640)
    for (h0, w0), (h1, w1) in itertools.pairwise(sizes):
        assert (h1, w1) == (int(h0 * 5 / 6), int(w0 * 5 / 6))
    assert layout.rects[0][:2] == (11, 11) and layout.width == 640 + 22
    for i, a in enumerate(layout.rects):
        assert a[0] >= 0 and a[2] < layout.width and a[1] >= 0 and a[3] < layout.height
        for b in layout.rects[i + 1 :]:
            assert not mp._intersects(a, b)


@pytest.mark.parametrize("shape", [(37, 53), (61, 80), (120, 97)])
def test_pyramid_up_matches_dlib_resize(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    ref = dlib.resize_image(img, 2 * shape[0] + 1, 2 * shape[1] + 2)
    np.testing.assert_array_equal(mp.pyramid_up(img), ref)


def test_resize_planes_corners_align() -> None:
    src = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    out = mp.resize_planes(src, 5, 7)
    assert out[0, 0, 0] == 0 and out[0, -1, -1] == 11 and out[0, 0, -1] == 3 and out[0, -1, 0] == 8
    assert out[0, 2, 3] == pytest.approx(5.5)


def _dlib_resize_bilinear(src: np.ndarray, n_out: int, m_out: int) -> np.ndarray:
    """dlib's cpu::resize_bilinear, pixel by pixel, in float32 as dlib computes it."""
    f = np.float32
    _, n_in, m_in = src.shape
    y_scale = f(n_in - 1) / f(max(n_out - 1, 1))
    x_scale = f(m_in - 1) / f(max(m_out - 1, 1))
    out = np.zeros((src.shape[0], n_out, m_out), np.float32)
    for k in range(src.shape[0]):
        for r in range(n_out):
            y = f(r) * y_scale
            top = int(np.floor(y))
            bottom = min(top + 1, n_in - 1)
            tb = f(y - f(top))
            for c in range(m_out):
                x = f(c) * x_scale
                left = int(np.floor(x))
                right = min(left + 1, m_in - 1)
                lr = f(x - f(left))
                tl, tr, bl, br = src[k, top, left], src[k, top, right], src[k, bottom, left], src[k, bottom, right]
                out[k, r, c] = (f(1) - tb) * ((f(1) - lr) * tl + lr * tr) + tb * ((f(1) - lr) * bl + lr * br)
    return out


@pytest.mark.parametrize(("n_in", "m_in"), [(36, 64), (25, 53), (7, 11)])
def test_resize_planes_is_dlibs_float32_arithmetic(n_in: int, m_in: int) -> None:
    src = np.random.default_rng(n_in).normal(0, 0.3, (3, n_in, m_in)).astype(np.float32)
    n_out, m_out = int(n_in * 5 / 6), int(m_in * 5 / 6)
    np.testing.assert_array_equal(mp.resize_planes(src, n_out, m_out), _dlib_resize_bilinear(src, n_out, m_out))
