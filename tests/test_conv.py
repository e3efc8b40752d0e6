"""Tests for bplib.conv: convolution and max pooling, loop and vectorized versions."""

from __future__ import annotations

import numpy as np
import pytest

from bplib.conv import (
    conv_backward,
    conv_backward_fast,
    conv_backward_naive,
    conv_forward,
    conv_forward_fast,
    conv_forward_naive,
    conv_output_size,
    max_pool_backward,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward,
    max_pool_forward_fast,
    max_pool_forward_naive,
)
from bplib.gradcheck import GradientCheckError, assert_close, check_layer

CONV_PAIRS = [
    pytest.param(conv_forward_naive, conv_backward_naive, id="naive"),
    pytest.param(conv_forward, conv_backward, id="fast"),
]
POOL_PAIRS = [
    pytest.param(max_pool_forward_naive, max_pool_backward_naive, id="naive"),
    pytest.param(max_pool_forward, max_pool_backward, id="fast"),
]

# (x shape (N, C, H, W), w shape (F, C, HH, WW), stride, pad): odd sizes, non-square kernels,
# strides that skip pixels, padding wider than the kernel's reach, a kernel covering everything.
CONV_CASES = [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((2, 2, 7, 7), (3, 2, 3, 3), 2, 1),
    ((1, 3, 6, 5), (2, 3, 2, 3), 2, 0),
    ((3, 1, 4, 4), (2, 1, 2, 2), 2, 0),
    ((2, 2, 3, 4), (2, 2, 3, 2), 1, 2),
    ((2, 2, 4, 4), (3, 2, 4, 4), 1, 0),
    ((1, 2, 5, 5), (2, 2, 3, 3), 3, 2),
]


