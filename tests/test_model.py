"""Do the Layer wrappers and Sequential agree with the functional pairs and with numerics?"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bplib import conv, layers, normalization, regularization
from bplib.gradcheck import GradientCheckError, check_gradient, numerical_gradient
from bplib.model import (
    Affine,
    BatchNorm,
    Conv,
    Dropout,
    Flatten,
    Layer,
    LayerNorm,
    LeakyReLU,
    MaxPool,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- wrappers == functional pairs


def _functional_cases():
    """(layer, x, forward(x) -> (out, cache), backward(dout, cache) -> (dx, grads dict))."""
    rng = _rng(1)
    x2 = rng.standard_normal((4, 5))
    x4 = rng.standard_normal((2, 3, 6, 6))

    aff = Affine(5, 3, seed=0)
    w, b = aff.params["w"], aff.params["b"]
    yield "affine", aff, x2, lambda x: layers.affine_forward(x, w, b), (
        lambda d, c: (lambda dx, dw, db: (dx, {"w": dw, "b": db}))(*layers.affine_backward(d, c))
    )
    for name, layer, fwd, bwd in [
        ("relu", ReLU(), layers.relu_forward, layers.relu_backward),
        ("sigmoid", Sigmoid(), layers.sigmoid_forward, layers.sigmoid_backward),
        ("tanh", Tanh(), layers.tanh_forward, layers.tanh_backward),
    ]:
        yield name, layer, x2, fwd, (lambda d, c, bwd=bwd: (bwd(d, c), {}))
    yield "leaky_relu", LeakyReLU(0.2), x2, lambda x: layers.leaky_relu_forward(x, 0.2), (
        lambda d, c: (layers.leaky_relu_backward(d, c), {})
    )

    bn = BatchNorm(5)
    bn.params["gamma"] = rng.standard_normal(5)
    bn.params["beta"] = rng.standard_normal(5)
    g, be = bn.params["gamma"], bn.params["beta"]
    yield "batchnorm", bn, x2, (
        lambda x: normalization.batchnorm_forward(x, g, be, {"mode": "train"})
    ), lambda d, c: (lambda dx, dg, db: (dx, {"gamma": dg, "beta": db}))(
        *normalization.batchnorm_backward(d, c)
    )
    ln = LayerNorm(5)
    ln.params["gamma"] = rng.standard_normal(5)
    lg, lb = ln.params["gamma"], ln.params["beta"]
    yield "layernorm", ln, x2, lambda x: normalization.layernorm_forward(x, lg, lb), (
        lambda d, c: (lambda dx, dg, db: (dx, {"gamma": dg, "beta": db}))(
            *normalization.layernorm_backward(d, c)
        )
    )

    cv = Conv(3, 4, kernel=3, stride=1, pad=1, seed=0)
    cw, cb = cv.params["w"], cv.params["b"]
    yield "conv", cv, x4, (
        lambda x: conv.conv_forward(x, cw, cb, {"stride": 1, "pad": 1})
    ), lambda d, c: (lambda dx, dw, db: (dx, {"w": dw, "b": db}))(*conv.conv_backward(d, c))
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    yield "max_pool", MaxPool(2), x4, lambda x: conv.max_pool_forward(x, pool), (
        lambda d, c: (conv.max_pool_backward(d, c), {})
    )


@pytest.mark.parametrize(
    "name, layer, x, fwd, bwd", list(_functional_cases()), ids=[c[0] for c in _functional_cases()]
)
def test_does_each_wrapper_give_the_same_numbers_as_its_functional_pair(name, layer, x, fwd, bwd):
    out = layer.forward(x, mode="train")
    expected, cache = fwd(x)
    np.testing.assert_array_equal(out, expected)
    dout = _rng(7).standard_normal(out.shape)
    dx = layer.backward(dout)
    expected_dx, expected_grads = bwd(dout, cache)
    np.testing.assert_array_equal(dx, expected_dx)
    assert set(layer.grads) == set(layer.params) == set(expected_grads)
    for key, grad in expected_grads.items():
        np.testing.assert_array_equal(layer.grads[key], grad)
        assert layer.grads[key].shape == layer.params[key].shape


def test_does_dropout_wrapper_match_dropout_forward_with_the_same_mask():
    x = _rng(2).standard_normal((50, 40))
    layer = Dropout(p=0.3, seed=0)
    out = layer.forward(x, mode="train")
    dout = _rng(3).standard_normal(x.shape)
    dx = layer.backward(dout)
    mask = out / x  # x has no zeros, so this recovers the scaled mask
    # each entry is either dropped or scaled by 1/(1-p), exactly as the functional pair does
    assert set(np.round(np.unique(mask), 12)) <= {0.0, round(1 / 0.7, 12)}
    np.testing.assert_allclose(dx, dout * mask, rtol=1e-12)
    ref_out, ref_cache = regularization.dropout_forward(x, {"p": 0.3, "mode": "test"})
    np.testing.assert_array_equal(layer.forward(x, mode="test"), ref_out)
    np.testing.assert_array_equal(layer.backward(dout), regularization.dropout_backward(dout, ref_cache))


def test_are_dropout_masks_fresh_each_step_but_reproducible_from_the_seed():
    x = np.ones((20, 30))
    a, b = Dropout(0.5, seed=4), Dropout(0.5, seed=4)
    first, second = a.forward(x), a.forward(x)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, b.forward(x))
    np.testing.assert_array_equal(second, b.forward(x))


def test_does_batchnorm_keep_running_statistics_for_test_mode():
    rng = _rng(5)
    bn = BatchNorm(3, momentum=0.0)  # momentum 0: the running stats are the last batch's
    x = rng.standard_normal((64, 3)) * 2.0 + 5.0
    bn.forward(x, mode="train")
    np.testing.assert_allclose(bn.bn_param["running_mean"], x.mean(axis=0))
    np.testing.assert_allclose(bn.bn_param["running_var"], x.var(axis=0))
    single = x[:1]
    expected = (single - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(bn.forward(single, mode="test"), expected)


def test_does_flatten_reshape_and_restore_the_gradient_shape():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    f = Flatten()
    out = f.forward(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out[1], np.arange(12.0, 24.0))
    dout = _rng(0).standard_normal((2, 12))
    np.testing.assert_array_equal(f.backward(dout), dout.reshape(2, 3, 2, 2))


# ---------------------------------------------------------------- Sequential


def _hand_net() -> Sequential:
    first = Affine(2, 2)
    first.params["w"][...] = [[1.0, -1.0], [2.0, 0.5]]
    first.params["b"][...] = [0.5, -1.0]
    second = Affine(2, 1)
    second.params["w"][...] = [[2.0], [-3.0]]
    second.params["b"][...] = [0.25]
    return Sequential(first, ReLU(), second)


def test_does_sequential_forward_match_a_hand_computation():
    # x = [1, 1]: hidden = [1+2+0.5, -1+0.5-1] = [3.5, -1.5] -> relu [3.5, 0] -> 7 + 0.25
    # x = [0, -1]: hidden = [-2+0.5, -0.5-1] = [-1.5, -1.5] -> relu [0, 0] -> 0.25
    out = _hand_net().forward(np.array([[1.0, 1.0], [0.0, -1.0]]))
    np.testing.assert_allclose(out, [[7.25], [0.25]])


def _scalar_loss(model: Sequential, x: np.ndarray, dout: np.ndarray) -> float:
    return float(np.sum(model.forward(x, mode="train") * dout))


NETWORKS = {
    "mlp": (
        lambda s: Sequential(Affine(5, 7, seed=s), Tanh(), Affine(7, 6, seed=s + 1),
                             LeakyReLU(0.1), Affine(6, 3, seed=s + 2)),
        (6, 5),
    ),
    "norms": (
        # a nonlinearity before BatchNorm: a bias feeding BatchNorm directly has gradient 0
        lambda s: Sequential(Affine(4, 6, seed=s), Tanh(), BatchNorm(6), Sigmoid(),
                             Affine(6, 5, seed=s + 1), LayerNorm(5), Affine(5, 2, seed=s + 2)),
        (5, 4),
    ),
    "convnet": (
        lambda s: Sequential(Conv(2, 3, kernel=3, pad=1, seed=s), Tanh(), MaxPool(2),
                             Flatten(), Affine(12, 3, seed=s + 1)),
        (2, 2, 4, 4),
    ),
}


# Seeds chosen so no gradient entry is accidentally ~1e-8, where round-off in the numerical
# gradient alone exceeds the tolerance.
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_does_sequential_backward_match_numerical_gradients_of_every_parameter(net, seed):
    build, shape = NETWORKS[net]
    model = build(seed)
    rng = _rng(100 + seed)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(model.forward(x).shape)
    dx = model.backward(dout)
    analytic = {(ln, pn): g.copy() for ln, pn, _, g in model.parameters()}
    assert len(analytic) >= 4
    for ln, pn, w, _ in model.parameters():
        numeric = numerical_gradient(lambda _w: _scalar_loss(model, x, dout), w)
        check_gradient(analytic[(ln, pn)], numeric, f"{ln}.{pn}", tol=1e-6)
    check_gradient(dx, numerical_gradient(lambda v: _scalar_loss(model, v, dout), x), "dx",
                   tol=1e-6)


def test_does_a_zero_upstream_gradient_give_zero_gradients_everywhere():
    model = NETWORKS["norms"][0](0)
    x = _rng(0).standard_normal((5, 4))
    out = model.forward(x)
    dx = model.backward(np.zeros_like(out))
    assert not np.any(dx)
    for _, _, _, grad in model.parameters():
        assert not np.any(grad)


class _SignFlippedAffine(Affine):
    """A deliberately wrong layer: dw has the wrong sign."""

    def _backward(self, dout, cache):
        dx, grads = super()._backward(dout, cache)
        return dx, {"w": -grads["w"], "b": grads["b"]}


def test_does_the_whole_network_check_catch_a_sign_flipped_weight_gradient():
    model = Sequential(Affine(3, 4, seed=0), Tanh(), _SignFlippedAffine(4, 2, seed=1))
    x = _rng(1).standard_normal((5, 3))
    dout = _rng(2).standard_normal((5, 2))
    model.forward(x)
    model.backward(dout)
    (_, _, w, dw), = [p for p in model.parameters() if p[0] == "2._SignFlippedAffine"
                      and p[1] == "w"]
    numeric = numerical_gradient(lambda _w: _scalar_loss(model, x, dout), w)
    with pytest.raises(GradientCheckError, match="sign"):
        check_gradient(dw.copy(), numeric, "dw")


def test_does_parameters_name_every_parameter_and_expose_live_arrays():
    model = Sequential(Affine(3, 4, seed=0), ReLU(), BatchNorm(4), Affine(4, 2, seed=1))
    names = [(ln, pn) for ln, pn, _, _ in model.parameters()]
    assert names == [("0.Affine", "w"), ("0.Affine", "b"), ("2.BatchNorm", "gamma"),
                     ("2.BatchNorm", "beta"), ("3.Affine", "w"), ("3.Affine", "b")]
    _, _, w, _ = next(model.parameters())
    w[...] = 0.0  # an optimizer writes in place; the layer must see it
    assert not np.any(model[0].params["w"])
    assert model.num_parameters() == 3 * 4 + 4 + 4 + 4 + 4 * 2 + 2


def test_does_predict_use_test_mode_and_argmax():
    model = Sequential(Affine(3, 4, seed=0), Dropout(0.5, seed=0), Affine(4, 3, seed=1))
    x = _rng(3).standard_normal((10, 3))
    scores = model.forward(x, mode="test")
    np.testing.assert_array_equal(model.predict(x), scores.argmax(axis=1))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))  # no dropout noise


def test_does_predict_threshold_one_output_at_zero_or_at_one_half_after_sigmoid():
    x = np.array([[1.0], [-1.0], [0.2]])
    logit = Affine(1, 1)
    logit.params["w"][...] = 1.0
    np.testing.assert_array_equal(Sequential(logit).predict(x), [1, 0, 1])
    np.testing.assert_array_equal(Sequential(logit, Sigmoid()).predict(x), [1, 0, 1])


def test_does_repr_list_layers_and_parameter_shapes():
    text = repr(Sequential(Affine(64, 128, seed=0), ReLU(), Dropout(0.2), Affine(128, 10)))
    assert "(0) Affine(64 -> 128)" in text
    assert "w (64, 128), b (128,)" in text
    assert "(1) ReLU()" in text and "(2) Dropout(p=0.2)" in text
    assert "(3) Affine(128 -> 10)" in text
    assert "9,610 parameters" in text


def test_is_a_wrong_feature_count_rejected_naming_the_layer_index():
    model = Sequential(Affine(4, 3, seed=0), ReLU(), Affine(5, 2, seed=1))
    expected = "layer 2 (Affine(5 -> 2)): x has shape (2, 3) (3 features per example) but " \
               "Affine(5 -> 2) expects 5 input features"
    with pytest.raises(ValueError, match=re.escape(expected)):
        model.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=re.escape("layer 0 (Affine(4 -> 3))")):
        model.forward(np.ones((2, 6)))


@pytest.mark.parametrize(
    "model, x, message",
    [
        (Sequential(Conv(3, 2, kernel=3)), np.ones((1, 1, 5, 5)), "expects 3 input channels"),
        (Sequential(Conv(1, 2, kernel=3)), np.ones((5, 5)), "(N, C, H, W)"),
        (Sequential(ReLU(), BatchNorm(4)), np.ones((3, 5)), "layer 1 (BatchNorm(4))"),
        (Sequential(LayerNorm(4)), np.ones((3, 2)), "expects 4 features"),
        (Sequential(Affine(2, 2)), np.ones(2), "batch axis"),
    ],
)
def test_are_other_bad_input_shapes_rejected_with_a_value_error(model, x, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        model.forward(x)


def test_are_bad_constructor_arguments_rejected():
    with pytest.raises(TypeError, match="forget the parentheses"):
        Sequential(Affine(2, 2), ReLU)
    with pytest.raises(TypeError, match="argument 0 is ndarray"):
        Sequential(np.ones(3))
    with pytest.raises(ValueError, match="init must be"):
        Affine(2, 2, init="glorot")
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        Affine(0, 2)
    with pytest.raises(ValueError, match=re.escape("drop probability) must be in [0, 1)")):
        Dropout(1.0)
    with pytest.raises(ValueError, match="pad must be a non-negative integer"):
        Conv(1, 1, 3, pad=-1)
    with pytest.raises(ValueError, match='mode must be "train" or "test"'):
        Sequential(ReLU()).forward(np.ones((1, 1)), mode="eval")


def test_is_backward_before_forward_an_error():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        Affine(2, 2).backward(np.ones((1, 2)))


def test_are_inputs_left_unchanged():
    model = NETWORKS["convnet"][0](0)
    x = _rng(4).standard_normal((2, 2, 4, 4))
    x_before = x.copy()
    out = model.forward(x)
    dout = _rng(5).standard_normal(out.shape)
    dout_before = dout.copy()
    model.backward(dout)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)


def test_do_he_and_xavier_initialisations_have_their_scales_and_honour_the_seed():
    he = Affine(400, 300, seed=0).params["w"]
    xavier = Affine(400, 300, seed=0, init="xavier").params["w"]
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert xavier.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
    np.testing.assert_array_equal(he, Affine(400, 300, seed=0).params["w"])
    assert not np.array_equal(he, Affine(400, 300, seed=1).params["w"])
    assert Affine(3, 2, dtype=np.float32).params["w"].dtype == np.float32


def test_is_a_custom_layer_usable_in_sequential():
    class Double(Layer):
        def _forward(self, x, mode):
            return 2.0 * x, None

        def _backward(self, dout, cache):
            return 2.0 * dout, {}

    model = Sequential(Double(), Double())
    np.testing.assert_array_equal(model.forward(np.ones((1, 2))), [[4.0, 4.0]])
    np.testing.assert_array_equal(model.backward(np.ones((1, 2))), [[4.0, 4.0]])
    assert "(0) Double()" in repr(model)
