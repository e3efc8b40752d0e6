"""Does every bplib layer, loss and optimizer agree with PyTorch, in float64?

PyTorch is an oracle written by other people: each forward is compared with the same
computation in torch, and each backward with torch autograd under the same random upstream
gradient. Skipped when torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from bplib import (  # noqa: E402
    autograd,
    conv,
    layers,
    losses,
    normalization,
    optim,
    regularization,
    rnn,
)
from bplib.model import (  # noqa: E402
    Affine,
    BatchNorm,
    Conv,
    Flatten,
    LayerNorm,
    LeakyReLU,
    MaxPool,
    ReLU,
    Sequential,
    Tanh,
)

pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-10, 1e-12


def _t(a: np.ndarray, grad: bool = True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _close(ours, theirs, name: str) -> None:
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=name)


def _torch_grads(fn, arrays: list[np.ndarray], dout: np.ndarray):
    """Run ``fn`` on float64 tensors; return (out, [d input]) under upstream gradient dout."""
    tensors = [_t(a) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(dout))
    return out, [t.grad for t in tensors]


def _compare(forward, backward, torch_fn, arrays, seed=0, names=None, extra=()):
    """bplib ``forward(*arrays, *extra) -> (out, cache)`` and ``backward`` vs torch autograd."""
    out, cache = forward(*arrays, *extra)
    dout = np.random.default_rng(seed + 1000).standard_normal(out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    t_out, t_grads = _torch_grads(torch_fn, arrays, dout)
    _close(out, t_out, "out")
    names = names or [f"d{i}" for i in range(len(arrays))]
    for ours, theirs, name in zip(grads, t_grads, names, strict=True):
        _close(ours, theirs, name)


def _rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- affine and activations


@pytest.mark.parametrize("seed, shape", [(0, (4, 5)), (1, (3, 2, 3)), (2, (1, 7))])
def test_affine_matches_torch(seed, shape):
    rng = _rng(seed)
    x = rng.standard_normal(shape)
    d = int(np.prod(shape[1:]))
    w, b = rng.standard_normal((d, 6)), rng.standard_normal(6)
    _compare(layers.affine_forward, layers.affine_backward,
             lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b, [x, w, b], seed,
             ["dx", "dw", "db"])


ACTIVATIONS = {
    "relu": (layers.relu_forward, layers.relu_backward, torch.relu),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward, torch.sigmoid),
    "tanh": (layers.tanh_forward, layers.tanh_backward, torch.tanh),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name, seed):
    fwd, bwd, torch_fn = ACTIVATIONS[name]
    x = _rng(seed).standard_normal((5, 4)) * 3.0
    x[np.abs(x) < 1e-3] = 0.5  # away from ReLU's kink
    _compare(fwd, bwd, torch_fn, [x], seed, ["dx"])


def test_does_the_cross_check_catch_a_wrong_backward():
    x = _rng(0).standard_normal((4, 3))
    with pytest.raises(AssertionError, match="dx"):
        _compare(layers.tanh_forward, lambda d, c: -layers.tanh_backward(d, c), torch.tanh,
                 [x], 0, ["dx"])
    with pytest.raises(AssertionError, match="dx"):  # sigmoid' taken at the input, not output
        _compare(layers.sigmoid_forward,
                 lambda d, c: d * x * (1 - x), torch.sigmoid, [x], 0, ["dx"])


def test_sigmoid_matches_torch_for_extreme_inputs():
    x = np.array([[-800.0, -40.0, 0.0, 40.0, 800.0]])
    _compare(layers.sigmoid_forward, layers.sigmoid_backward, torch.sigmoid, [x], 0, ["dx"])


@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_leaky_relu_matches_torch(alpha):
    x = _rng(3).standard_normal((6, 3))
    _compare(layers.leaky_relu_forward, layers.leaky_relu_backward,
             lambda x: F.leaky_relu(x, alpha), [x], 3, ["dx"], extra=(alpha,))


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_matches_torch_autograd_of_x_times_the_same_mask(p):
    x = _rng(4).standard_normal((20, 30))
    out, cache = regularization.dropout_forward(x, {"p": p, "mode": "train", "seed": 0})
    mask = cache[1]
    assert set(np.unique(mask)) <= {0.0, 1.0 / (1.0 - p)}
    assert abs(np.mean(mask == 0) - p) < 0.08
    dout = _rng(5).standard_normal(x.shape)
    t_out, (dx_t,) = _torch_grads(lambda x: x * torch.tensor(mask), [x], dout)
    _close(out, t_out, "out")
    _close(regularization.dropout_backward(dout, cache), dx_t, "dx")
    out_test, cache_test = regularization.dropout_forward(x, {"p": p, "mode": "test"})
    _close(out_test, torch.tensor(x), "out (test mode)")
    _close(regularization.dropout_backward(dout, cache_test), torch.tensor(dout), "dx (test)")


# ---------------------------------------------------------------- normalization


@pytest.mark.parametrize("backward", [normalization.batchnorm_backward,
                                      normalization.batchnorm_backward_alt])
@pytest.mark.parametrize("seed, shape", [(0, (8, 5)), (1, (3, 4)), (2, (16, 2))])
def test_batchnorm_train_matches_torch(backward, seed, shape):
    rng = _rng(seed)
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    bn_param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    _compare(normalization.batchnorm_forward, backward,
             lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5),
             [x, gamma, beta], seed, ["dx", "dgamma", "dbeta"], extra=(bn_param,))


def test_batchnorm_running_statistics_match_torch_up_to_its_unbiased_variance():
    rng = _rng(6)
    x = rng.standard_normal((10, 3)) * 3 + 2
    n = x.shape[0]
    bn_param = {"mode": "train", "momentum": 0.9}
    normalization.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3,
                                                                                dtype=torch.float64)
    running_var.zero_()  # bplib starts both at zero (CS231n's convention)
    # torch's momentum is the weight of the NEW value: 0.1 there is 0.9 here
    F.batch_norm(torch.tensor(x), running_mean, running_var, training=True, momentum=0.1)
    _close(bn_param["running_mean"], running_mean, "running_mean")
    # torch keeps the unbiased variance (divide by N-1); bplib the biased one it normalizes with
    _close(bn_param["running_var"], running_var * (n - 1) / n, "running_var")


@pytest.mark.parametrize("backward", [normalization.batchnorm_backward,
                                      normalization.batchnorm_backward_alt])
def test_batchnorm_test_mode_matches_torch(backward):
    rng = _rng(7)
    x, gamma, beta = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    bn_param = {"mode": "test", "running_mean": mean, "running_var": var}
    _compare(normalization.batchnorm_forward, backward,
             lambda x, g, b: F.batch_norm(x, torch.tensor(mean), torch.tensor(var), g, b,
                                          training=False, eps=1e-5),
             [x, gamma, beta], 7, ["dx", "dgamma", "dbeta"], extra=(bn_param,))


@pytest.mark.parametrize("seed, shape", [(0, (4, 6)), (1, (1, 3)), (2, (5, 2))])
def test_layernorm_matches_torch(seed, shape):
    rng = _rng(seed)
    x = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    _compare(normalization.layernorm_forward, normalization.layernorm_backward,
             lambda x, g, b: F.layer_norm(x, (shape[1],), g, b, eps=1e-5),
             [x, gamma, beta], seed, ["dx", "dgamma", "dbeta"], extra=({"eps": 1e-5},))


# ---------------------------------------------------------------- convolution and pooling

CONV_CASES = [  # (x shape, w shape, stride, pad): the windows tile the padded input exactly
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0),
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 1),
    ((2, 3, 7, 7), (4, 3, 3, 3), 2, 0),
    ((2, 3, 7, 7), (4, 3, 3, 3), 2, 1),
    ((1, 2, 8, 6), (3, 2, 4, 2), 2, 1),
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 2),
    ((1, 2, 9, 9), (2, 2, 3, 3), 3, 0),
]


@pytest.mark.parametrize("impl", ["fast", "naive"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[f"s{c[2]}p{c[3]}k{c[1][2]}" for c in CONV_CASES])
def test_conv_matches_torch(case, impl):
    x_shape, w_shape, stride, pad = case
    rng = _rng(sum(x_shape) + stride)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(
        w_shape[0])
    fwd, bwd = ((conv.conv_forward, conv.conv_backward) if impl == "fast"
                else (conv.conv_forward_naive, conv.conv_backward_naive))
    _compare(fwd, bwd, lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad),
             [x, w, b], 0, ["dx", "dw", "db"], extra=({"stride": stride, "pad": pad},))


POOL_CASES = [((2, 3, 8, 8), 2, 2), ((1, 2, 7, 7), 3, 2), ((2, 1, 6, 4), 2, 1), ((1, 1, 9, 9), 3, 3)]


@pytest.mark.parametrize("impl", ["fast", "naive"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[f"k{c[1]}s{c[2]}" for c in POOL_CASES])
def test_max_pool_matches_torch(case, impl):
    shape, size, stride = case
    x = _rng(size * 10 + stride).standard_normal(shape)  # continuous values: no ties
    fwd, bwd = ((conv.max_pool_forward, conv.max_pool_backward) if impl == "fast"
                else (conv.max_pool_forward_naive, conv.max_pool_backward_naive))
    pool_param = {"pool_height": size, "pool_width": size, "stride": stride}
    _compare(fwd, bwd, lambda x: F.max_pool2d(x, size, stride), [x], 0, ["dx"],
             extra=(pool_param,))


# ---------------------------------------------------------------- recurrent networks


def _torch_rnn(x, h0, Wx, Wh, b):
    """The vanilla RNN unrolled with torch ops: h_t = tanh(x_t Wx + h_{t-1} Wh + b)."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return torch.stack(hs, dim=1)


