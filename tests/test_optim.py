"""Tests for bplib/optim.py: the first two steps of every rule worked out by hand, Adam's bias
correction, coupled weight decay, per-parameter state, untouched inputs, convergence on a convex
quadratic, validation, a negative control (Adam without bias correction), and clipping by the
joint norm of a set of gradients.

Every hand-computed case starts from w = [1, -2] with gradients dw1 = [0.5, -1] (step 1) and
dw2 = [0.25, 2] (step 2). Values are written without epsilon; epsilon = 1e-8 moves them by about
2e-8, hence ``atol=1e-7`` in those comparisons.
"""

from __future__ import annotations

import numpy as np
import pytest

from bplib.gradcheck import CheckError, assert_close
from bplib.optim import (
    OPTIMIZERS,
    adam,
    clip_grad_norm,
    get_optimizer,
    rmsprop,
    sgd,
    sgd_momentum,
)

W0 = np.array([1.0, -2.0])
DW1 = np.array([0.5, -1.0])
DW2 = np.array([0.25, 2.0])
RULES = list(OPTIMIZERS.items())


def _two_steps(rule, config):
    w1, config = rule(W0, DW1, config)
    w2, config = rule(w1, DW2, config)
    return w1, w2, config


# ----------------------------------------------------------------------------- hand-computed


def test_are_the_first_two_sgd_steps_as_worked_out_by_hand():
    # lr = 0.1. Step 1: w - 0.1 * [0.5, -1] = [1 - 0.05, -2 + 0.1] = [0.95, -1.9]
    # Step 2: [0.95, -1.9] - 0.1 * [0.25, 2] = [0.95 - 0.025, -1.9 - 0.2] = [0.925, -2.1]
    w1, w2, _ = _two_steps(sgd, {"learning_rate": 0.1})
    np.testing.assert_allclose(w1, [0.95, -1.9], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.925, -2.1], rtol=1e-15)


def test_are_the_first_two_momentum_steps_as_worked_out_by_hand():
    # lr = 0.1, momentum = 0.9, v0 = 0.
    # Step 1: v1 = 0.9 * 0 - 0.1 * [0.5, -1] = [-0.05, 0.1]; w1 = [0.95, -1.9]
    # Step 2: v2 = 0.9 * [-0.05, 0.1] - 0.1 * [0.25, 2] = [-0.045 - 0.025, 0.09 - 0.2]
    #            = [-0.07, -0.11]; w2 = [0.95 - 0.07, -1.9 - 0.11] = [0.88, -2.01]
    w1, w2, config = _two_steps(sgd_momentum, {"learning_rate": 0.1, "momentum": 0.9})
    np.testing.assert_allclose(w1, [0.95, -1.9], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.88, -2.01], rtol=1e-14)
    np.testing.assert_allclose(config["velocity"], [-0.07, -0.11], rtol=1e-14)


def test_are_the_first_two_rmsprop_steps_as_worked_out_by_hand():
    # lr = 0.1, decay_rate = 0.9, cache0 = 0.
    # Step 1: cache1 = 0.1 * [0.25, 1] = [0.025, 0.1]; sqrt = [0.158113883, 0.316227766]
    #   step = 0.1 * [0.5 / 0.158113883, -1 / 0.316227766] = [0.316227766, -0.316227766]
    #   (= lr * sign(dw) / sqrt(1 - 0.9): the first RMSprop step ignores |dw|)
    #   w1 = [1 - 0.316227766, -2 + 0.316227766] = [0.683772234, -1.683772234]
    # Step 2: cache2 = 0.9 * [0.025, 0.1] + 0.1 * [0.0625, 4] = [0.02875, 0.49]
    #   sqrt = [0.169558250, 0.7]; step = 0.1 * [0.25 / 0.169558250, 2 / 0.7]
    #        = [0.147441956, 0.285714286]
    #   w2 = [0.683772234 - 0.147441956, -1.683772234 - 0.285714286] = [0.536330278, -1.969486520]
    w1, w2, config = _two_steps(rmsprop, {"learning_rate": 0.1, "decay_rate": 0.9})
    np.testing.assert_allclose(w1, [0.683772234, -1.683772234], atol=1e-7)
    np.testing.assert_allclose(w2, [0.536330278, -1.969486520], atol=1e-7)
    np.testing.assert_allclose(config["cache"], [0.02875, 0.49], rtol=1e-14)


