"""Mutants and alternatives of notebook 14 (recurrent networks): the RNN step and sequence, the
LSTM step and sequence, forward and backward, and ``clip_grad_norm``.

Each mutant is a mistake learners make with recurrent networks; ``loses`` lists every test cell it
must fail, and ``explains`` a phrase of the hint the failing check gives. The backward passes are
graded through the learner's own forward passes, and the sequence functions call the step
functions, so a mistake spreads as it does in a learner's notebook: a wrong step forward costs
every RNN part (the sequence runs on it, and the backward checks stop at a wrong forward), a wrong
step backward costs the backpropagation through time that calls it. The LSTM and the clipping
never depend on the RNN, nor the other way round.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "14-recurrent"

RNN_STEP_BACKWARD_TESTS = ["test_rnn_step_backward_dx_dprev_h", "test_rnn_step_backward_dweights"]
RNN_BACKWARD_TESTS = ["test_rnn_backward_dx", "test_rnn_backward_dh0", "test_rnn_backward_dweights"]
ALL_RNN = ["test_rnn_step_forward", *RNN_STEP_BACKWARD_TESTS, "test_rnn_forward",
           *RNN_BACKWARD_TESTS]
LSTM_STEP_BACKWARD_TESTS = ["test_lstm_step_backward_dx_dprev_h", "test_lstm_step_backward_dprev_c",
                            "test_lstm_step_backward_dweights"]
LSTM_BACKWARD_TESTS = ["test_lstm_backward_dx_dh0", "test_lstm_backward_dweights"]
ALL_LSTM = ["test_lstm_step_forward", *LSTM_STEP_BACKWARD_TESTS, "test_lstm_forward",
            *LSTM_BACKWARD_TESTS]

# ----------------------------------------------------------------------------- rnn_step_forward


def _step_forward(pre: str, cache: str = "(x, prev_h, Wx, Wh, next_h)", squash: str = "np.tanh") -> str:
    return f'''def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One RNN step."""
    a = {pre}
    next_h = {squash}(a)
    return next_h, {cache}
'''


_STEP_BACKWARD_HEAD = '''def rnn_step_backward(dnext_h, cache):
    """Backward pass of one RNN step."""
    x, prev_h, Wx, Wh, next_h = cache
'''


def _step_backward(da: str = "dnext_h * (1.0 - next_h**2)", dprev: str = "da @ Wh.T",
                   dWh: str = "prev_h.T @ da", db: str = "da.sum(axis=0)") -> str:
    return _STEP_BACKWARD_HEAD + f'''    da = {da}
    return da @ Wx.T, {dprev}, x.T @ da, {dWh}, {db}
'''


# ----------------------------------------------------------------------------- rnn_forward / backward

_FORWARD_HEAD = '''def rnn_forward(x, h0, Wx, Wh, b):
    """The RNN over a sequence."""
    n, steps, _ = x.shape
    h = np.zeros((n, steps, h0.shape[1]))
    cache = []