def _torch_lstm(x, h0, Wx, Wh, b):
    """The LSTM unrolled with torch ops, gate order i, f, o, g along the 4H axis."""
    hidden = h0.shape[1]
    h, c, hs = h0, torch.zeros_like(h0), []
    for t in range(x.shape[1]):
        a = x[:, t] @ Wx + h @ Wh + b
        i, f, o = (torch.sigmoid(a[:, k * hidden:(k + 1) * hidden]) for k in range(3))
        g = torch.tanh(a[:, 3 * hidden:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs, dim=1)


def _sequence_inputs(seed, n, t, d, hidden, gates):
    rng = _rng(seed)
    return [rng.standard_normal((n, t, d)), rng.standard_normal((n, hidden)),
            rng.standard_normal((d, gates * hidden)) * 0.5,
            rng.standard_normal((hidden, gates * hidden)) * 0.5,
            rng.standard_normal(gates * hidden) * 0.5]


SEQ_NAMES = ["dx", "dh0", "dWx", "dWh", "db"]


@pytest.mark.parametrize("seed, n, t, d, hidden", [(0, 2, 4, 3, 5), (1, 3, 1, 2, 2),
                                                   (2, 1, 7, 4, 3)])
def test_rnn_matches_an_unrolled_torch_tanh_cell(seed, n, t, d, hidden):
    _compare(rnn.rnn_forward, rnn.rnn_backward, _torch_rnn,
             _sequence_inputs(seed, n, t, d, hidden, 1), seed, SEQ_NAMES)


def test_rnn_matches_torch_nn_rnn():
    x, h0, Wx, Wh, b = _sequence_inputs(3, 2, 5, 3, 4, 1)
    cell = torch.nn.RNN(3, 4, batch_first=True, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.tensor(Wx.T))
        cell.weight_hh_l0.copy_(torch.tensor(Wh.T))
        cell.bias_ih_l0.copy_(torch.tensor(b))
        cell.bias_hh_l0.zero_()
    h, _ = rnn.rnn_forward(x, h0, Wx, Wh, b)
    _close(h, cell(torch.tensor(x), torch.tensor(h0)[None])[0], "h")


@pytest.mark.parametrize("seed, n, t, d, hidden", [(0, 2, 4, 3, 5), (1, 3, 1, 2, 2),
                                                   (2, 1, 6, 4, 3)])
def test_lstm_matches_an_unrolled_torch_cell_with_gates_i_f_o_g(seed, n, t, d, hidden):
    _compare(rnn.lstm_forward, rnn.lstm_backward, _torch_lstm,
             _sequence_inputs(seed, n, t, d, hidden, 4), seed, SEQ_NAMES)


def test_lstm_matches_torch_nn_lstm_after_reordering_its_gates():
    # torch stacks its gates as i, f, g, o; bplib (like CS231n) as i, f, o, g
    x, h0, Wx, Wh, b = _sequence_inputs(4, 2, 5, 3, 4, 4)
    H = 4
    order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
    cell = torch.nn.LSTM(3, H, batch_first=True).double()
    with torch.no_grad():
        cell.weight_ih_l0.copy_(torch.tensor(Wx[:, order].T))
        cell.weight_hh_l0.copy_(torch.tensor(Wh[:, order].T))
        cell.bias_ih_l0.copy_(torch.tensor(b[order]))
        cell.bias_hh_l0.zero_()
    h, _ = rnn.lstm_forward(x, h0, Wx, Wh, b)
    c0 = torch.zeros(1, 2, H, dtype=torch.float64)
    _close(h, cell(torch.tensor(x), (torch.tensor(h0)[None], c0))[0], "h")


def test_rnn_and_lstm_steps_match_torch():
    rng = _rng(8)
    x, h, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    Wx, Wh, b = rng.standard_normal((4, 2)), rng.standard_normal((2, 2)), rng.standard_normal(2)
    _compare(rnn.rnn_step_forward, rnn.rnn_step_backward,
             lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh + b), [x, h, Wx, Wh, b], 8,
             ["dx", "dprev_h", "dWx", "dWh", "db"])
    Wx4, Wh4, b4 = rng.standard_normal((4, 8)), rng.standard_normal((2, 8)), rng.standard_normal(8)
    next_h, next_c, cache = rnn.lstm_step_forward(x, h, c, Wx4, Wh4, b4)
    dh, dc = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    grads = rnn.lstm_step_backward(dh, dc, cache)
    tensors = [_t(a) for a in (x, h, c, Wx4, Wh4, b4)]
    tx, th, tc, tWx, tWh, tb = tensors
    a = tx @ tWx + th @ tWh + tb
    i, f, o, g = (torch.sigmoid(a[:, :2]), torch.sigmoid(a[:, 2:4]), torch.sigmoid(a[:, 4:6]),
                  torch.tanh(a[:, 6:]))
    t_c = f * tc + i * g
    t_h = o * torch.tanh(t_c)
    (t_h * torch.tensor(dh)).sum().add((t_c * torch.tensor(dc)).sum()).backward()
    _close(next_h, t_h, "next_h")
    _close(next_c, t_c, "next_c")
    for ours, tensor, name in zip(grads, [tx, th, tc, tWx, tWh, tb],
                                  ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"], strict=True):
        _close(ours, tensor.grad, name)


# ---------------------------------------------------------------- losses


def _loss_vs_torch(ours, torch_fn, pred, *others):
    loss, dpred = ours(pred, *others)
    t_pred = _t(pred)
    t_loss = torch_fn(t_pred, *[torch.tensor(o) for o in others])
    t_loss.backward()
    _close(loss, t_loss, "loss")
    _close(dpred, t_pred.grad, "dpred")


@pytest.mark.parametrize("seed", [0, 1])
def test_mse_loss_matches_torch(seed):
    rng = _rng(seed)
    _loss_vs_torch(losses.mse_loss, F.mse_loss, rng.standard_normal((5, 3)),
                   rng.standard_normal((5, 3)))


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_bce_with_logits_loss_matches_torch(scale):
    rng = _rng(2)
    logits = rng.standard_normal((6, 2)) * scale
    target = rng.integers(0, 2, (6, 2)).astype(float)
    _loss_vs_torch(losses.bce_with_logits_loss, F.binary_cross_entropy_with_logits, logits, target)
    soft = rng.random((6, 2))  # probabilities as targets work too
    _loss_vs_torch(losses.bce_with_logits_loss, F.binary_cross_entropy_with_logits, logits, soft)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_cross_entropy_loss_matches_torch(scale):
    rng = _rng(3)
    logits = rng.standard_normal((7, 4)) * scale
    y = rng.integers(0, 4, 7)
    loss, dlogits = losses.softmax_cross_entropy_loss(logits, y)
    t_logits = _t(logits)
    t_loss = F.cross_entropy(t_logits, torch.tensor(y))
    t_loss.backward()
    _close(loss, t_loss, "loss")
    _close(dlogits, t_logits.grad, "dlogits")
    _close(losses.softmax(logits), torch.softmax(torch.tensor(logits), dim=1), "softmax")
    _close(losses.log_softmax(logits), torch.log_softmax(torch.tensor(logits), dim=1),
           "log_softmax")


@pytest.mark.parametrize("weight_shape", [(), (3,), (5, 1), (5, 3)])
def test_weighted_mse_loss_matches_torch(weight_shape):
    rng = _rng(4)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    weights = rng.random(weight_shape)
    _loss_vs_torch(losses.weighted_mse_loss, lambda p, t, w: torch.mean(w * (p - t) ** 2),
                   pred, target, weights)


# ---------------------------------------------------------------- optimizers


def _run_optimizer(update, config, torch_opt_factory, steps=5, seed=0):
    rng = _rng(seed)
    w = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(steps)]
    param = torch.nn.Parameter(torch.tensor(w.copy()))
    opt = torch_opt_factory([param])
    for step, dw in enumerate(grads, start=1):
        w, config = update(w, dw, config)
        param.grad = torch.tensor(dw)
        opt.step()
        _close(w, param, f"w after step {step}")


