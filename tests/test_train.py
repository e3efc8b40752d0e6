"""Does fit() train, record, stop on divergence with advice, and reject bad settings?"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bplib import datasets
from bplib.model import Affine, BatchNorm, Dropout, Layer, ReLU, Sequential, Sigmoid, Tanh
from bplib.train import History, TrainingDiverged, accuracy, evaluate, fit, predict_scores


def _blobs(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian clusters in 2-D: an easy 3-class problem."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = np.arange(n) % 3
    return centres[y] + 0.5 * rng.standard_normal((n, 2)), y


def _mlp(seed: int = 0, d: int = 2, hidden: int = 8, c: int = 3) -> Sequential:
    return Sequential(Affine(d, hidden, seed=seed), ReLU(), Affine(hidden, c, seed=seed + 1))


# ---------------------------------------------------------------- the teaching points


def test_does_a_two_layer_network_solve_xor():
    X, y = datasets.logic_gate("xor")
    model = Sequential(Affine(2, 8, seed=0), Tanh(), Affine(8, 2, seed=1))
    history = fit(model, X, y, optimizer="adam", learning_rate=0.05, epochs=300, progress=False)
    assert accuracy(model, X, y) == 1.0
    assert history.train_acc[-1] == 1.0
    assert history.epoch_loss[-1] < 0.01


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_does_a_single_logistic_neuron_fail_on_xor(seed):
    # XOR is not linearly separable: one line gets at most 3 of the 4 points right.
    X, y = datasets.logic_gate("xor")
    neuron = Sequential(Affine(2, 1, seed=seed))
    history = fit(neuron, X, y, loss="bce_with_logits", optimizer="adam", learning_rate=0.1,
                  epochs=300, progress=False)
    assert accuracy(neuron, X, y) <= 0.75
    assert history.epoch_loss[-1] > 0.45  # stuck near log 2 = 0.693, never close to 0


@pytest.mark.slow
def test_does_a_small_mlp_reach_97_percent_on_the_digits():
    # Measured on this split: a plain 64-128-10 ReLU net reaches only 96.1-96.9% (Adam, 30
    # epochs, 4 seeds); with batch norm and a second hidden layer 97.2-98.3% (6 seeds).
    X, y = datasets.load_digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, seed=0)
    model = Sequential(
        Affine(64, 128, seed=0), BatchNorm(128), ReLU(),
        Affine(128, 64, seed=1), BatchNorm(64), ReLU(),
        Affine(64, 10, seed=2),
    )
    history = fit(model, X_train, y_train, optimizer="adam", learning_rate=2e-3, epochs=20,
                  batch_size=32, seed=0, X_val=X_test, y_val=y_test, progress=False)
    assert accuracy(model, X_test, y_test) >= 0.97
    assert history.val_acc[-1] == accuracy(model, X_test, y_test)
    assert len(history.train_acc) == len(history.val_acc) == len(history.val_loss) == 20


# ---------------------------------------------------------------- divergence


def test_does_a_huge_learning_rate_raise_training_diverged_with_advice():
    X, y = _blobs()
    with pytest.raises(TrainingDiverged) as info:
        fit(_mlp(), X, y, optimizer="sgd", learning_rate=1e4, epochs=20, progress=False)
    err = info.value
    assert isinstance(err, RuntimeError)
    assert re.search(r"at epoch \d+, step \d+", str(err))
    assert "(learning rate 10000.0): try a smaller learning rate, e.g. 1000.0" in str(err)
    assert err.learning_rate == 1e4 and err.step >= 2
    assert len(err.history.loss) == err.step - 1  # the history up to the failing step


def test_does_a_nan_loss_name_epoch_step_and_learning_rate():
    X, y = _blobs(n=30)
    calls = []

    def loss_that_breaks(scores, target):  # finite for 4 steps, then nan
        calls.append(1)
        value = float(np.mean(scores**2)) if len(calls) < 5 else float("nan")
        return value, 2 * scores / scores.size

    with pytest.raises(TrainingDiverged) as info:
        fit(_mlp(), X, y, loss=loss_that_breaks, optimizer="sgd", learning_rate=1e-3,
            epochs=5, batch_size=10, progress=False)
    assert str(info.value) == (
        "loss became nan at epoch 2, step 5 (learning rate 0.001): "
        "try a smaller learning rate, e.g. 0.0001"
    )
    assert (info.value.epoch, info.value.step) == (2, 5)


class _OverflowsOnSecondCall(Layer):
    """Passes x through once, then returns inf, as an exploding hidden layer would."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def _forward(self, x, mode):
        self.calls += 1
        return (x if self.calls == 1 else np.full_like(x, np.inf)), None

    def _backward(self, dout, cache):
        return dout, {}