def test_are_the_first_two_adam_steps_as_worked_out_by_hand():
    # lr = 0.1, beta1 = 0.9, beta2 = 0.999, m0 = v0 = 0, t0 = 0.
    # Step 1 (t = 1): m1 = 0.1 * [0.5, -1] = [0.05, -0.1]; v1 = 0.001 * [0.25, 1] = [2.5e-4, 1e-3]
    #   m_hat = m1 / 0.1 = [0.5, -1]; v_hat = v1 / 0.001 = [0.25, 1]; sqrt = [0.5, 1]
    #   w1 = w - 0.1 * [0.5 / 0.5, -1 / 1] = [1 - 0.1, -2 + 0.1] = [0.9, -1.9]
    # Step 2 (t = 2): m2 = 0.9 * [0.05, -0.1] + 0.1 * [0.25, 2] = [0.07, 0.11]
    #   v2 = 0.999 * [2.5e-4, 1e-3] + 0.001 * [0.0625, 4] = [3.1225e-4, 4.999e-3]
    #   m_hat = m2 / (1 - 0.81) = [0.368421053, 0.578947368]
    #   v_hat = v2 / (1 - 0.998001) = [0.156203102, 2.500750375]; sqrt = [0.395225381, 1.581376102]
    #   step = 0.1 * [0.368421053 / 0.395225381, 0.578947368 / 1.581376102]
    #        = [0.093217962, 0.036610352]
    #   w2 = [0.9 - 0.093217962, -1.9 - 0.036610352] = [0.806782038, -1.936610352]
    w1, w2, config = _two_steps(adam, {"learning_rate": 0.1})
    np.testing.assert_allclose(w1, [0.9, -1.9], atol=1e-7)
    np.testing.assert_allclose(w2, [0.806782038, -1.936610352], atol=1e-7)
    np.testing.assert_allclose(config["m"], [0.07, 0.11], rtol=1e-14)
    np.testing.assert_allclose(config["v"], [3.1225e-4, 4.999e-3], rtol=1e-12)
    assert config["t"] == 2


def test_does_adam_resume_from_a_saved_step_count():
    # With t = 5 stored, the next step is step 6: the bias corrections use beta**6.
    rng = np.random.default_rng(0)
    w, dw, m = rng.standard_normal((3, 4, 5))
    v = rng.uniform(0.1, 1.0, size=(4, 5))
    config = {"learning_rate": 1e-2, "m": m, "v": v, "t": 5}
    next_w, config = adam(w, dw, config)
    m6 = 0.9 * m + 0.1 * dw
    v6 = 0.999 * v + 0.001 * dw**2
    expected = w - 1e-2 * (m6 / (1 - 0.9**6)) / (np.sqrt(v6 / (1 - 0.999**6)) + 1e-8)
    assert config["t"] == 6
    np.testing.assert_allclose(next_w, expected, rtol=1e-12)


# ----------------------------------------------------------------------------- Adam's bias correction


def test_does_the_first_adam_step_move_each_weight_by_the_learning_rate():
    # After one step m_hat = dw and v_hat = dw**2, so the step is lr * dw / |dw| = lr * sign(dw),
    # whatever the gradient's magnitude (here from 1e-3 to 1e3).
    rng = np.random.default_rng(0)
    w = rng.standard_normal(20)
    dw = rng.choice([-1.0, 1.0], size=20) * 10.0 ** rng.uniform(-3, 3, size=20)
    next_w, _ = adam(w, dw, {"learning_rate": 1e-3})
    np.testing.assert_allclose(w - next_w, 1e-3 * np.sign(dw), rtol=1e-4)


def _adam_without_bias_correction(w, dw, config):
    """A deliberately wrong Adam (the grading mutant): m and v used as they are."""
    m = 0.9 * config.get("m", np.zeros_like(w)) + 0.1 * dw
    v = 0.999 * config.get("v", np.zeros_like(w)) + 0.001 * dw**2
    config.update(m=m, v=v)
    return w - config["learning_rate"] * m / (np.sqrt(v) + 1e-8), config