@pytest.mark.slow  # the first torch.optim step in a process imports more of torch (~2.6 s)
def test_one_adam_step_matches_torch_optim_adam():
    rng = _rng(9)
    w, dw = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    next_w, config = optim.adam(w, dw, {"learning_rate": 1e-2})
    param = torch.nn.Parameter(torch.tensor(w))
    opt = torch.optim.Adam([param], lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    param.grad = torch.tensor(dw)
    opt.step()
    _close(next_w, param, "w after one Adam step")
    assert config["t"] == 1


@pytest.mark.slow  # the first torch.optim step in a process imports more of torch (~2.6 s)
def test_several_adam_steps_with_weight_decay_match_torch():
    _run_optimizer(optim.adam, {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99,
                                "epsilon": 1e-6, "weight_decay": 0.1},
                   lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6,
                                              weight_decay=0.1))


@pytest.mark.slow  # the first torch.optim step in a process imports more of torch (~2.6 s)
def test_sgd_momentum_and_rmsprop_match_torch():
    _run_optimizer(optim.sgd, {"learning_rate": 0.1},
                   lambda p: torch.optim.SGD(p, lr=0.1))
    # bplib's velocity is -lr times torch's buffer; with a constant lr the steps are identical
    _run_optimizer(optim.sgd_momentum, {"learning_rate": 0.1, "momentum": 0.9},
                   lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))
    _run_optimizer(optim.rmsprop, {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8},
                   lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8))


