"""Mutants and alternatives of notebook 09 (training loop): mini-batches, the SGD loop and
input standardization.

Each mutant is a slip learners make when they first write a training loop; ``loses`` lists
every test cell it must fail, and ``explains`` a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "09-training-loop"

_IM_HEAD = '''def iterate_minibatches(X, y, batch_size, rng):
    """One epoch of shuffled mini-batches."""
    N = X.shape[0]
'''
_TRAIN_HEAD = '''def train(params, loss_and_grads, X, y, learning_rate, epochs, batch_size, seed=0):
    """Mini-batch SGD."""
    N = X.shape[0]
'''
_STD_HEAD = '''def standardize(X_train, X_test):
    """Standardize with training statistics."""
'''


def _train(loop: str, *, copy: str = "    params = {k: np.array(v, dtype=np.float64) for k, v in "
           "params.items()}\n", rng: str = "    rng = np.random.default_rng(seed)\n") -> str:
    """A train() whose epoch loop is ``loop`` (indented for the epoch body)."""
    return (_TRAIN_HEAD + copy + rng
            + '    history = {"loss": [], "epoch_loss": []}\n'
            + "    for epoch in range(epochs):\n" + loop
            + "    return params, history\n")


_EPOCH_OK = '''        order = rng.permutation(N)
        total = 0.0
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = loss_and_grads(params, X[idx], y[idx])
            history["loss"].append(float(loss))
            total += float(loss) * len(idx)
            for name in params:
                params[name] = params[name] - learning_rate * grads[name]
        history["epoch_loss"].append(total / N)
'''

MUTANTS = [
    # ----------------------------------------------------------------- iterate_minibatches
    Mutant(
        cell="iterate_minibatches",
        name="never shuffles",
        source=_IM_HEAD + '''    return [(X[s:s + batch_size], y[s:s + batch_size]) for s in range(0, N, batch_size)]
''',
        loses=["test_iterate_minibatches_shuffle"],
        explains="original order",
    ),
    Mutant(
        cell="iterate_minibatches",
        name="drops the last partial batch",
        source=_IM_HEAD + '''    order = rng.permutation(N)
    return [(X[order[s:s + batch_size]], y[order[s:s + batch_size]])
            for s in range(0, N // batch_size * batch_size, batch_size)]
''',
        loses=["test_iterate_minibatches_cover", "test_iterate_minibatches_edge"],
        explains="the last, partial one",
    ),
    Mutant(
        cell="iterate_minibatches",
        name="shuffles X but not y",
        source=_IM_HEAD + '''    order = rng.permutation(N)
    return [(X[order[s:s + batch_size]], y[s:s + batch_size]) for s in range(0, N, batch_size)]
''',
        loses=["test_iterate_minibatches_pairs"],
        explains="shuffled X but not y",
    ),
    Mutant(
        cell="iterate_minibatches",
        name="samples every batch with replacement",
        source=_IM_HEAD + '''    batches = []
    for s in range(0, N, batch_size):
        idx = rng.integers(0, N, size=min(batch_size, N - s))
        batches.append((X[idx], y[idx]))
    return batches
''',
        loses=["test_iterate_minibatches_cover", "test_iterate_minibatches_shuffle",
               "test_iterate_minibatches_edge"],
        explains="exactly once",
    ),
    Mutant(
        cell="iterate_minibatches",
        name="np.random instead of the rng argument",
        source=_IM_HEAD + '''    order = np.random.permutation(N)
    return [(X[order[s:s + batch_size]], y[order[s:s + batch_size]])
            for s in range(0, N, batch_size)]
''',
        loses=["test_iterate_minibatches_shuffle"],
        explains="not np.random",
    ),
    Mutant(
        cell="iterate_minibatches",
        name="np.array_split into ceil(N / B) equal-ish pieces",
        source=_IM_HEAD + '''    order = rng.permutation(N)
    pieces = np.array_split(order, -(-N // batch_size))
    return [(X[idx], y[idx]) for idx in pieces]
''',
        loses=["test_iterate_minibatches_cover"],
        explains="exactly B examples",
    ),
    # ----------------------------------------------------------------- train
    Mutant(
        cell="train",
        name="steps uphill: + instead of -",
        source=_train(_EPOCH_OK.replace("params[name] - learning_rate", "params[name] + learning_rate")),
        loses=["test_train_lowers_loss", "test_train_matches_reference", "test_train_batch_extremes"],
        explains="the loss went up",
    ),
    Mutant(
        cell="train",
        name="re-seeds the generator every epoch",
        source=_train("        rng = np.random.default_rng(seed)\n" + _EPOCH_OK, rng=""),
        loses=["test_train_matches_reference"],
        explains="ONCE, before the epoch loop",
    ),
    Mutant(
        cell="train",
        name="gradient of the whole data set at every step",
        source=_train(_EPOCH_OK.replace("loss_and_grads(params, X[idx], y[idx])",
                                        "loss_and_grads(params, X, y)")),
        loses=["test_train_matches_reference", "test_train_batch_extremes"],
        explains="WHOLE data set",
    ),
    Mutant(
        cell="train",
        name="epoch loss as the plain mean of the step losses",
        source=_train(_EPOCH_OK.replace("total += float(loss) * len(idx)", "total += float(loss)")
                      .replace('history["epoch_loss"].append(total / N)',
                               'history["epoch_loss"].append(total / len(range(0, N, batch_size)))')),
        loses=["test_train_epoch_loss"],
        explains="plain mean",
    ),
    Mutant(
        cell="train",
        name="epoch-loss total never reset",
        source=_train(_EPOCH_OK.replace("        total = 0.0\n", ""),
                      rng="    rng = np.random.default_rng(seed)\n    total = 0.0\n"),
        loses=["test_train_epoch_loss"],
        explains="never reset",
    ),
    Mutant(
        cell="train",
        name="updates the caller's arrays in place",
        source=_train(_EPOCH_OK.replace("params[name] = params[name] - learning_rate * grads[name]",
                                        "params[name] -= learning_rate * grads[name]"),
                      copy=""),
        loses=["test_train_lowers_loss"],
        explains="of the dict it was given",
    ),
    # ----------------------------------------------------------------- standardize
    Mutant(
        cell="standardize",
        name="test set with its own statistics",
        source=_STD_HEAD + '''    def scale(X):
        sigma = X.std(axis=0)
        return (X - X.mean(axis=0)) / np.where(sigma == 0, 1.0, sigma)

    return scale(X_train), scale(X_test)
''',
        loses=["test_standardize_test"],
        explains="OWN statistics",
    ),
    Mutant(
        cell="standardize",
        name="one mean and std for the whole array",
        source=_STD_HEAD + '''    mu, sigma = X_train.mean(), X_train.std()
    return (X_train - mu) / sigma, (X_test - mu) / sigma
''',
        loses=["test_standardize_train", "test_standardize_test", "test_standardize_constant"],
        explains="per FEATURE",
    ),
    Mutant(
        cell="standardize",
        name="no guard for a constant feature",
        source=_STD_HEAD + '''    mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mu) / sigma, (X_test - mu) / sigma
''',
        loses=["test_standardize_constant"],
        explains="replace a zero std by 1",
    ),
    Mutant(
        cell="standardize",
        name="statistics of training and test data together",
        source=_STD_HEAD + '''    both = np.concatenate([X_train, X_test])
    mu, sigma = both.mean(axis=0), both.std(axis=0)
    sigma = np.where(sigma == 0, 1.0, sigma)
    return (X_train - mu) / sigma, (X_test - mu) / sigma
''',
        loses=["test_standardize_train", "test_standardize_test", "test_standardize_constant"],
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="iterate_minibatches",
        name="a generator, rng.shuffle on an index array",
        source='''def iterate_minibatches(X, y, batch_size, rng):
    """Yield the batches one at a time (rng.shuffle(arange) draws what rng.permutation draws)."""
    order = np.arange(len(X))
    rng.shuffle(order)
    for idx in np.split(order, np.arange(batch_size, len(X), batch_size)):
        yield X[idx], y[idx]
''',
    ),
    Alternative(
        cell="train",
        name="calls iterate_minibatches and keeps a list of weighted losses",
        source='''def train(params, loss_and_grads, X, y, learning_rate, epochs, batch_size, seed=0):
    """Mini-batch SGD on top of iterate_minibatches."""
    params = dict(params)  # new arrays are bound below; the caller's arrays are never written
    rng = np.random.default_rng(seed)
    losses, epoch_losses = [], []
    for _ in range(epochs):
        weighted = []
        for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
            loss, grads = loss_and_grads(params, X_batch, y_batch)
            losses.append(float(loss))
            weighted.append(float(loss) * len(X_batch))
            params = {name: value - learning_rate * grads[name] for name, value in params.items()}
        epoch_losses.append(sum(weighted) / len(X))
    return params, {"loss": losses, "epoch_loss": epoch_losses}
''',
    ),
    Alternative(
        cell="standardize",
        name="keepdims statistics and a tiny-std mask",
        source='''def standardize(X_train, X_test):
    """Standardize with training statistics (as a fixed affine map)."""
    mu = np.mean(X_train, axis=0, keepdims=True)
    sigma = np.sqrt(np.mean((X_train - mu) ** 2, axis=0, keepdims=True))
    sigma[sigma == 0] = 1.0
    scale = 1.0 / sigma
    return (X_train - mu) * scale, (X_test - mu) * scale
''',
    ),
]