def test_does_an_adam_without_bias_correction_differ_from_the_reference_at_step_1():
    rng = np.random.default_rng(1)
    w, dw = rng.standard_normal((2, 3, 4))
    reference, _ = adam(w, dw, {"learning_rate": 1e-3})
    assert_close(reference, w - 1e-3 * np.sign(dw), "next_w", rtol=1e-5)
    wrong, _ = _adam_without_bias_correction(w, dw, {"learning_rate": 1e-3})
    # Uncorrected, the first step is 0.1 / sqrt(0.001) = 3.16 times too large.
    np.testing.assert_allclose(w - wrong, 1e-3 * np.sign(dw) * 0.1 / np.sqrt(0.001), rtol=1e-3)
    with pytest.raises(CheckError, match="next_w is wrong in 12 of 12 entries"):
        assert_close(wrong, reference, "next_w", rtol=1e-5)


# ----------------------------------------------------------------------------- weight decay


@pytest.mark.parametrize(("name", "rule"), RULES)
def test_is_weight_decay_the_coupled_l2_gradient(name, rule):
    # weight_decay = lam is the same as following the gradient dw + lam * w (L2 penalty
    # lam/2 * sum(w**2) added to the loss), for every rule including Adam (not AdamW).
    rng = np.random.default_rng(2)
    w, dw = rng.standard_normal((2, 3, 2))
    lam = 0.3
    decayed, c1 = rule(w, dw, {"learning_rate": 0.05, "weight_decay": lam})
    decayed, c1 = rule(decayed, dw, c1)
    plain, c2 = rule(w, dw + lam * w, {"learning_rate": 0.05})
    plain, c2 = rule(plain, dw + lam * plain, c2)
    np.testing.assert_allclose(decayed, plain, rtol=1e-12)


def test_does_weight_decay_shrink_weights_when_the_gradient_is_zero():
    # With dw = 0, SGD with decay multiplies w by (1 - lr * lam) = 1 - 0.1 * 0.5 = 0.95 per step.
    w = np.array([2.0, -4.0])
    next_w, _ = sgd(w, np.zeros(2), {"learning_rate": 0.1, "weight_decay": 0.5})
    np.testing.assert_allclose(next_w, [1.9, -3.8], rtol=1e-15)
    assert np.all(np.abs(adam(w, np.zeros(2), {"weight_decay": 0.5})[0]) < np.abs(w))


def test_is_adam_weight_decay_not_adamw():
    # AdamW would subtract lr * lam * w outside the adaptive step: here the first step of coupled
    # decay is still exactly lr * sign(dw + lam * w), so the decay is rescaled away.
    w = np.array([1.0, 3.0])
    dw = np.array([0.2, -1.0])
    lam, lr = 0.1, 1e-2
    next_w, _ = adam(w, dw, {"learning_rate": lr, "weight_decay": lam})
    np.testing.assert_allclose(w - next_w, lr * np.sign(dw + lam * w), rtol=1e-6)
    adamw = w - lr * np.sign(dw) - lr * lam * w
    assert not np.allclose(next_w, adamw, rtol=1e-6)


# ----------------------------------------------------------------------------- state and inputs


@pytest.mark.parametrize(("name", "rule"), RULES)
def test_is_a_fresh_config_made_for_every_call_without_one(name, rule):
    _, c1 = rule(W0, DW1)
    _, c2 = rule(W0, DW2)
    assert c1 is not c2
    for key, value in c1.items():
        if isinstance(value, np.ndarray):
            assert value is not c2[key], f"{name} shares config[{key!r}] between calls"


@pytest.mark.parametrize(("name", "rule"), RULES)
def test_does_updating_one_parameter_leave_another_parameters_state_alone(name, rule):
    rng = np.random.default_rng(3)
    w_a, dw_a = rng.standard_normal((2, 3))
    w_b, dw_b = rng.standard_normal((2, 4, 2))
    config_a, config_b = {"learning_rate": 0.1}, {"learning_rate": 0.1}
    _, config_a = rule(w_a, dw_a, config_a)
    saved = {k: np.copy(v) for k, v in config_a.items()}
    for _ in range(3):
        _, config_b = rule(w_b, dw_b, config_b)
    for key, value in saved.items():
        np.testing.assert_array_equal(config_a[key], value)