# ---------------------------------------------------------------- a whole model


def test_a_sequential_convnet_matches_the_same_torch_network():
    model = Sequential(Conv(2, 3, kernel=3, pad=1, seed=0), ReLU(), MaxPool(2), Flatten(),
                       Affine(12, 6, seed=1), LayerNorm(6), LeakyReLU(0.1),
                       Affine(6, 5, seed=2), BatchNorm(5), Tanh(), Affine(5, 3, seed=3))
    rng = _rng(10)
    x, y = rng.standard_normal((4, 2, 4, 4)), rng.integers(0, 3, 4)
    loss, dscores = losses.softmax_cross_entropy_loss(model.forward(x), y)
    dx = model.backward(dscores)

    p = {(i, k): _t(v) for i, layer in enumerate(model) for k, v in layer.params.items()}
    tx = _t(x)
    h = F.max_pool2d(torch.relu(F.conv2d(tx, p[0, "w"], p[0, "b"], padding=1)), 2).flatten(1)
    h = F.leaky_relu(F.layer_norm(h @ p[4, "w"] + p[4, "b"], (6,), p[5, "gamma"], p[5, "beta"]),
                     0.1)
    h = torch.tanh(F.batch_norm(h @ p[7, "w"] + p[7, "b"], None, None, p[8, "gamma"],
                                p[8, "beta"], training=True))
    t_loss = F.cross_entropy(h @ p[10, "w"] + p[10, "b"], torch.tensor(y))
    t_loss.backward()
    _close(loss, t_loss, "loss")
    _close(dx, tx.grad, "dx")
    for i, layer in enumerate(model):
        for k, grad in layer.grads.items():
            _close(grad, p[i, k].grad, f"layer {i} d{k}")