def test_do_overflowing_activations_raise_training_diverged():
    X, y = _blobs(n=30)
    model = Sequential(Affine(2, 4, seed=0), _OverflowsOnSecondCall(), Affine(4, 3, seed=1))
    with pytest.raises(TrainingDiverged, match=re.escape(
            "the activations overflowed at epoch 1, step 2 (learning rate 0.5): try a smaller "
            "learning rate, e.g. 0.05. Where: layer 2 (Affine(4 -> 3)): x contains inf")):
        fit(model, X, y, learning_rate=0.5, epochs=3, batch_size=10, progress=False)
    # full batch: the overflow shows up in the end-of-epoch evaluation after step 1
    model = Sequential(Affine(2, 4, seed=0), _OverflowsOnSecondCall(), Affine(4, 3, seed=1))
    with pytest.raises(TrainingDiverged, match="overflowed at epoch 1, step 1 "):
        fit(model, X, y, learning_rate=0.5, epochs=3, progress=False)


def test_does_an_update_that_overflows_the_weights_raise_training_diverged():
    X, y = _blobs(n=30)
    model = _mlp()
    before = [w.copy() for _, _, w, _ in model.parameters()]

    def huge_gradient(scores, target):
        return 1.0, np.full_like(scores, 1e300)

    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
        TrainingDiverged, match=re.escape("w of layer 0.Affine became nan/inf in the update at "
                                          "epoch 1, step 1 (loss 1, learning rate 1e+10)")
    ):
        fit(model, X, y, loss=huge_gradient, optimizer="sgd", learning_rate=1e10,
            progress=False)
    for (_, _, w, _), w_before in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(w, w_before)  # the overflowing update was not written


def test_is_an_overflow_before_any_update_reported_as_bad_input():
    X, y = _blobs(n=30)
    model = Sequential(Affine(2, 4, seed=0), _OverflowsOnSecondCall(), Affine(4, 3, seed=1))
    model.forward(X)  # the next call overflows: nothing to do with the learning rate
    with pytest.raises(ValueError, match="x contains inf") as info:
        fit(model, X, y, epochs=1, progress=False)
    assert not isinstance(info.value, TrainingDiverged)


def test_is_the_divergence_factor_configurable():
    X, y = _blobs(n=30)
    values = iter([1.0, 50.0, 50.0, 50.0])

    def loss_jumps(scores, target):
        return next(values), np.zeros_like(scores)

    with pytest.raises(TrainingDiverged, match="more than 10 x the first loss 1"):
        fit(_mlp(), X, y, loss=loss_jumps, epochs=2, batch_size=15, divergence_factor=10,
            progress=False)
    values = iter([1.0, 50.0, 50.0, 50.0])
    history = fit(_mlp(), X, y, loss=loss_jumps, epochs=2, batch_size=15,
                  divergence_factor=None, progress=False)
    assert history.loss == [1.0, 50.0, 50.0, 50.0]


# ---------------------------------------------------------------- batching and the history


@pytest.mark.parametrize("batch_size, steps", [(None, 1), (1, 30), (7, 5), (30, 1), (500, 1)])
def test_do_full_batch_online_and_minibatch_training_all_work(batch_size, steps):
    X, y = _blobs(n=30)
    epochs = 40 if batch_size in (None, 30, 500) else 8
    history = fit(_mlp(), X, y, optimizer="adam", learning_rate=0.02, epochs=epochs,
                  batch_size=batch_size, progress=False)
    assert history.steps_per_epoch == steps
    assert len(history.loss) == epochs * steps
    assert len(history.epoch_loss) == len(history.train_acc) == epochs
    assert history.val_acc == [] and history.val_loss == []
    assert history.epoch_loss[-1] < 0.5 * history.epoch_loss[0]
    assert history.train_acc[-1] == 1.0


