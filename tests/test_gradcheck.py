"""Does the gradient checker accept right gradients, reject wrong ones, and say why?"""

from __future__ import annotations

import numpy as np
import pytest

from bplib.gradcheck import (
    CheckError,
    GradientCheckError,
    PrecisionWarning,
    assert_close,
    centered_difference,
    check_gradient,
    check_layer,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    forward_difference,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)


# A tiny affine layer written here so the checker is tested independently of bplib.layers.
def _affine_forward(x, w, b):
    return x @ w + b, (x, w)


def _affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def _inputs(seed=0, n=4, d=3, m=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)


def test_is_rel_error_zero_for_equal_and_one_for_opposite():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    # the 1e-8 floor keeps tiny absolute differences between near-zero numbers from blowing up
    assert rel_error(np.array([1e-12]), np.array([0.0])) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


def test_does_centered_difference_beat_forward_difference():
    f, x = np.sin, 0.7
    exact = np.cos(x)
    assert abs(centered_difference(f, x, 1e-3) - exact) < 1e-6
    assert abs(forward_difference(f, x, 1e-3) - exact) > 1e-4  # O(h) truncation error


def test_does_numerical_gradient_match_analytic_and_restore_x():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(eval_numerical_gradient(lambda v: np.sum(v**3), x), grad)


def test_does_numerical_gradient_array_weight_by_dout():
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal(5), rng.standard_normal(5)
    grad = numerical_gradient_array(np.tanh, x, dout)
    np.testing.assert_allclose(grad, dout * (1 - np.tanh(x) ** 2), rtol=1e-7)
    np.testing.assert_array_equal(eval_numerical_gradient_array(np.tanh, x, dout), grad)


def test_is_a_float32_input_warned_about():
    with pytest.warns(PrecisionWarning, match="float32"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))


def test_is_an_integer_input_rejected_with_a_reason():
    with pytest.raises(ValueError, match="floating-point"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.int64))


def test_does_check_gradient_pass_a_right_gradient():
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert check_gradient(g, g + 1e-12, "dw") < 1e-7


@pytest.mark.parametrize(
    ("analytic", "hint"),
    [
        (None, "stub"),
        (np.zeros((3, 2)), "all zeros"),
        (-np.arange(1.0, 7.0).reshape(3, 2), "wrong sign"),
        (2 * np.arange(1.0, 7.0).reshape(3, 2), "constant factor: yours ≈ 2"),
        (4 * np.arange(1.0, 7.0).reshape(3, 2), "batch size N"),
        (np.arange(1.0, 7.0).reshape(3, 2) / 4, "too small, the batch size"),
        (np.arange(1.0, 7.0).reshape(3, 2).T.copy(), "transpose"),
        (np.arange(1.0, 7.0).reshape(6), r"reshape dw to \(3, 2\)"),
        (np.tile(np.arange(1.0, 7.0).reshape(3, 2) / 2, (2, 1, 1)), "sum it over the N examples"),
    ],
    ids=[
        "none",
        "zeros",
        "sign",
        "factor",
        "times-N",
        "over-N",
        "transposed",
        "flat",
        "batch-axis",
    ],
)
def test_does_check_gradient_name_the_known_mistake(analytic, hint):
    numeric = np.arange(1.0, 7.0).reshape(3, 2)
    with pytest.raises(GradientCheckError, match=hint):
        check_gradient(analytic, numeric, "dw", batch_size=4)


def test_does_a_failure_message_name_worst_entry_values_and_count():
    numeric = np.array([1.0, 2.0, 3.0, 4.0])
    analytic = numeric.copy()
    analytic[2] = 5.0
    with pytest.raises(GradientCheckError) as info:
        check_gradient(analytic, numeric, "db")
    msg = str(info.value)
    assert "1 of 4 entries are wrong" in msg
    assert "db[2]: yours = 5, numerical = 3" in msg
    assert "tolerance 1e-07" in msg
    assert "only 1 of 4" in msg


def test_is_gradient_check_error_an_assertion_error():
    assert issubclass(GradientCheckError, AssertionError)
    assert issubclass(GradientCheckError, CheckError)


def test_does_check_layer_pass_a_right_layer_and_name_the_gradients():
    errors = check_layer(_affine_forward, _affine_backward, _inputs())
    assert set(errors) == {"dx", "dw", "db"}
    assert max(errors.values()) < 1e-8


def test_does_check_layer_catch_a_transposed_dw():
    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, (x.T @ dout).T, dout.sum(axis=0)

    with pytest.raises(GradientCheckError, match="(?s)dw: wrong shape.*transpose"):
        check_layer(_affine_forward, backward, _inputs())


def test_does_check_layer_catch_db_not_summed_over_the_batch():
    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout, dout

    with pytest.raises(GradientCheckError, match="(?s)db: wrong shape.*sum it over the N examples"):
        check_layer(_affine_forward, backward, _inputs())


def test_does_check_layer_catch_a_backward_that_ignores_dout():
    def forward(x):
        return np.tanh(x), x

    def backward(dout, cache):
        return 1 - np.tanh(cache) ** 2  # forgot * dout

    with pytest.raises(GradientCheckError, match="ignores the upstream gradient"):
        check_layer(forward, backward, [np.random.default_rng(3).standard_normal((4, 3))])