def conv_inputs(x_shape, w_shape, stride, pad, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    return x, w, b, {"stride": stride, "pad": pad}


def tie_free(shape, seed):
    """Distinct values 0.1 apart, shuffled: no window has a tie within a finite-difference step."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


# ---------------------------------------------------------------- convolution forward


# x[r, c] = 4r + c and w = [[1, 2], [3, 4]], so a window at (i, j) sums to
# (4i + j) + 2(4i + j + 1) + 3(4i + j + 4) + 4(4i + j + 5) = 40i + 10j + 34.
HAND_X = np.arange(16.0).reshape(1, 1, 4, 4)
HAND_W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward])
def test_does_conv_forward_match_a_hand_computed_4x4_case(forward):
    out, _ = forward(HAND_X, HAND_W, np.array([0.5]), {"stride": 1, "pad": 0})
    expected = np.array([[34.0, 44.0, 54.0], [74.0, 84.0, 94.0], [114.0, 124.0, 134.0]]) + 0.5
    assert_close(out, expected[None, None])


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward])
def test_does_stride_two_keep_every_other_window(forward):
    out, _ = forward(HAND_X, HAND_W, np.zeros(1), {"stride": 2, "pad": 0})
    assert_close(out, np.array([[[[34.0, 54.0], [114.0, 134.0]]]]))


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward])
def test_does_zero_padding_match_a_hand_computed_case(forward):
    # pad 1, stride 2: windows start at padded rows/cols 0, 2, 4, i.e. x rows/cols -1..0, 1..2,
    # 3..4; e.g. the corner only sees w[1, 1] * x[0, 0] = 4 * 0, the centre 5 + 12 + 27 + 40.
    out, _ = forward(HAND_X, HAND_W, np.zeros(1), {"stride": 2, "pad": 1})
    expected = np.array([[0.0, 11.0, 9.0], [40.0, 84.0, 40.0], [24.0, 41.0, 15.0]])
    assert_close(out, expected[None, None])


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward])
def test_does_a_1x1_kernel_mix_channels_per_pixel(forward):
    x = np.stack([np.ones((2, 2)), np.arange(4.0).reshape(2, 2)])[None]  # (1, 2, 2, 2)
    w = np.array([[1.0, 10.0], [-1.0, 0.0]]).reshape(2, 2, 1, 1)  # filter 0: c0 + 10 c1
    out, _ = forward(x, w, np.array([0.0, 3.0]), {"stride": 1, "pad": 0})
    expected = np.array([[[1.0, 11.0], [21.0, 31.0]], [[2.0, 2.0], [2.0, 2.0]]])
    assert_close(out, expected[None])


def test_does_output_size_follow_the_formula():
    assert conv_output_size(32, 3, 1, 1) == 32
    assert conv_output_size(7, 3, 2, 1) == 4
    assert conv_output_size(5, 5, 1, 0) == 1


# ---------------------------------------------------------------- convolution backward


@pytest.mark.parametrize("forward, backward", CONV_PAIRS)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_does_conv_backward_match_numerical_gradient(forward, backward, x_shape, w_shape, stride,
                                                     pad, seed):
    inputs = conv_inputs(x_shape, w_shape, stride, pad, seed)
    errors = check_layer(forward, backward, inputs, seed=seed + 10)
    assert set(errors) == {"dx", "dw", "db"}


@pytest.mark.parametrize("forward, backward", CONV_PAIRS)
def test_does_a_zero_upstream_gradient_give_zero_conv_gradients(forward, backward):
    x, w, b, param = conv_inputs((2, 2, 5, 5), (3, 2, 3, 3), 2, 1, 0)
    out, cache = forward(x, w, b, param)
    for grad, like in zip(backward(np.zeros_like(out), cache), (x, w, b), strict=True):
        assert grad.shape == like.shape
        assert not np.any(grad)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_do_naive_and_fast_conv_agree_to_1e_10(x_shape, w_shape, stride, pad):
    x, w, b, param = conv_inputs(x_shape, w_shape, stride, pad, 3)
    out_naive, cache_naive = conv_forward_naive(x, w, b, param)
    out_fast, cache_fast = conv_forward(x, w, b, param)
    assert_close(out_fast, out_naive, "out", rtol=0, atol=1e-10)
    dout = np.random.default_rng(4).standard_normal(out_naive.shape)
    grads_naive = conv_backward_naive(dout, cache_naive)
    grads_fast = conv_backward(dout, cache_fast)
    for name, fast, naive in zip(("dx", "dw", "db"), grads_fast, grads_naive, strict=True):
        assert_close(fast, naive, name, rtol=0, atol=1e-10)


def test_are_the_fast_aliases_the_vectorized_functions():
    assert conv_forward_fast is conv_forward and conv_backward_fast is conv_backward
    assert max_pool_forward_fast is max_pool_forward
    assert max_pool_backward_fast is max_pool_backward


@pytest.mark.parametrize("forward, backward", CONV_PAIRS)
def test_does_conv_leave_its_inputs_untouched(forward, backward):
    x, w, b, param = conv_inputs((2, 2, 4, 4), (2, 2, 3, 3), 1, 1, 0)
    saved = [x.copy(), w.copy(), b.copy(), dict(param)]
    out, cache = forward(x, w, b, param)
    dout = np.ones_like(out)
    backward(dout, cache)
    for now, before in zip((x, w, b), saved[:3], strict=True):
        np.testing.assert_array_equal(now, before)
    assert param == saved[3]
    np.testing.assert_array_equal(dout, np.ones_like(out))


def test_does_float32_input_stay_float32():
    x, w, b, param = conv_inputs((1, 2, 4, 4), (2, 2, 3, 3), 1, 1, 0)
    out, cache = conv_forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32),
                              param)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv_backward(np.ones_like(out), cache))


# ---------------------------------------------------------------- negative controls


def flipped_kernel_backward(dout, cache):
    """Wrong: dx uses the kernel rotated by 180 degrees (the true convolution's kernel)."""
    x, w, stride, pad = cache
    dx, _, _ = conv_backward_naive(dout, (x, w[:, :, ::-1, ::-1], stride, pad))
    _, dw, db = conv_backward_naive(dout, cache)
    return dx, dw, db


def dw_per_example_backward(dout, cache):
    """Wrong: dw keeps one gradient per example, (N, F, C, HH, WW), instead of their sum."""
    x, w, stride, pad = cache
    dx, _, db = conv_backward_naive(dout, cache)
    dws = [conv_backward_naive(dout[n : n + 1], (x[n : n + 1], w, stride, pad))[1]
           for n in range(x.shape[0])]
    return dx, np.stack(dws), db


def db_from_first_example_backward(dout, cache):
    """Wrong: db sums dout over space but only for example 0."""
    dx, dw, _ = conv_backward_naive(dout, cache)
    return dx, dw, dout[0].sum(axis=(1, 2))


def ignores_dout_backward(dout, cache):
    """Wrong: uses an all-ones upstream gradient."""
    return conv_backward_naive(np.ones_like(dout), cache)


@pytest.mark.parametrize(
    "wrong_backward, hint",
    [
        (flipped_kernel_backward, "Gradient check failed for dx"),
        (dw_per_example_backward, "sum it over the N examples"),
        (db_from_first_example_backward, "Gradient check failed for db"),
        (ignores_dout_backward, "ignores the upstream gradient"),
    ],
)
def test_does_a_wrong_conv_backward_fail_the_check(wrong_backward, hint):
    inputs = conv_inputs((2, 2, 5, 5), (3, 2, 3, 3), 1, 1, 0)
    with pytest.raises(GradientCheckError, match=hint):
        check_layer(conv_forward_naive, wrong_backward, inputs)


# ---------------------------------------------------------------- conv input validation


def test_does_a_channel_mismatch_name_both_shapes():
    x, w, b, param = conv_inputs((2, 3, 5, 5), (4, 2, 3, 3), 1, 1, 0)
    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\).*C=3.*\(4, 2, 3, 3\).*C=2"):
        conv_forward(x, w, b, param)


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward])
def test_are_windows_that_do_not_tile_rejected(forward):
    x, w, b, _ = conv_inputs((1, 1, 6, 6), (1, 1, 3, 3), 1, 0, 0)
    with pytest.raises(ValueError, match=r"\(6 \+ 2\*0 - 3\) = 3 is not divisible by stride 2"):
        forward(x, w, b, {"stride": 2, "pad": 0})


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x, w, b, p: (x, w, b, {"stride": 1}), r"missing required key\(s\) \['pad'\]"),
        (lambda x, w, b, p: (x, w, b, {"stride": 0, "pad": 0}), r"stride'\] must be an integer >= 1"),
        (lambda x, w, b, p: (x, w, b, {"stride": 1, "pad": -1}), r"pad'\] must be an integer >= 0"),
        (lambda x, w, b, p: (x, w, b, {"stride": 1.5, "pad": 0}), "got 1.5"),
        (lambda x, w, b, p: (x, w, b[:2], p), r"b must have shape \(3,\)"),
        (lambda x, w, b, p: (x[0], w, b, p), r"x must be a 4-D array \(N, C, H, W\)"),
        (lambda x, w, b, p: (x, w[:, :, :, :, None], b, p), r"w must be a 4-D array"),
        (lambda x, w, b, p: (x[:, :, :2, :2], w, b, {"stride": 1, "pad": 0}), "larger than"),
        (lambda x, w, b, p: (x, None, b, p), "w is None"),
    ],
)
def test_is_bad_conv_input_rejected_with_a_clear_message(change, message):
    args = change(*conv_inputs((2, 2, 5, 5), (3, 2, 3, 3), 1, 1, 0))
    for forward in (conv_forward_naive, conv_forward):
        with pytest.raises(ValueError, match=message):
            forward(*args)


