"""Do the training-step shortcuts give the same numbers as the long way, and keep their checks?

``input_grad=False`` (no dx for the data), the optimizers' ``out=`` (update in place), the
masked ReLU backward, the output-side NaN check of ``affine_forward``, the per-example im2col
and the offset-by-offset max pooling. Nothing here times anything.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bplib import conv, layers, optim
from bplib._checks import as_float_array
from bplib.model import Affine, Conv, Flatten, MaxPool, ReLU, Sequential
from bplib.train import fit


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _networks():
    yield "mlp", Sequential(Affine(6, 5, seed=0), ReLU(), Affine(5, 3, seed=1)), (4, 6)
    yield "relu first", Sequential(ReLU(), Affine(6, 3, seed=0)), (4, 6)
    yield "cnn", Sequential(Conv(2, 3, kernel=3, pad=1, seed=0), ReLU(), MaxPool(2), Flatten(),
                            Affine(12, 3, seed=1)), (2, 2, 4, 4)


@pytest.mark.parametrize("name, model, shape", list(_networks()), ids=[n[0] for n in _networks()])
def test_does_backward_without_input_grad_give_the_same_parameter_gradients(name, model, shape):
    x = _rng(1).standard_normal(shape)
    dout = _rng(2).standard_normal(model.forward(x).shape)
    assert model.backward(dout) is not None
    full = [g.copy() for _, _, _, g in model.parameters()]
    model.forward(x)
    assert model.backward(dout, input_grad=False) is None
    for expected, (_, _, _, grad) in zip(full, model.parameters(), strict=True):
        np.testing.assert_array_equal(grad, expected)


def test_do_affine_and_conv_backward_skip_only_dx():
    rng = _rng(3)
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    out, cache = layers.affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.affine_backward(dout, cache, input_grad=False)
    assert dx is None
    np.testing.assert_array_equal(dw, layers.affine_backward(dout, cache)[1])
    np.testing.assert_array_equal(db, layers.affine_backward(dout, cache)[2])

    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    out, cache = conv.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv.conv_backward(dout, cache, input_grad=False)
    assert dx is None
    np.testing.assert_array_equal(dw, conv.conv_backward(dout, cache)[1])
    np.testing.assert_array_equal(db, conv.conv_backward(dout, cache)[2])


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_does_out_w_update_in_place_with_the_numbers_of_a_new_array(name):
    rule = optim.OPTIMIZERS[name]
    rng = _rng(4)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    expected, _ = rule(w, dw, {"learning_rate": 0.1, "weight_decay": 0.01})
    config = {"learning_rate": 0.1, "weight_decay": 0.01}
    live = w.copy()
    result, _ = rule(live, dw, config, out=live)
    assert result is live
    np.testing.assert_array_equal(live, expected)


def test_is_an_out_of_another_shape_rejected():
    with pytest.raises(ValueError, match=r"out must be an array of w's shape \(2,\), got \(3,\)"):
        optim.sgd(np.ones(2), np.ones(2), out=np.ones(3))


def test_does_relu_backward_give_np_where_numbers():
    rng = _rng(5)
    x, dout = rng.standard_normal((50, 40)), rng.standard_normal((50, 40))
    x[0, :5] = 0.0  # the kink: its subgradient is 0
    for dtype in (np.float32, np.float64):
        dx = layers.relu_backward(dout.astype(dtype), x.astype(dtype))
        assert dx.dtype == dtype
        np.testing.assert_array_equal(dx, np.where(x > 0, dout, 0.0).astype(dtype))


@pytest.mark.parametrize("bad", ["x", "w", "b"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_does_affine_forward_still_name_a_non_finite_input_without_a_warning(bad, value):
    arrays = {"x": np.ones((3, 4)), "w": np.zeros((4, 2)), "b": np.zeros(2)}
    arrays[bad][(0,) * arrays[bad].ndim] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"^{bad} contains {value} at index"):
            layers.affine_forward(arrays["x"], arrays["w"], arrays["b"])


def test_does_an_empty_batch_still_check_the_weights():
    w = np.ones((4, 2))
    w[1, 1] = np.nan
    with pytest.raises(ValueError, match="w contains nan"):
        layers.affine_forward(np.ones((0, 4)), w, np.zeros(2))


def test_does_an_overflow_from_finite_inputs_pass_through_as_before():
    with np.errstate(over="ignore"):
        out, _ = layers.affine_forward(np.full((1, 2), 1e300), np.full((2, 1), 1e300), np.zeros(1))
    assert np.isinf(out).all()


def test_does_as_float_array_pass_float_arrays_through_and_convert_the_rest():
    a = np.ones(3, dtype=np.float32)
    assert as_float_array(a, "a") is a
    assert as_float_array(np.arange(3), "a").dtype == np.float64
    assert as_float_array([1.0, 2.0], "a").dtype == np.float64
    with pytest.raises(ValueError, match="a must be real-valued"):
        as_float_array(np.ones(2, dtype=complex), "a")


@pytest.mark.parametrize("x_shape, ph, pw, stride", [
    ((2, 3, 6, 6), 2, 2, 2), ((2, 2, 7, 7), 3, 3, 2), ((1, 2, 5, 5), 2, 2, 1), ((2, 1, 6, 5), 3, 2, 3),
])
def test_does_max_pool_route_ties_to_the_first_maximum_like_the_loops(x_shape, ph, pw, stride):
    x = np.maximum(_rng(6).standard_normal(x_shape), 0.0).round(1)  # many ties, as after a ReLU
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = conv.max_pool_forward(x, param)
    out_naive, cache_naive = conv.max_pool_forward_naive(x, param)
    np.testing.assert_array_equal(out, out_naive)
    dout = _rng(7).standard_normal(out.shape)
    np.testing.assert_array_equal(conv.max_pool_backward(dout, cache),
                                  conv.max_pool_backward_naive(dout, cache_naive))


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32, np.float32),
                                    (np.float32, np.float32, np.float64),
                                    (np.float64, np.float32, np.float32)])
def test_does_conv_forward_keep_the_dtype_of_the_loop_version(dtypes):
    rng = _rng(8)
    x, w, b = (rng.standard_normal(s).astype(t)
               for s, t in zip(((2, 1, 4, 4), (3, 1, 3, 3), (3,)), dtypes, strict=True))
    param = {"stride": 1, "pad": 1}
    out, _ = conv.conv_forward(x, w, b, param)
    naive, _ = conv.conv_forward_naive(x, w, b, param)
    assert out.dtype == naive.dtype
    np.testing.assert_allclose(out, naive, rtol=1e-5)


def test_does_fit_train_a_sequential_as_the_manual_loop_does():
    rng = _rng(9)
    X, y = rng.standard_normal((32, 5)), rng.integers(0, 3, 32)

    def model():
        return Sequential(Affine(5, 8, seed=0), ReLU(), Affine(8, 3, seed=1))

    trained = model()
    fit(trained, X, y, optimizer="sgd", learning_rate=0.1, epochs=3, batch_size=None,
        shuffle=False, compute_accuracy=False, progress=False)
    from bplib.losses import softmax_cross_entropy_loss

    manual = model()
    for _ in range(3):
        _, dscores = softmax_cross_entropy_loss(manual.forward(X), y)
        manual.backward(dscores)
        for _, _, w, dw in manual.parameters():
            w[...] = optim.sgd(w, dw, {"learning_rate": 0.1})[0]
    for (_, _, a, _), (_, _, b, _) in zip(trained.parameters(), manual.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