def test_is_the_epoch_loss_the_example_weighted_mean_of_the_step_losses():
    X, y = _blobs(n=30)
    history = fit(_mlp(), X, y, epochs=2, batch_size=12, progress=False)  # 12 + 12 + 6
    first = np.array(history.loss[:3])
    assert history.epoch_loss[0] == pytest.approx(float(first @ [12, 12, 6]) / 30)


def test_is_shuffling_reproducible_from_the_seed():
    X, y = _blobs()
    runs = [fit(_mlp(), X, y, epochs=3, batch_size=8, seed=s, progress=False).loss
            for s in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    unshuffled = [fit(_mlp(), X, y, epochs=2, batch_size=8, shuffle=False, seed=s,
                      progress=False).loss for s in (5, 6)]
    assert unshuffled[0] == unshuffled[1]


def test_is_one_full_batch_sgd_step_exactly_forward_backward_update():
    X, y = _blobs(n=12)
    model, reference = _mlp(seed=3), _mlp(seed=3)
    lr, lam = 0.1, 0.01
    history = fit(model, X, y, optimizer="sgd", learning_rate=lr, epochs=1, weight_decay=lam,
                  progress=False)
    from bplib.losses import softmax_cross_entropy_loss

    data_loss, dscores = softmax_cross_entropy_loss(reference.forward(X), y)
    reference.backward(dscores)
    weights = [layer.params["w"] for layer in (reference[0], reference[2])]
    assert history.loss[0] == pytest.approx(data_loss + 0.5 * lam * sum(np.sum(w * w)
                                                                        for w in weights))
    for (_, name, w_new, _), (_, _, w_old, dw) in zip(model.parameters(), reference.parameters(),
                                                     strict=True):
        # weight decay acts on weights only, never on biases
        expected = w_old - lr * (dw + lam * w_old) if name == "w" else w_old - lr * dw
        np.testing.assert_allclose(w_new, expected, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_does_every_optimizer_reduce_the_loss(optimizer):
    X, y = _blobs()
    lr = {"sgd": 0.1, "sgd_momentum": 0.05, "rmsprop": 0.01, "adam": 0.01}[optimizer]
    history = fit(_mlp(), X, y, optimizer=optimizer, learning_rate=lr, epochs=15, batch_size=10,
                  progress=False)
    assert history.epoch_loss[-1] < 0.5 * history.epoch_loss[0]


def test_does_weight_decay_shrink_the_weights():
    X, y = _blobs()
    norms = []
    for lam in (0.0, 0.1):
        model = _mlp()
        fit(model, X, y, epochs=30, batch_size=10, learning_rate=0.01, weight_decay=lam,
            progress=False)
        norms.append(np.linalg.norm(model[2].params["w"]))
    assert norms[1] < 0.8 * norms[0]


def test_are_binary_and_regression_losses_accepted_with_n_targets():
    X, y = datasets.logic_gate("xor")
    model = Sequential(Affine(2, 8, seed=0), Tanh(), Affine(8, 1, seed=1))
    history = fit(model, X, y, loss="bce_with_logits", learning_rate=0.05, epochs=300,
                  progress=False)
    assert history.train_acc[-1] == 1.0
    sig = Sequential(Affine(2, 8, seed=0), Tanh(), Affine(8, 1, seed=1), Sigmoid())
    history = fit(sig, X, y, loss="mse", learning_rate=0.05, epochs=400, progress=False,
                  compute_accuracy=True)
    assert history.train_acc[-1] == 1.0  # predictions threshold at 0.5 after the Sigmoid
    inputs, _ = _blobs()
    regression = fit(_mlp(c=1), inputs, inputs[:, 0], loss="mse", epochs=3, progress=False)
    assert regression.train_acc == []  # accuracy means nothing for regression


def test_do_validation_metrics_use_test_mode():
    X, y = _blobs(n=90)
    model = Sequential(Affine(2, 16, seed=0), ReLU(), Dropout(0.5, seed=0), Affine(16, 3, seed=1))
    history = fit(model, X[:60], y[:60], epochs=20, batch_size=10, learning_rate=0.01,
                  X_val=X[60:], y_val=y[60:], progress=False)
    assert history.val_acc[-1] == accuracy(model, X[60:], y[60:])  # deterministic: no dropout
    assert history.val_loss[-1] == pytest.approx(evaluate(model, X[60:], y[60:])["loss"])


def test_do_the_evaluation_helpers_agree_with_a_direct_computation():
    X, y = _blobs(n=30)
    model = _mlp()
    scores = model.forward(X, mode="test")
    np.testing.assert_allclose(predict_scores(model, X), scores)
    assert accuracy(model, X, y) == pytest.approx(np.mean(scores.argmax(axis=1) == y))
    result = evaluate(model, X, y)
    assert set(result) == {"loss", "accuracy"}
    assert evaluate(model, X, np.zeros((30, 3)), loss="mse").keys() == {"loss"}


def test_are_inputs_left_unchanged():
    X, y = _blobs(n=30)
    X_before, y_before = X.copy(), y.copy()
    fit(_mlp(), X, y, epochs=2, batch_size=7, progress=False)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_do_the_progress_bar_and_verbose_lines_appear(capsys):
    X, y = _blobs(n=30)
    fit(_mlp(), X, y, epochs=2, progress=True, verbose=True)
    captured = capsys.readouterr()
    assert "epoch 2/2: loss" in captured.out + captured.err
    assert "training" in captured.err  # tqdm writes its bar to stderr
    fit(_mlp(), X, y, epochs=2, progress=False, verbose=True)
    assert "epoch 1/2: loss" in capsys.readouterr().out


def test_can_the_history_be_plotted():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    X, y = _blobs(n=30)
    history = fit(_mlp(), X, y, epochs=3, batch_size=10, progress=False)
    ax = history.plot()
    assert len(ax.lines) == 2
    assert isinstance(History(), History)


# ---------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y": np.zeros(5, dtype=int)}, "X and y must have the same number of rows"),
        ({"batch_size": 0}, "batch_size must be a positive integer or None, got 0"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"learning_rate": -1.0}, "learning_rate must be > 0"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
        ({"loss": "hinge"}, 'loss must be "softmax_cross_entropy" or "bce_with_logits" or "mse"'),
        ({"optimizer": "adamw"}, "optimizer name must be"),
        ({"X_val": np.zeros((3, 2))}, "X_val and y_val must be given together"),
        ({"y": np.full(30, 7)}, "outside the valid range 0..2"),
        ({"X": np.ones((30, 3))}, "layer 0 (Affine(2 -> 8))"),
        ({"X": np.full((30, 2), np.nan)}, "X contains nan"),
    ],
)
def test_are_bad_arguments_rejected_with_a_value_error(kwargs, message):
    X, y = _blobs(n=30)
    args = {"X": X, "y": y, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(_mlp(), args.pop("X"), args.pop("y"), progress=False, **args)


def test_does_fit_train_any_model_with_forward_backward_and_parameters():
    class Softmax:  # a learner's own model, not a Sequential
        def __init__(self):
            self.w, self.dw = np.zeros((2, 3)), np.zeros((2, 3))

        def forward(self, x, mode="train"):
            self.x = x
            return x @ self.w

        def backward(self, dout):
            self.dw = self.x.T @ dout
            return dout @ self.w.T

        def parameters(self):
            yield "softmax", "w", self.w, self.dw

    X, y = _blobs()
    model = Softmax()
    history = fit(model, X, y, learning_rate=0.05, epochs=20, weight_decay=1e-3, progress=False)
    assert history.train_acc[-1] == 1.0
    assert accuracy(model, X, y) == 1.0