@pytest.mark.parametrize("forward, backward", CONV_PAIRS)
def test_is_a_wrongly_shaped_dout_rejected(forward, backward):
    x, w, b, param = conv_inputs((2, 2, 5, 5), (3, 2, 3, 3), 1, 1, 0)
    out, cache = forward(x, w, b, param)
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 5, 4\).*\(2, 3, 5, 5\)"):
        backward(out[..., :4], cache)


# ---------------------------------------------------------------- max pooling

POOL_X = np.array(
    [
        [1.0, 5.0, 2.0, 0.0],
        [3.0, 4.0, 8.0, 6.0],
        [9.0, 7.0, -1.0, -2.0],
        [0.5, 2.5, -4.0, -3.0],
    ]
)[None, None]
POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.mark.parametrize("forward, backward", POOL_PAIRS)
def test_does_max_pool_match_a_hand_computed_case(forward, backward):
    out, cache = forward(POOL_X, POOL_2X2)
    assert_close(out, np.array([[[[5.0, 8.0], [9.0, -1.0]]]]))
    dx = backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), cache)
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[2, 0], expected[2, 2] = 10.0, 20.0, 30.0, 40.0
    assert_close(dx, expected[None, None], "dx")


@pytest.mark.parametrize("forward, backward", POOL_PAIRS)
def test_does_a_tie_send_the_gradient_to_the_first_max_in_row_major_order(forward, backward):
    x = np.array([[0.0, 2.0, 2.0], [2.0, 2.0, 1.0], [0.0, 0.0, 0.0]])[None, None]
    out, cache = forward(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = backward(np.ones_like(out), cache)
    # windows at (0, 0) and (1, 0) pick x[0, 1] and x[1, 0]; (0, 1) picks x[0, 1]; (1, 1) x[1, 1]
    expected = np.array([[0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert_close(dx, expected[None, None], "dx")


POOL_CASES = [
    ((2, 3, 4, 4), 2, 2, 2),
    ((2, 2, 5, 5), 3, 3, 1),
    ((1, 2, 7, 5), 3, 1, 2),
    ((3, 1, 6, 6), 2, 3, 1),
]


@pytest.mark.parametrize("forward, backward", POOL_PAIRS)
@pytest.mark.parametrize("x_shape, ph, pw, stride", POOL_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_does_max_pool_backward_match_numerical_gradient(forward, backward, x_shape, ph, pw,
                                                         stride, seed):
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    errors = check_layer(forward, backward, [tie_free(x_shape, seed), param], seed=seed)
    assert set(errors) == {"dx"}


@pytest.mark.parametrize("x_shape, ph, pw, stride", POOL_CASES)
def test_do_naive_and_fast_max_pool_agree(x_shape, ph, pw, stride):
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    # a coarse grid makes ties frequent, so the tie rule is compared too
    x = np.random.default_rng(5).integers(0, 3, size=x_shape).astype(np.float64)
    out_naive, cache_naive = max_pool_forward_naive(x, param)
    out_fast, cache_fast = max_pool_forward(x, param)
    assert_close(out_fast, out_naive, rtol=0, atol=0)
    dout = np.random.default_rng(6).standard_normal(out_naive.shape)
    assert_close(max_pool_backward(dout, cache_fast), max_pool_backward_naive(dout, cache_naive),
                 "dx", rtol=0, atol=1e-12)


def assigning_pool_backward(dout, cache):
    """Wrong: overlapping windows overwrite (=) instead of adding (+=) their gradients."""
    x, ph, pw, stride = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            region = dx[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw]
            region[mask] = np.broadcast_to(dout[:, :, i : i + 1, j : j + 1], mask.shape)[mask]
    return dx


def average_pool_backward(dout, cache):
    """Wrong: spreads each gradient evenly over its window (that is average pooling)."""
    x, ph, pw, stride = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw] += (
                dout[:, :, i : i + 1, j : j + 1] / (ph * pw)
            )
    return dx


@pytest.mark.parametrize("wrong_backward", [assigning_pool_backward, average_pool_backward])
def test_does_a_wrong_max_pool_backward_fail_the_check(wrong_backward):
    param = {"pool_height": 3, "pool_width": 3, "stride": 1}
    with pytest.raises(GradientCheckError, match="Gradient check failed for dx"):
        check_layer(max_pool_forward_naive, wrong_backward, [tie_free((2, 2, 5, 5), 0), param])


@pytest.mark.parametrize("forward", [max_pool_forward_naive, max_pool_forward])
@pytest.mark.parametrize(
    "param, message",
    [
        ({"pool_height": 2, "pool_width": 2, "stride": 2}, "not divisible by stride 2"),
        ({"pool_height": 2, "pool_width": 2}, r"missing required key\(s\) \['stride'\]"),
        ({"pool_height": 6, "pool_width": 2, "stride": 1}, "larger than"),
        ({"pool_height": 0, "pool_width": 2, "stride": 1}, "must be an integer >= 1"),
    ],
)
def test_is_bad_pool_input_rejected_with_a_clear_message(forward, param, message):
    with pytest.raises(ValueError, match=message):
        forward(np.zeros((1, 1, 5, 5)), param)


@pytest.mark.parametrize("forward, backward", POOL_PAIRS)
def test_does_a_zero_upstream_gradient_give_zero_pool_gradient(forward, backward):
    out, cache = forward(tie_free((2, 2, 4, 4), 0), POOL_2X2)
    dx = backward(np.zeros_like(out), cache)
    assert dx.shape == (2, 2, 4, 4)
    assert not np.any(dx)