@pytest.mark.parametrize("rule", [sgd_momentum, rmsprop, adam])
def test_is_one_config_reused_for_a_parameter_of_another_shape_rejected(rule):
    _, config = rule(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"has shape \(3,\) but w has shape \(2, 2\).*own config"):
        rule(np.zeros((2, 2)), np.ones((2, 2)), config)


@pytest.mark.parametrize(("name", "rule"), RULES)
def test_are_w_dw_and_the_stored_state_left_unmodified(name, rule):
    rng = np.random.default_rng(4)
    w, dw = rng.standard_normal((2, 3, 2))
    _, config = rule(w, dw, {"learning_rate": 0.1, "weight_decay": 0.1})
    arrays_before = {k: v for k, v in config.items() if isinstance(v, np.ndarray)}
    copies = {k: v.copy() for k, v in arrays_before.items()}
    w_copy, dw_copy = w.copy(), dw.copy()
    next_w, config = rule(w, dw, config)
    np.testing.assert_array_equal(w, w_copy)
    np.testing.assert_array_equal(dw, dw_copy)
    assert next_w is not w
    # State arrays are replaced, never written into (someone may hold the old ones).
    for key, old in arrays_before.items():
        np.testing.assert_array_equal(old, copies[key])


@pytest.mark.parametrize(
    ("rule", "defaults"),
    [
        (sgd, {"learning_rate": 1e-2, "weight_decay": 0.0}),
        (sgd_momentum, {"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0}),
        (rmsprop, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
        (adam, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 1}),
    ],
)
def test_are_the_documented_defaults_filled_in(rule, defaults):
    _, config = rule(W0, DW1)
    for key, value in defaults.items():
        assert config[key] == value, key
    # Values the caller set are kept.
    _, config = rule(W0, DW1, {"learning_rate": 0.5})
    assert config["learning_rate"] == 0.5


# ----------------------------------------------------------------------------- convergence


@pytest.mark.parametrize(
    ("name", "learning_rate"),
    [("sgd", 0.1), ("sgd_momentum", 0.02), ("rmsprop", 0.05), ("adam", 0.05)],
)
def test_does_each_optimizer_minimise_a_convex_quadratic(name, learning_rate):
    # f(w) = 1/2 (w - w*)^T A (w - w*) with curvatures 1 and 10 (ill-conditioned), minimum w*.
    a = np.array([1.0, 10.0])
    w_star = np.array([1.0, -2.0])
    rule = get_optimizer(name)
    w, config = np.array([-3.0, 3.0]), {"learning_rate": learning_rate}
    start = 0.5 * np.sum(a * (w - w_star) ** 2)
    for _ in range(500):
        w, config = rule(w, a * (w - w_star), config)
    assert 0.5 * np.sum(a * (w - w_star) ** 2) < 1e-6 * start
    np.testing.assert_allclose(w, w_star, atol=1e-4)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("name", "rule"), RULES)
def test_are_mismatched_w_and_dw_rejected_naming_both(name, rule):
    with pytest.raises(ValueError, match=r"w and dw must have the same shape, got \(3,\) and \(1, 3\)"):
        rule(np.zeros(3), np.zeros((1, 3)))


@pytest.mark.parametrize(("name", "rule"), RULES)
@pytest.mark.parametrize("lr", [0.0, -1e-3])
def test_is_a_non_positive_learning_rate_rejected(name, rule, lr):
    with pytest.raises(ValueError, match=r'learning_rate"\] must be > 0'):
        rule(W0, DW1, {"learning_rate": lr})


@pytest.mark.parametrize(
    ("rule", "key", "value"),
    [
        (sgd_momentum, "momentum", 1.0),
        (sgd_momentum, "momentum", -0.1),
        (rmsprop, "decay_rate", 1.0),
        (adam, "beta1", 1.0),
        (adam, "beta2", 1.5),
        (adam, "beta1", -0.1),
    ],
)
def test_are_momentum_and_decay_rates_outside_0_1_rejected(rule, key, value):
    with pytest.raises(ValueError, match=rf'{key}"\] must be in \[0, 1\), got {value}'):
        rule(W0, DW1, {key: value})


def test_are_other_bad_settings_rejected():
    with pytest.raises(ValueError, match="weight_decay"):
        sgd(W0, DW1, {"weight_decay": -0.1})
    with pytest.raises(ValueError, match="epsilon"):
        adam(W0, DW1, {"epsilon": 0.0})
    with pytest.raises(ValueError, match="integer >= 0"):
        adam(W0, DW1, {"t": 1.5})
    with pytest.raises(ValueError, match="config must be a dict"):
        sgd(W0, DW1, [("learning_rate", 0.1)])


def test_does_get_optimizer_return_each_rule_and_list_valid_names_otherwise():
    assert set(OPTIMIZERS) == {"sgd", "sgd_momentum", "rmsprop", "adam"}
    for name, rule in OPTIMIZERS.items():
        assert get_optimizer(name) is rule
    with pytest.raises(ValueError, match=r'"sgd" or "sgd_momentum" or "rmsprop" or "adam".*nadam'):
        get_optimizer("nadam")


# ----------------------------------------------------------------------------- clip_grad_norm


def test_does_clip_grad_norm_rescale_all_gradients_by_one_factor():
    # Joint norm of (3, 0) and [[4]] is sqrt(9 + 16) = 5; with max_norm 1 each is scaled by 1/5.
    grads = {"w": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(5.0, rel=1e-15)
    assert_close(clipped["w"], [0.6, 0.0], "w")
    assert_close(clipped["b"], [[0.8]], "b")
    assert list(clipped) == ["w", "b"]


def test_does_clip_grad_norm_leave_a_small_gradient_as_it_is():
    grads = {"w": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = clip_grad_norm(grads, 5.0)  # exactly at the bound: nothing to do
    assert norm == pytest.approx(5.0, rel=1e-15)
    for name in grads:
        np.testing.assert_array_equal(clipped[name], grads[name])
        assert clipped[name] is not grads[name]


def test_does_clip_grad_norm_keep_the_direction_where_clipping_by_value_does_not():
    rng = np.random.default_rng(0)
    grads = {"Wx": 10 * rng.standard_normal((4, 3)), "b": 0.1 * rng.standard_normal(3)}
    before = {k: v.copy() for k, v in grads.items()}
    clipped, norm = clip_grad_norm(grads, 2.0)
    flat = np.concatenate([clipped[k].ravel() for k in grads])
    original = np.concatenate([grads[k].ravel() for k in grads])
    assert np.linalg.norm(flat) == pytest.approx(2.0, rel=1e-12)
    assert_close(flat * norm / 2.0, original, "clipped * norm / max_norm")
    by_value = np.clip(original, -2.0, 2.0)  # negative control: a different direction
    cosine = by_value @ original / (np.linalg.norm(by_value) * np.linalg.norm(original))
    assert cosine < 0.99
    for name in grads:
        np.testing.assert_array_equal(grads[name], before[name])


def test_does_clip_grad_norm_survive_zero_gradients():
    clipped, norm = clip_grad_norm({"w": np.zeros((2, 2))}, 1.0)
    assert norm == 0.0
    np.testing.assert_array_equal(clipped["w"], np.zeros((2, 2)))


@pytest.mark.parametrize(
    "grads, max_norm, message",
    [
        ({"w": np.ones(2)}, 0.0, "max_norm must be > 0"),
        ({"w": np.ones(2)}, -1.0, "max_norm must be > 0"),
        ([np.ones(2)], 1.0, "grads must be a dict"),
        ({"w": None}, 1.0, r"grads\['w'\] is None"),
    ],
)
def test_is_a_bad_clip_grad_norm_argument_rejected_with_a_clear_message(grads, max_norm, message):
    with pytest.raises(ValueError, match=message):
        clip_grad_norm(grads, max_norm)
