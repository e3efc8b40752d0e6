"""Tests for bplib/losses.py: values by hand, gradients against centered differences, stability
for huge logits, input validation, and negative controls that the gradient checker must catch.

A loss ends the graph, so there is no upstream gradient: each gradient is checked as the
numerical gradient of the scalar loss itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bplib.gradcheck import GradientCheckError, check_gradient, numerical_gradient
from bplib.losses import (
    bce_with_logits_loss,
    log_softmax,
    mse_loss,
    softmax,
    softmax_cross_entropy_loss,
    softmax_loss,
    weighted_mse_loss,
)

SHAPES = [(1,), (5,), (3, 4), (2, 3, 2)]
SEEDS = [0, 1, 2]
CLASS_SHAPES = [(1, 2), (4, 3), (7, 10)]


def _numeric(loss_fn, x, *rest):
    """Numerical gradient of the scalar ``loss_fn(x, *rest)[0]`` with respect to ``x``."""
    return numerical_gradient(lambda v: loss_fn(v, *rest)[0], x.copy())


# ----------------------------------------------------------------------------- hand values


def test_is_softmax_cross_entropy_of_1_2_3_with_label_2_as_worked_out_by_hand():
    # softmax([1, 2, 3])[2] = e^3 / (e + e^2 + e^3) = 1 / (1 + e^-1 + e^-2)
    #   = 1 / (1 + 0.367879441 + 0.135335283) = 1 / 1.503214724 = 0.665240956
    # loss = -log(0.665240956) = log(1.503214724) = 0.407605964
    # dlogits = softmax - onehot(2) = [0.090030573, 0.244728471, 0.665240956 - 1], N = 1
    loss, dlogits = softmax_cross_entropy_loss(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    assert loss == pytest.approx(0.4076059644443804, rel=1e-12)
    np.testing.assert_allclose(
        dlogits, [[0.09003057317038046, 0.24472847105479767, -0.33475904422517810]], rtol=1e-12
    )


def test_is_the_softmax_loss_of_equal_logits_log_c():
    # Every class gets probability 1/C, so each row's loss is -log(1/C) = log C; the sanity check
    # for a freshly initialised classifier.
    for n, c in [(1, 2), (5, 10), (3, 7)]:
        loss, dlogits = softmax_loss(np.full((n, c), 0.3), np.arange(n) % c)
        assert loss == pytest.approx(math.log(c), rel=1e-12)
        expected = np.full((n, c), 1.0 / c)
        expected[np.arange(n), np.arange(n) % c] -= 1.0
        np.testing.assert_allclose(dlogits, expected / n, rtol=1e-12, atol=1e-15)


def test_is_softmax_loss_the_cs231n_name_of_softmax_cross_entropy_loss():
    assert softmax_loss is softmax_cross_entropy_loss


def test_is_bce_of_a_zero_logit_log_2_for_any_target():
    # sigmoid(0) = 1/2, so -(y log 1/2 + (1 - y) log 1/2) = log 2 whatever y is;
    # gradient (1/2 - y) / size.
    y = np.array([0.0, 1.0, 0.25, 0.5])
    loss, dlogits = bce_with_logits_loss(np.zeros(4), y)
    assert loss == pytest.approx(math.log(2), rel=1e-12)
    np.testing.assert_allclose(dlogits, (0.5 - y) / 4, rtol=1e-12)


def test_does_bce_match_the_textbook_formula_for_moderate_logits():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 3)) * 3
    y = rng.uniform(size=(4, 3))
    s = 1 / (1 + np.exp(-z))
    textbook = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    loss, dlogits = bce_with_logits_loss(z, y)
    assert loss == pytest.approx(textbook, rel=1e-12)
    np.testing.assert_allclose(dlogits, (s - y) / z.size, rtol=1e-10)


def test_is_mse_the_mean_over_all_elements_without_a_half():
    # pred - target = [[1, 2], [0, -3]]: squares 1, 4, 0, 9; mean over the 4 elements = 14/4.
    # gradient 2 * diff / 4 = [[0.5, 1], [0, -1.5]].
    loss, dpred = mse_loss(np.array([[1.0, 2.0], [5.0, -1.0]]), np.array([[0.0, 0.0], [5.0, 2.0]]))
    assert loss == pytest.approx(3.5, rel=1e-15)
    np.testing.assert_allclose(dpred, [[0.5, 1.0], [0.0, -1.5]], rtol=1e-15)


def test_does_weighted_mse_with_unit_weights_equal_mse():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((2, 4, 3))
    for weights in (1.0, np.ones(3), np.ones((4, 1)), np.ones((4, 3))):
        loss, dpred = weighted_mse_loss(pred, target, weights)
        ref_loss, ref_dpred = mse_loss(pred, target)
        assert loss == pytest.approx(ref_loss, rel=1e-14)
        np.testing.assert_allclose(dpred, ref_dpred, rtol=1e-14)


def test_is_weighted_mse_worked_out_by_hand():
    # diff = [[1, 2], [3, 4]], per-column weights [2, 0]: weighted squares [[2, 0], [18, 0]];
    # mean over the 4 elements of pred = 20 / 4 = 5 (not renormalised by the weights' sum).
    # gradient 2 * w * diff / 4 = [[1, 0], [3, 0]].
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    loss, dpred = weighted_mse_loss(pred, np.zeros((2, 2)), np.array([2.0, 0.0]))
    assert loss == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(dpred, [[1.0, 0.0], [3.0, 0.0]], rtol=1e-15)


def test_are_softmax_rows_probabilities_and_log_softmax_their_log():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 4)) * 3
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    assert np.all(p > 0)
    np.testing.assert_allclose(np.log(p), log_softmax(z), rtol=1e-12, atol=1e-14)
    # A 1-D input is one row of class scores.
    np.testing.assert_allclose(softmax(z[0]), p[0], rtol=1e-14)
    # softmax([0, log 3]) = [1/4, 3/4]
    np.testing.assert_allclose(softmax(np.array([0.0, math.log(3.0)])), [0.25, 0.75], rtol=1e-14)


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_does_mse_gradient_match_numerical_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal((2, *shape))
    _, dpred = mse_loss(pred, target)
    check_gradient(dpred, _numeric(mse_loss, pred, target), "dpred")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_does_weighted_mse_gradient_match_numerical_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal((2, *shape))
    for weights in (rng.uniform(0.1, 2.0, size=shape), rng.uniform(0.1, 2.0, size=shape[-1:])):
        _, dpred = weighted_mse_loss(pred, target, weights)
        check_gradient(dpred, _numeric(weighted_mse_loss, pred, target, weights), "dpred")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_does_bce_gradient_match_numerical_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape) * 2
    # Hard 0/1 labels and soft targets alike.
    for target in (rng.integers(0, 2, size=shape).astype(float), rng.uniform(size=shape)):
        _, dlogits = bce_with_logits_loss(logits, target)
        check_gradient(dlogits, _numeric(bce_with_logits_loss, logits, target), "dlogits")


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_does_softmax_cross_entropy_gradient_match_numerical_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    n, c = shape
    logits = rng.standard_normal(shape)
    y = rng.integers(0, c, size=n)
    _, dlogits = softmax_cross_entropy_loss(logits, y)
    numeric = _numeric(softmax_cross_entropy_loss, logits, y)
    check_gradient(dlogits, numeric, "dlogits", batch_size=n)


# ----------------------------------------------------------------------------- large logits


def test_is_softmax_loss_finite_and_shift_invariant_for_logits_like_1e4():
    rng = np.random.default_rng(0)
    small = rng.standard_normal((4, 5))
    y = np.array([0, 4, 2, 2])
    ref_loss, ref_dlogits = softmax_loss(small, y)
    # Any overflow or 0/0 inside the loss raises here (underflow to 0 is harmless and allowed).
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for shift in (1e4, -1e4):
            loss, dlogits = softmax_loss(small + shift, y)
            assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
            # Adding a constant to every logit of a row changes nothing.
            assert loss == pytest.approx(ref_loss, rel=1e-9)
            np.testing.assert_allclose(dlogits, ref_dlogits, rtol=1e-8, atol=1e-12)
        # A spread of 2e4 within a row: the right class 2e4 below the best costs exactly 2e4.
        loss, dlogits = softmax_loss(np.array([[1e4, 0.0, -1e4]]), np.array([2]))
        assert loss == pytest.approx(2e4, rel=1e-15)
        np.testing.assert_allclose(dlogits, [[1.0, 0.0, -1.0]], atol=1e-15)
        assert softmax_loss(np.array([[1e4, 0.0, -1e4]]), np.array([0]))[0] == 0.0


def test_is_bce_finite_for_logits_like_1e4():
    z = np.array([1e4, 1e4, -1e4, -1e4])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dlogits = bce_with_logits_loss(z, y)
    # Confident and right costs 0; confident and wrong costs |z|: (0 + 1e4 + 0 + 1e4) / 4.
    assert loss == pytest.approx(5e3, rel=1e-15)
    # sigmoid saturates to exactly 1 or 0: gradient (s - y) / 4 = [0, 1/4, 0, -1/4].
    np.testing.assert_allclose(dlogits, [0.0, 0.25, 0.0, -0.25], atol=1e-15)


def test_do_softmax_and_log_softmax_survive_huge_logits():
    z = np.array([[1e4, 1e4 - 1.0], [-1e4, -1e4 - 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        p, logp = softmax(z), log_softmax(z)
    expected = softmax(np.array([0.0, -1.0]))  # both rows are [0, -1] shifted
    np.testing.assert_allclose(p, [expected, expected], rtol=1e-12)
    np.testing.assert_allclose(logp, np.log([expected, expected]), rtol=1e-12)


def test_does_a_softmax_without_max_shift_break_on_large_logits():
    # Negative control for the stability test above: the naive formula overflows at 1e4, which is
    # exactly the mistake the large-logit tests are there to catch.
    z = np.array([[1e4, 0.0, -1e4]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert not np.all(np.isfinite(naive))
    assert np.all(np.isfinite(softmax(z)))


# ----------------------------------------------------------------------------- validation


def test_are_labels_out_of_range_rejected_with_the_label_and_the_range():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"label 4.*0\.\.3"):
        softmax_loss(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"label -1.*0\.\.3"):
        softmax_loss(logits, np.array([0, -1, 1]))


def test_are_float_labels_rejected():
    with pytest.raises(ValueError, match="integer class labels"):
        softmax_loss(np.zeros((2, 3)), np.array([0.5, 1.0]))


def test_is_a_label_vector_of_the_wrong_length_rejected():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        softmax_loss(np.zeros((3, 4)), np.array([0, 1]))


def test_must_softmax_loss_logits_be_two_dimensional():
    with pytest.raises(ValueError, match=r"2-D.*\(N, C\)"):
        softmax_loss(np.zeros(4), np.array([1]))


@pytest.mark.parametrize("loss_fn", [mse_loss, bce_with_logits_loss])
def test_are_mismatched_shapes_rejected_naming_both(loss_fn):
    with pytest.raises(ValueError, match=r"same shape.*\(3, 2\).*\(2, 3\)"):
        loss_fn(np.zeros((3, 2)), np.zeros((2, 3)))


@pytest.mark.parametrize("loss_fn", [mse_loss, bce_with_logits_loss])
def test_is_nan_rejected_with_its_position(loss_fn):
    bad = np.array([0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match=r"nan at index \(1,\)"):
        loss_fn(bad, np.zeros(3))
    with pytest.raises(ValueError, match=r"target contains nan"):
        loss_fn(np.zeros(3), bad)
    with pytest.raises(ValueError, match=r"logits contains nan"):
        softmax_loss(np.array([[0.0, np.nan]]), np.array([0]))


def test_are_bce_targets_outside_0_1_rejected():
    with pytest.raises(ValueError, match=r"target contains 2\.0 at index \(1,\).*\[0, 1\]"):
        bce_with_logits_loss(np.zeros(3), np.array([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bce_with_logits_loss(np.zeros(2), np.array([-0.5, 1.0]))


def test_are_bad_weights_rejected():
    pred = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"weights contains -1\.0.*>= 0"):
        weighted_mse_loss(pred, pred, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(3, 4\) cannot be broadcast.*\(4, 3\)"):
        weighted_mse_loss(pred, pred, np.ones((3, 4)))
    # Broadcastable but larger than pred would silently change what the mean is over.
    with pytest.raises(ValueError, match="cannot be broadcast"):
        weighted_mse_loss(pred, pred, np.ones((2, 4, 3)))


def test_is_an_empty_prediction_rejected():
    with pytest.raises(ValueError, match="empty"):
        mse_loss(np.zeros((0, 3)), np.zeros((0, 3)))


def test_do_losses_leave_their_inputs_unchanged():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((2, 4, 3))
    weights = rng.uniform(size=3)
    prob = rng.uniform(size=(4, 3))
    y = np.array([0, 2, 1, 1])
    saved = [a.copy() for a in (pred, target, weights, prob, y)]
    mse_loss(pred, target)
    weighted_mse_loss(pred, target, weights)
    bce_with_logits_loss(pred, prob)
    softmax_loss(pred, y)
    softmax(pred)
    log_softmax(pred)
    for before, after in zip(saved, (pred, target, weights, prob, y), strict=True):
        np.testing.assert_array_equal(before, after)


def test_do_losses_accept_lists_and_return_a_python_float():
    loss, dpred = mse_loss([1.0, 2.0], [1.0, 0.0])
    assert type(loss) is float and loss == 2.0
    np.testing.assert_allclose(dpred, [0.0, 2.0])
    assert type(softmax_loss([[0.0, 0.0]], [1])[0]) is float


# ----------------------------------------------------------------------------- negative controls


def test_does_a_softmax_gradient_missing_1_over_n_fail_with_the_batch_size_hint():
    rng = np.random.default_rng(0)
    n = 5
    logits = rng.standard_normal((n, 4))
    y = rng.integers(0, 4, size=n)
    _, dlogits = softmax_cross_entropy_loss(logits, y)
    numeric = _numeric(softmax_cross_entropy_loss, logits, y)
    with pytest.raises(GradientCheckError, match="batch size"):
        check_gradient(dlogits * n, numeric, "dlogits", batch_size=n)


def test_does_an_mse_gradient_missing_the_factor_2_fail_with_the_constant_factor_hint():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((2, 4, 3))
    _, dpred = mse_loss(pred, target)
    with pytest.raises(GradientCheckError, match="constant factor"):
        check_gradient(dpred / 2, _numeric(mse_loss, pred, target), "dpred")


def test_does_a_bce_gradient_with_the_wrong_sign_fail_with_the_sign_hint():
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal(6), rng.integers(0, 2, size=6).astype(float)
    _, dlogits = bce_with_logits_loss(z, y)
    numeric = _numeric(bce_with_logits_loss, z, y)
    check_gradient(dlogits, numeric, "dlogits")  # the reference passes ...
    with pytest.raises(GradientCheckError, match="wrong sign"):
        # ... and (y - sigmoid(z)) / size, the classic flipped derivative, does not.
        check_gradient(-dlogits, numeric, "dlogits")
