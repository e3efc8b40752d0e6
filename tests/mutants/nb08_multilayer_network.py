"""Mutants and alternatives of notebook 08 (multilayer network): the loss and gradients of
affine -> ReLU -> affine -> softmax cross-entropy, and a full-batch gradient-descent loop.

Each mutant is a mistake learners make when they first chain layers together (a skipped ReLU
backward, a mask or an input taken from the wrong array, biases not summed, gradients under the
wrong keys) or write their first training loop (a flipped update, the loss recorded after the
step, the caller's parameters overwritten); ``loses`` lists every test cell it must fail, and
``explains`` a phrase of the message the first failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "08-multilayer-network"

_LOSS = '''def two_layer_loss(X, y, params):
    """Loss and gradients of affine -> ReLU -> affine -> softmax cross-entropy."""
    a, cache1 = affine_forward(X, params["W1"], params["b1"])
    h, cache_relu = relu_forward(a)
    scores, cache2 = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    dh, dW2, db2 = affine_backward(dscores, cache2)
'''
_RAW = '''def two_layer_loss(X, y, params):
    """The network in plain numpy."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a = X @ W1 + b1
    h = np.maximum(a, 0)
    scores = h @ W2 + b2
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    dh = dscores @ W2.T
    da = dh * (a > 0)