# ---------------------------------------------------------------- the Tensor autograd (notebook 15)


@pytest.mark.parametrize("shapes", [((4, 3), (3,)), ((4, 1), (1, 3)), ((), (2, 3)),
                                    ((2, 4, 3), (4, 1))], ids=str)
def test_autograd_broadcasting_add_and_mul_match_torch(shapes):
    rng = _rng(20)
    a, b = (rng.standard_normal(s) for s in shapes)
    ta, tb = _t(a), _t(b)
    x, w = autograd.Tensor(a), autograd.Tensor(b)
    loss = ((x * w + x) * w).sum()
    loss.backward()
    t_loss = ((ta * tb + ta) * tb).sum()
    t_loss.backward()
    _close(loss.data, t_loss, "loss")
    _close(x.grad, ta.grad, "da")
    _close(w.grad, tb.grad, "db")


def test_autograd_mlp_with_a_shared_weight_matches_torch():
    rng = _rng(21)
    X, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in ((4, 4), (4,), (4, 3), (3,)))
    t = [autograd.Tensor(v) for v in (X, W1, b1, W2, b2)]
    h = (t[0] @ t[1] + t[2]).relu()
    h2 = (h @ t[1]).relu() + h  # W1 used twice: a shared node with paths of two lengths
    loss = autograd.cross_entropy(h2 @ t[3] + t[4], y) + (h2.mean() * 0.5)
    loss.backward()
    tt = [_t(v) for v in (X, W1, b1, W2, b2)]
    th = torch.relu(tt[0] @ tt[1] + tt[2])
    th2 = torch.relu(th @ tt[1]) + th
    t_loss = F.cross_entropy(th2 @ tt[3] + tt[4], torch.tensor(y)) + th2.mean() * 0.5
    t_loss.backward()
    _close(loss.data, t_loss, "loss")
    for ours, theirs, name in zip(t, tt, ("dX", "dW1", "db1", "dW2", "db2"), strict=True):
        _close(ours.grad, theirs.grad, name)


def test_autograd_log_softmax_matches_torch_for_large_logits():
    x = np.array([[1e4, 0.0, -1e4], [800.0, 801.0, 799.0], [0.1, -0.2, 0.3]])
    dout = _rng(22).standard_normal(x.shape)
    ours = autograd.Tensor(x)
    out = autograd.log_softmax(ours)
    out.grad = dout
    out._backward()
    t_out, (t_dx,) = _torch_grads(lambda v: F.log_softmax(v, dim=1), [x], dout)
    _close(out.data, t_out, "out")
    _close(ours.grad, t_dx, "dx")