'''

_BACKWARD_HEAD = '''def rnn_backward(dh, cache):
    """Backpropagation through time."""
    x0, _, Wx, Wh, _ = cache[0]
    n, steps, hidden = dh.shape
    dx = np.zeros((n, steps, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(hidden)
    dprev_h = np.zeros((n, hidden))
'''

# ----------------------------------------------------------------------------- LSTM step


def _lstm_forward_step(c: str = "f * prev_c + i * g", h: str = "o * tanh_c",
                       blocks: str = "ifog", g_squash: str = "np.tanh") -> str:
    order = {name: k for k, name in enumerate(blocks)}
    sl = {name: f"a[:, {order[name]} * H:{order[name] + 1} * H]" for name in "ifog"}
    return f'''def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid({sl["i"]}), sigmoid({sl["f"]}), sigmoid({sl["o"]})
    g = {g_squash}({sl["g"]})
    next_c = {c}
    tanh_c = np.tanh(next_c)
    next_h = {h}
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
'''


def _lstm_backward_step(dc: str = "dnext_c + dnext_h * o * (1.0 - tanh_c**2)",
                        dprev_c: str = "dc * f", ds: str = "s * (1.0 - s)",
                        order: str = "da_i, da_f, da_o, da_g") -> str:
    return f'''def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM step."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    local = lambda s: {ds}
    do = dnext_h * tanh_c
    dc = {dc}
    da_i, da_f = dc * g * local(i), dc * prev_c * local(f)
    da_o, da_g = do * local(o), dc * i * (1.0 - g**2)
    da = np.concatenate(({order}), axis=1)
    return da @ Wx.T, da @ Wh.T, {dprev_c}, x.T @ da, prev_h.T @ da, da.sum(axis=0)
'''


_LSTM_SEQ_FORWARD = '''def lstm_forward(x, h0, Wx, Wh, b):
    """The LSTM over a sequence."""
    n, steps, _ = x.shape
    h = np.zeros((n, steps, h0.shape[1]))
    prev_h, prev_c, cache = h0, {c0}, []
    for t in range(steps):
        next_h, next_c, step_cache = lstm_step_forward(x[:, t], {h_in}, prev_c, Wx, Wh, b)
        h[:, t] = {stored}
        prev_h, prev_c = next_h, {c_on}
        cache.append(step_cache)
    return h, cache
'''


def _lstm_seq_forward(c0: str = "np.zeros_like(h0)", h_in: str = "prev_h",
                      stored: str = "next_h", c_on: str = "next_c") -> str:
    return _LSTM_SEQ_FORWARD.format(c0=c0, h_in=h_in, stored=stored, c_on=c_on)


_LSTM_SEQ_BACKWARD = '''def lstm_backward(dh, cache):
    """Backpropagation through time for the LSTM."""
    n, steps, hidden = dh.shape
    dprev_h, dprev_c = np.zeros((n, hidden)), np.zeros((n, hidden))
    dx, dWx, dWh, db = [None] * steps, 0.0, 0.0, 0.0
    for t in reversed(range(steps)):
        dx[t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            {up_h}, {up_c}, cache[t])
        {accumulate}
    return np.stack(dx, axis=1), dprev_h, {weights}
'''


def _lstm_seq_backward(up_h: str = "dh[:, t] + dprev_h", up_c: str = "dprev_c",
                       accumulate: str = "dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t",
                       weights: str = "dWx, dWh, db") -> str:
    return _LSTM_SEQ_BACKWARD.format(up_h=up_h, up_c=up_c, accumulate=accumulate, weights=weights)


# ----------------------------------------------------------------------------- clip_grad_norm


def _clip(norm: str = "np.sqrt(sum(np.sum(g * g) for g in grads.values()))",
          body: str = "{k: g * (max_norm / norm if norm > max_norm else 1.0) for k, g in grads.items()}",
          returned: str = "norm") -> str:
    return f'''def clip_grad_norm(grads, max_norm):
    """Clip by the joint norm."""
    norm = float({norm})
    clipped = {body}
    return clipped, {returned}
'''


MUTANTS = [
    # ----------------------------------------------------------------- rnn_step_forward
    Mutant(cell="rnn_step_forward", name="no tanh",
           source=_step_forward("x @ Wx + prev_h @ Wh + b", squash=""),
           loses=ALL_RNN, explains="without the tanh"),
    Mutant(cell="rnn_step_forward", name="previous state left out",
           source=_step_forward("x @ Wx + b"), loses=ALL_RNN,
           explains="without the previous hidden state"),
    Mutant(cell="rnn_step_forward", name="Wh transposed",
           source=_step_forward("x @ Wx + prev_h @ Wh.T + b"), loses=ALL_RNN,
           explains="with Wh transposed"),
    Mutant(cell="rnn_step_forward", name="sigmoid instead of tanh",
           source=_step_forward("x @ Wx + prev_h @ Wh + b", squash="sigmoid"), loses=ALL_RNN,
           explains="squashes with tanh"),
    Mutant(cell="rnn_step_forward", name="no bias",
           source=_step_forward("x @ Wx + prev_h @ Wh"), loses=ALL_RNN, explains="without the bias"),
    Mutant(cell="rnn_step_forward", name="pre-activation cached for tanh's derivative",
           source=_step_forward("x @ Wx + prev_h @ Wh + b", cache="(x, prev_h, Wx, Wh, a)"),
           loses=[*RNN_STEP_BACKWARD_TESTS, *RNN_BACKWARD_TESTS], explains="the pre-activation"),
    # ----------------------------------------------------------------- rnn_step_backward
    Mutant(cell="rnn_step_backward", name="tanh derivative left out",
           source=_step_backward(da="dnext_h"),
           loses=[*RNN_STEP_BACKWARD_TESTS, *RNN_BACKWARD_TESTS],
           explains="without tanh's local derivative"),
    Mutant(cell="rnn_step_backward", name="tanh applied to the cached output again",
           source=_step_backward(da="dnext_h * (1.0 - np.tanh(next_h) ** 2)"),
           loses=[*RNN_STEP_BACKWARD_TESTS, *RNN_BACKWARD_TESTS], explains="tanh applied again"),
    Mutant(cell="rnn_step_backward", name="1 - next_h without the square",
           source=_step_backward(da="dnext_h * (1.0 - next_h)"),
           loses=[*RNN_STEP_BACKWARD_TESTS, *RNN_BACKWARD_TESTS], explains="missing the square"),
    Mutant(cell="rnn_step_backward", name="dprev_h through Wh, not its transpose",
           source=_step_backward(dprev="da @ Wh"),
           loses=["test_rnn_step_backward_dx_dprev_h", *RNN_BACKWARD_TESTS], explains="da·Wh"),
    Mutant(cell="rnn_step_backward", name="dWh transposed",
           source=_step_backward(dWh="da.T @ prev_h"),
           loses=["test_rnn_step_backward_dweights", "test_rnn_backward_dweights"],
           explains="the transpose"),
    Mutant(cell="rnn_step_backward", name="db not summed over the batch",
           source=_step_backward(db="da"),
           # rnn_backward's db += db_t then fails to broadcast: the whole function raises
           loses=["test_rnn_step_backward_dweights", *RNN_BACKWARD_TESTS],
           explains="one row per example"),
    # ----------------------------------------------------------------- rnn_forward
    Mutant(cell="rnn_forward", name="state not carried (h0 at every step)",
           source=_FORWARD_HEAD + '''    for t in range(steps):
        h[:, t], step_cache = rnn_step_forward(x[:, t], h0, Wx, Wh, b)
        cache.append(step_cache)
    return h, cache
''', loses=["test_rnn_forward", *RNN_BACKWARD_TESTS], explains="computed from h0"),
    Mutant(cell="rnn_forward", name="the state before each step stored",
           source=_FORWARD_HEAD + '''    prev_h = h0
    for t in range(steps):
        h[:, t] = prev_h
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        cache.append(step_cache)
    return h, cache
''', loses=["test_rnn_forward", *RNN_BACKWARD_TESTS], explains="BEFORE each step"),
    Mutant(cell="rnn_forward", name="started from zeros",
           source=_FORWARD_HEAD + '''    prev_h = np.zeros_like(h0)
    for t in range(steps):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        cache.append(step_cache)
    return h, cache
''', loses=["test_rnn_forward", *RNN_BACKWARD_TESTS], explains="started from zeros"),
    Mutant(cell="rnn_forward", name="cache of the last step only",
           source=_FORWARD_HEAD + '''    prev_h = h0
    for t in range(steps):
        prev_h, cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
    return h, cache
''', loses=["test_rnn_forward", *RNN_BACKWARD_TESTS], explains="the list of the T"),
    # ----------------------------------------------------------------- rnn_backward
    Mutant(cell="rnn_backward", name="hidden-state gradient not carried to the previous step",
           source=_BACKWARD_HEAD + '''    for t in reversed(range(steps)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db
''', loses=RNN_BACKWARD_TESTS, explains="without carrying the hidden-state gradient back"),
    Mutant(cell="rnn_backward", name="weight gradients of the last step only",
           source=_BACKWARD_HEAD + '''    for t in reversed(range(steps)):
        dx[:, t], dprev_h, _, _, _ = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
    _, _, dWx, dWh, db = rnn_step_backward(dh[:, -1], cache[-1])
    return dx, dprev_h, dWx, dWh, db
''', loses=["test_rnn_backward_dweights"], explains="share of the last time step only"),
    Mutant(cell="rnn_backward", name="weight gradients overwritten, not added",
           source=_BACKWARD_HEAD + '''    for t in reversed(range(steps)):
        dx[:, t], dprev_h, dWx, dWh, db = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
    return dx, dprev_h, dWx, dWh, db
''', loses=["test_rnn_backward_dweights"], explains="share of step 0 only"),
    Mutant(cell="rnn_backward", name="weight gradients averaged over time",
           source=_BACKWARD_HEAD + '''    for t in reversed(range(steps)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx / steps, dWh / steps, db / steps
''', loses=["test_rnn_backward_dweights"], explains="average over the T time steps"),
    Mutant(cell="rnn_backward", name="dh0 taken as the gradient of the first output",
           source=_BACKWARD_HEAD + '''    for t in reversed(range(steps)):
        upstream = dh[:, t] + dprev_h
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(upstream, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, upstream, dWx, dWh, db
''', loses=["test_rnn_backward_dh0"], explains="OUTPUT h[:, 0]"),
    Mutant(cell="rnn_backward", name="walks forward in time",
           source=_BACKWARD_HEAD + '''    for t in range(steps):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db
''', loses=RNN_BACKWARD_TESTS, explains="walking forward in time"),
    Mutant(cell="rnn_backward", name="adds the carried gradient into dh in place",
           source=_BACKWARD_HEAD + '''    for t in reversed(range(steps)):
        dh[:, t] += dprev_h
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db
''', loses=RNN_BACKWARD_TESTS, explains="in place"),
    # ----------------------------------------------------------------- lstm_step_forward
    Mutant(cell="lstm_step_forward", name="forget gate applied to prev_h",
           source=_lstm_forward_step(c="f * prev_h + i * g"), loses=ALL_LSTM, explains="f·prev_h"),
    Mutant(cell="lstm_step_forward", name="input and forget gates swapped",
           source=_lstm_forward_step(c="i * prev_c + f * g"), loses=ALL_LSTM,
           explains="the two gates swapped"),
    Mutant(cell="lstm_step_forward", name="gate blocks read as i, f, g, o",
           source=_lstm_forward_step(blocks="ifgo"), loses=ALL_LSTM, explains="order i, f, g, o"),
    Mutant(cell="lstm_step_forward", name="no tanh on the cell",
           source=_lstm_forward_step(h="o * next_c"), loses=ALL_LSTM, explains="without the tanh"),
    Mutant(cell="lstm_step_forward", name="candidate through a sigmoid",
           source=_lstm_forward_step(g_squash="sigmoid"), loses=ALL_LSTM,
           explains="the candidate g is a tanh"),
    # ----------------------------------------------------------------- lstm_step_backward
    Mutant(cell="lstm_step_backward", name="dnext_c ignored",
           source=_lstm_backward_step(dc="dnext_h * o * (1.0 - tanh_c**2)"),
           loses=[*LSTM_STEP_BACKWARD_TESTS, *LSTM_BACKWARD_TESTS], explains="without dnext_c"),
    Mutant(cell="lstm_step_backward", name="tanh derivative of the cell from next_c",
           source=_lstm_backward_step(
               dc="dnext_c + dnext_h * o * (1.0 - (f * prev_c + i * g) ** 2)"),
           loses=[*LSTM_STEP_BACKWARD_TESTS, *LSTM_BACKWARD_TESTS], explains="1 - next_c²"),
    Mutant(cell="lstm_step_backward", name="dprev_c without the forget gate",
           source=_lstm_backward_step(dprev_c="dc"),
           loses=["test_lstm_step_backward_dprev_c", *LSTM_BACKWARD_TESTS], explains="dc itself"),
    Mutant(cell="lstm_step_backward", name="sigmoid derivative taken as s",
           source=_lstm_backward_step(ds="s"),
           loses=["test_lstm_step_backward_dx_dprev_h", "test_lstm_step_backward_dweights",
                  *LSTM_BACKWARD_TESTS], explains="σ' = σ"),
    Mutant(cell="lstm_step_backward", name="gate gradients joined as i, f, g, o",
           source=_lstm_backward_step(order="da_i, da_f, da_g, da_o"),
           loses=["test_lstm_step_backward_dx_dprev_h", "test_lstm_step_backward_dweights",
                  *LSTM_BACKWARD_TESTS], explains="order i, f, g, o"),
    # ----------------------------------------------------------------- lstm_forward
    Mutant(cell="lstm_forward", name="cell state not carried",
           source=_lstm_seq_forward(c_on="np.zeros_like(next_c)"),
           loses=["test_lstm_forward", *LSTM_BACKWARD_TESTS], explains="zero cell"),
    Mutant(cell="lstm_forward", name="cell state started at h0",
           source=_lstm_seq_forward(c0="h0.copy()"),
           loses=["test_lstm_forward", *LSTM_BACKWARD_TESTS], explains="starts at h0"),
    Mutant(cell="lstm_forward", name="hidden state not carried",
           source=_lstm_seq_forward(h_in="h0"),
           loses=["test_lstm_forward", *LSTM_BACKWARD_TESTS], explains="computed from h0"),
    Mutant(cell="lstm_forward", name="cell states stored as the output",
           source=_lstm_seq_forward(stored="next_c"),
           loses=["test_lstm_forward", *LSTM_BACKWARD_TESTS], explains="not next_c"),
    # ----------------------------------------------------------------- lstm_backward
    Mutant(cell="lstm_backward", name="cell gradient not carried to the previous step",
           source=_lstm_seq_backward(up_c="np.zeros((n, hidden))"),
           loses=LSTM_BACKWARD_TESTS, explains="carrying the cell's gradient back"),
    Mutant(cell="lstm_backward", name="hidden-state gradient not carried to the previous step",
           source=_lstm_seq_backward(up_h="dh[:, t]"),
           loses=LSTM_BACKWARD_TESTS, explains="carrying the hidden state's gradient back"),
    Mutant(cell="lstm_backward", name="weight gradients overwritten, not added",
           source=_lstm_seq_backward(accumulate="dWx, dWh, db = dWx_t, dWh_t, db_t"),
           loses=["test_lstm_backward_dweights"], explains="share of step 0 only"),
    Mutant(cell="lstm_backward", name="weight gradients averaged over time",
           source=_lstm_seq_backward(weights="dWx / steps, dWh / steps, db / steps"),
           loses=["test_lstm_backward_dweights"], explains="average over the T time steps"),
    # ----------------------------------------------------------------- clip_grad_norm
    Mutant(cell="clip_grad_norm", name="clipping by value",
           source=_clip(body="{k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}"),
           loses=["test_clip_grad_norm_scaled"], explains="np.clip"),
    Mutant(cell="clip_grad_norm", name="each gradient by its own norm",
           source=_clip(body="{k: g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-12)) "
                             "for k, g in grads.items()}"),
           loses=["test_clip_grad_norm_scaled"], explains="by its own norm"),
    Mutant(cell="clip_grad_norm", name="always rescaled to max_norm",
           source=_clip(body="{k: g * (max_norm / norm if norm > 0 else 1.0) for k, g in grads.items()}"),
           loses=["test_clip_grad_norm_scaled"], explains="only scale down"),
    Mutant(cell="clip_grad_norm", name="the norm after clipping returned",
           source=_clip(returned="min(norm, max_norm)"),
           loses=["test_clip_grad_norm_total"], explains="AFTER clipping"),
    Mutant(cell="clip_grad_norm", name="sum of the gradients' own norms",
           source=_clip(norm="sum(np.linalg.norm(g) for g in grads.values())"),
           loses=["test_clip_grad_norm_total", "test_clip_grad_norm_scaled"],
           explains="each gradient's own norm"),
    Mutant(cell="clip_grad_norm", name="clipped in place",
           source='''def clip_grad_norm(grads, max_norm):
    """Clip by the joint norm, in place."""
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads, norm
''', loses=["test_clip_grad_norm_scaled"], explains="in place"),
    Mutant(cell="clip_grad_norm", name="divides by a zero norm",
           source=_clip(body="{k: g * min(1.0, max_norm / norm) for k, g in grads.items()}"),
           loses=["test_clip_grad_norm_scaled"], explains="a division by zero"),
]

ALTERNATIVES = [
    Alternative(cell="rnn_step_forward", name="one affine layer of the joined input",
                source='''def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """tanh([x, prev_h] @ [[Wx], [Wh]] + b)."""
    next_h = np.tanh(np.hstack([x, prev_h]) @ np.vstack([Wx, Wh]) + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)
'''),
    Alternative(cell="rnn_step_forward", name="a named tuple as the cache",
                source='''from collections import namedtuple

StepCache = namedtuple("StepCache", "x prev_h Wx Wh next_h")


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One RNN step; the cache is a named tuple (unpacks like the plain one)."""
    next_h = np.tanh(np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", prev_h, Wh) + b)
    return next_h, StepCache(x, prev_h, Wx, Wh, next_h)
'''),
    Alternative(cell="rnn_step_backward", name="einsum and tanh' as (1 - h)(1 + h)",
                source='''def rnn_step_backward(dnext_h, cache):
    """The step's gradients with einsum."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1.0 - next_h) * (1.0 + next_h)
    return (np.einsum("nh,dh->nd", da, Wx), np.einsum("nh,kh->nk", da, Wh),
            np.einsum("nd,nh->dh", x, da), np.einsum("nk,nh->kh", prev_h, da),
            np.einsum("nh->h", da))
'''),
    Alternative(cell="rnn_forward", name="states in a list, stacked at the end; a tuple cache",
                source='''def rnn_forward(x, h0, Wx, Wh, b):
    """The RNN over a sequence, states stacked along the time axis."""
    states, caches = [h0], []
    for x_t in np.moveaxis(x, 1, 0):
        next_h, step_cache = rnn_step_forward(x_t, states[-1], Wx, Wh, b)
        states.append(next_h)
        caches.append(step_cache)
    return np.stack(states[1:], axis=1), tuple(caches)
'''),
    Alternative(cell="rnn_backward", name="shares collected, summed at the end; dh copied",
                source='''def rnn_backward(dh, cache):
    """Backpropagation through time, one list of shares per weight."""
    dh = dh.copy()
    steps = dh.shape[1]
    dxs, shares = [None] * steps, []
    for t in range(steps - 1, -1, -1):
        dx_t, dprev_h, *share = rnn_step_backward(dh[:, t], cache[t])
        dxs[t] = dx_t
        shares.append(share)
        if t > 0:
            dh[:, t - 1] += dprev_h
    dWx, dWh, db = (np.sum([s[k] for s in shares], axis=0) for k in range(3))
    return np.stack(dxs, axis=1), dprev_h, dWx, dWh, db
'''),
    Alternative(cell="lstm_step_forward", name="one sigmoid over the three gate blocks, np.split",
                source='''def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step; the sigmoid runs once over i, f and o."""
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = np.split(sigmoid(a[:, :3 * prev_h.shape[1]]), 3, axis=1)
    g = np.tanh(a[:, 3 * prev_h.shape[1]:])
    next_c = prev_c * f + g * i
    tanh_c = np.tanh(next_c)
    return tanh_c * o, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
'''),
    Alternative(cell="lstm_step_backward", name="gate gradients written into one (N, 4H) array",
                source='''def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM step, da filled block by block."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    H = i.shape[1]
    dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)
    da = np.empty((i.shape[0], 4 * H))
    da[:, :H] = dc * g * i * (1 - i)
    da[:, H:2 * H] = dc * prev_c * f * (1 - f)
    da[:, 2 * H:3 * H] = dnext_h * tanh_c * o * (1 - o)
    da[:, 3 * H:] = dc * i * (1 - g * g)
    return da.dot(Wx.T), da.dot(Wh.T), f * dc, x.T.dot(da), prev_h.T.dot(da), np.sum(da, axis=0)
'''),
    Alternative(cell="lstm_forward", name="states stacked at the end",
                source='''def lstm_forward(x, h0, Wx, Wh, b):
    """The LSTM over a sequence; the states are stacked at the end."""
    h, c, states, caches = h0, np.zeros(h0.shape), [], []
    for t in range(x.shape[1]):
        h, c, step_cache = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        states.append(h)
        caches.append(step_cache)
    return np.stack(states, axis=1), caches
'''),
    Alternative(cell="lstm_backward", name="preallocated dx, the cell's gradient named dc",
                source='''def lstm_backward(dh, cache):
    """Backpropagation through time for the LSTM, dx preallocated."""
    n, steps, hidden = dh.shape
    dx = None
    dh_carry, dc = np.zeros((n, hidden)), np.zeros((n, hidden))
    dWx = dWh = db = 0
    for t in range(steps - 1, -1, -1):
        dx_t, dh_carry, dc, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dh_carry, dc, cache[t])
        if dx is None:
            dx = np.zeros((n, steps, dx_t.shape[1]))
        dx[:, t] = dx_t
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh_carry, dWx, dWh, db
'''),
    Alternative(cell="clip_grad_norm", name="PyTorch's factor max_norm / (norm + 1e-6)",
                source='''def clip_grad_norm(grads, max_norm):
    """Clip by the joint norm as torch.nn.utils.clip_grad_norm_ computes the factor."""
    total_norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    coef = min(max_norm / (total_norm + 1e-6), 1.0)
    return {name: g * coef for name, g in grads.items()}, total_norm
'''),
]