'''
_GD = '''def gradient_descent(loss_fn, X, y, params, learning_rate, epochs):
    """Full-batch gradient descent."""
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    losses = []
'''

_GRADS = [
    "test_two_layer_loss_dW2",
    "test_two_layer_loss_db2",
    "test_two_layer_loss_dW1",
    "test_two_layer_loss_db1",
]

MUTANTS = [
    # ----------------------------------------------------------------- two_layer_loss
    Mutant(
        cell="two_layer_loss",
        name="forgot to backprop through the ReLU",
        source=_LOSS + '''    _, dW1, db1 = affine_backward(dh, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
''',
        loses=["test_two_layer_loss_dW1", "test_two_layer_loss_db1"],
        explains="without the ReLU's backward",
    ),
    Mutant(
        cell="two_layer_loss",
        name="ReLU mask from the upstream gradient",
        source=_LOSS + '''    da = dh * (dh > 0)
    _, dW1, db1 = affine_backward(da, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
''',
        loses=["test_two_layer_loss_dW1", "test_two_layer_loss_db1"],
        explains="sign of the upstream gradient",
    ),
    Mutant(
        cell="two_layer_loss",
        name="dW2 from the pre-activation",
        source=_RAW + '''    return loss, {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": a.T @ dscores,
                  "b2": dscores.sum(axis=0)}
''',
        loses=["test_two_layer_loss_dW2"],
        explains="BEFORE the ReLU",
    ),
    Mutant(
        cell="two_layer_loss",
        name="db not summed over the batch",
        source=_RAW + '''    return loss, {"W1": X.T @ da, "b1": da, "W2": h.T @ dscores, "b2": dscores}
''',
        loses=["test_two_layer_loss_db2", "test_two_layer_loss_db1"],
        explains="batch axis",
    ),
    Mutant(
        cell="two_layer_loss",
        name="grads keyed dW1, db1, dW2, db2",
        source=_LOSS + '''    da = relu_backward(dh, cache_relu)
    _, dW1, db1 = affine_backward(da, cache1)
    return loss, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
''',
        loses=_GRADS,
        explains="keys of params",
    ),
    Mutant(
        cell="two_layer_loss",
        name="second layer's backward given the first layer's cache",
        source=_LOSS.replace("affine_backward(dscores, cache2)", "affine_backward(dscores, cache1)")
        + '''    da = relu_backward(dh, cache_relu)
    _, dW1, db1 = affine_backward(da, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
''',
        loses=["test_two_layer_loss_value", *_GRADS],
        explains="dout must have shape",
    ),
    Mutant(
        cell="two_layer_loss",
        name="no ReLU at all (a linear network)",
        source='''def two_layer_loss(X, y, params):
    """Affine -> affine -> softmax cross-entropy: the ReLU is missing."""
    a, cache1 = affine_forward(X, params["W1"], params["b1"])
    scores, cache2 = affine_forward(a, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    da, dW2, db2 = affine_backward(dscores, cache2)
    _, dW1, db1 = affine_backward(da, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
''',
        loses=["test_two_layer_loss_value", *_GRADS],
        explains="WITHOUT the ReLU",
    ),
    # ----------------------------------------------------------------- gradient_descent
    Mutant(
        cell="gradient_descent",
        name="sign flipped in the update",
        source=_GD + '''    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        losses.append(float(loss))
        params = {k: params[k] + learning_rate * grads[k] for k in params}
    return params, losses
''',
        loses=["test_gradient_descent_update", "test_gradient_descent_xor"],
        explains="climbs UP the loss",
    ),
    Mutant(
        cell="gradient_descent",
        name="loss recorded after the update",
        source=_GD + '''    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        params = {k: params[k] - learning_rate * grads[k] for k in params}
        losses.append(float(loss_fn(X, y, params)[0]))
    return params, losses
''',
        loses=["test_gradient_descent_losses"],
        explains="AFTER each step",
    ),
    Mutant(
        cell="gradient_descent",
        name="updates the caller's params in place",
        source='''def gradient_descent(loss_fn, X, y, params, learning_rate, epochs):
    """Full-batch gradient descent, writing into the arrays it was given."""
    losses = []
    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        losses.append(float(loss))
        for k in params:
            params[k] -= learning_rate * grads[k]
    return params, losses
''',
        loses=["test_gradient_descent_inputs_unchanged"],
        explains="params passed in were changed",
    ),
    Mutant(
        cell="gradient_descent",
        name="learning rate left out",
        source=_GD + '''    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        losses.append(float(loss))
        params = {k: params[k] - grads[k] for k in params}
    return params, losses
''',
        loses=["test_gradient_descent_update"],
        explains="learning rate is missing",
    ),
    Mutant(
        cell="gradient_descent",
        name="return inside the loop: one step only",
        source=_GD + '''    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        losses.append(float(loss))
        params = {k: params[k] - learning_rate * grads[k] for k in params}
        return params, losses
    return params, losses
''',
        loses=[
            "test_gradient_descent_update",
            "test_gradient_descent_losses",
            "test_gradient_descent_xor",
        ],
        explains="after ONE step",
    ),
    Mutant(
        cell="gradient_descent",
        name="gradient computed once, before the loop",
        source=_GD + '''    loss, grads = loss_fn(X, y, params)
    for _ in range(epochs):
        losses.append(float(loss))
        params = {k: params[k] - learning_rate * grads[k] for k in params}
    return params, losses
''',
        loses=[
            "test_gradient_descent_update",
            "test_gradient_descent_losses",
            "test_gradient_descent_xor",
        ],
        explains="inside the loop",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="two_layer_loss",
        name="plain numpy with its own softmax and a mask kept from the forward pass",
        source='''def two_layer_loss(X, y, params):
    """The network in plain numpy; the ReLU's mask is kept instead of its input."""
    n = X.shape[0]
    a = X.reshape(n, -1) @ params["W1"] + params["b1"]
    active = a > 0
    h = a * active
    scores = h @ params["W2"] + params["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs
    dscores[np.arange(n), y] -= 1
    dscores /= n
    grads = {"W2": np.einsum("nh,nc->hc", h, dscores), "b2": dscores.sum(0)}
    da = (dscores @ params["W2"].T) * active
    grads["W1"] = np.einsum("nd,nh->dh", X.reshape(n, -1), da)
    grads["b1"] = da.sum(0)
    return loss, grads
''',
    ),
    Alternative(
        cell="gradient_descent",
        name="deep copy first, then in-place steps on the copy",
        source='''import copy


def gradient_descent(loss_fn, X, y, params, learning_rate, epochs):
    """Gradient descent on a private copy of params."""
    current = copy.deepcopy(params)
    history = []
    epoch = 0
    while epoch < epochs:
        value, grads = loss_fn(X, y, current)
        history.append(value)
        for name, grad in grads.items():
            current[name] -= learning_rate * grad
        epoch += 1
    return current, history
''',
    ),
]