def test_does_check_layer_catch_a_term_that_survives_zero_dout():
    # Right for every dout except through the extra term, which the numerical check tolerates
    # only because it is tiny; the zero-dout check exposes it.
    def forward(x):
        return 2 * x, None

    def backward(dout, cache):
        return 2 * dout + 1e-12

    with pytest.raises(GradientCheckError, match="dout = 0"):
        check_layer(forward, backward, [np.ones((2, 2))])


def test_does_check_layer_catch_a_missing_gradient_and_a_wrong_count():
    def backward_none(dout, cache):
        x, w = cache
        return dout @ w.T, None, dout.sum(axis=0)

    with pytest.raises(GradientCheckError, match="dw is None"):
        check_layer(_affine_forward, backward_none, _inputs())

    def backward_two(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout

    with pytest.raises(CheckError, match=r"return \(dx, dw, db\), got 2"):
        check_layer(_affine_forward, backward_two, _inputs())


def test_does_check_layer_pass_non_array_arguments_through_untouched():
    param = {"scale": 3.0, "calls": 0}

    def forward(x, p):
        p["calls"] += 1  # a forward that updates its parameter dict, like batch norm's running mean
        return p["scale"] * x, p["scale"]

    def backward(dout, cache):
        return cache * dout

    check_layer(forward, backward, {"x": np.ones((2, 3)), "p": param})
    assert param["calls"] == 0


def test_does_check_layer_reject_a_forward_without_cache():
    with pytest.raises(CheckError, match=r"must return \(out, cache\)"):
        check_layer(lambda x: x * 2, lambda d, c: d, [np.ones(3)])


def test_does_assert_close_explain_each_failure():
    assert_close(np.array([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(CheckError, match="out is None"):
        assert_close(None, [1.0])
    with pytest.raises(CheckError, match=r"shape \(3,\), expected \(2,\)"):
        assert_close(np.zeros(3), np.zeros(2))
    with pytest.raises(CheckError, match=r"out\[1\] is nan"):
        assert_close(np.array([1.0, np.nan]), [1.0, 2.0])
    with pytest.raises(
        CheckError, match=r"1 of 2 entries; worst out\[1\]: yours = 2.5, expected = 2"
    ):
        assert_close(np.array([1.0, 2.5]), [1.0, 2.0])


def test_does_check_gradient_recognise_a_missing_mask():
    numeric = np.array([0.0, 1.5, 0.0, -2.0])
    analytic = np.array([0.7, 1.5, -0.3, -2.0])  # the gradient passed through where it was cut off
    with pytest.raises(
        GradientCheckError, match="non-zero at 2 entries whose true gradient is exactly zero"
    ):
        check_gradient(analytic, numeric, "dx")


def test_is_dout_independent_of_inputs_drawn_with_the_same_seed():
    # A centred, whitened layer has dx = 0 when dout is an affine function of x; inputs drawn
    # with the check's own seed must not make that happen.
    def forward(x):
        xc = x - x.mean()
        return xc / np.sqrt(np.mean(xc**2)), x

    def backward(dout, x):
        xc = x - x.mean()
        s = np.sqrt(np.mean(xc**2))
        xh = xc / s
        return (dout - dout.mean() - xh * np.mean(dout * xh)) / s

    x = np.random.default_rng(0).standard_normal(6)
    assert check_layer(forward, backward, [x], seed=0)["dx"] < 1e-7


def test_is_round_off_on_a_tiny_entry_forgiven_but_a_real_error_not():
    numeric = np.array([1.56619e-06, 2.0])
    assert check_gradient(numeric + np.array([7e-13, 0.0]), numeric, "dx") == 0.0
    with pytest.raises(GradientCheckError, match=r"dx\[0\]"):
        check_gradient(numeric + np.array([1e-7, 0.0]), numeric, "dx")


def test_does_check_layer_catch_a_backward_that_is_not_linear_in_dout():
    # Matches the numerical gradient for this one dout (|dout| is dout where dout > 0) only when
    # every dout entry is positive; scaling dout by -3 exposes the non-linearity.
    def forward(x):
        return 2 * x, None

    def backward(dout, cache):
        return 2 * np.abs(dout)

    def backward_right_at_one_dout(dout, cache):
        return 2 * dout if dout.flat[0] >= 0 else 2 * np.abs(dout)

    with pytest.raises(GradientCheckError):
        check_layer(forward, backward, [np.ones((2, 2))])
    with pytest.raises(GradientCheckError, match=r"dx \(dout × -3\)"):
        check_layer(
            forward,
            backward_right_at_one_dout,
            [np.ones((2, 2))],
            seed=_seed_with_positive_first_dout(),
        )


def _seed_with_positive_first_dout() -> int:
    return next(s for s in range(100) if np.random.default_rng([s, 0x6AD]).standard_normal() > 0)


def test_do_two_close_but_different_numbers_read_differently_in_a_failure():
    from bplib.gradcheck import distinct

    with pytest.raises(CheckError, match=r"yours = 0\.9262262, expected = 0\.9262261"):
        assert_close(0.9262262, 0.9262261, "out", rtol=1e-12)
    assert distinct(0.5, 0.5) == ("0.5", "0.5")  # equal numbers stay short
    assert distinct(1.0, 1.0 + 1e-15) != ("1", "1")
