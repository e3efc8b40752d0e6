"""Known mistakes of regularization (notebook 11): the L2 penalty and inverted dropout.

Inputs, as the graded functions get them:

* :data:`L2_PENALTY_LOSS`: ``(weights, reg)``, ``weights`` one array or a list (or tuple) of
  arrays; the mistaken loss, one number.
* :data:`L2_PENALTY_GRAD`: ``(w, reg)`` for ONE array (for a list, each array's gradient on its
  own); the mistaken gradient.
* :data:`DROPOUT_FORWARD`: ``(x, dropout_param)``. The mask is random, so a mistake of the train
  mode is a relation of the answer ``out`` and the right answer for the answer's own mask,
  ``want = x * (out != 0) / (1 - p)``; in test mode the right answer is ``x``.
* :data:`DROPOUT_BACKWARD`: ``(dout, dropout_param)``, the upstream gradient and the param dict of
  the forward call whose cache the backward pass got; the right answer is
  ``want = dout * mask / (1 - p)`` with that call's own 0/1 mask in train mode, ``dout`` in test
  mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.numeric import MATCH, close

from . import Mistake, negated

__all__ = ["DROPOUT_BACKWARD", "DROPOUT_FORWARD", "L2_PENALTY_GRAD", "L2_PENALTY_LOSS"]


# ----------------------------------------------------------------------------- L2 penalty


def _arrays(weights: Any) -> list[np.ndarray]:
    """The weight arrays: the list's (or tuple's) arrays, or the one array."""
    items = list(weights) if isinstance(weights, list | tuple) else [weights]
    return [np.asarray(w, dtype=np.float64) for w in items]


def _squares(weights: Any) -> float:
    return sum(float(np.sum(w * w)) for w in _arrays(weights))


def _is_list(weights: Any) -> bool:
    return isinstance(weights, list | tuple) and len(weights) > 1


def _unit_entries(weights: Any) -> bool:
    """Every entry is -1, 0 or 1, where |w| and w**2 agree."""
    return all(np.array_equal(np.abs(w), w * w) for w in _arrays(weights))


def _loss(mistaken: Any) -> Any:
    """A loss mistake, ``None`` where every weight is 0 (every variant of the penalty is 0)."""
    return lambda weights, reg: mistaken(weights, reg) if _squares(weights) else None


L2_PENALTY_LOSS = [
    Mistake("no 0.5", "twice the penalty: the convention is 0.5 * reg * sum(w**2) (the 0.5 "
            "cancels the 2 of the derivative)",
            _loss(lambda weights, reg: reg * _squares(weights) if reg else None)),
    Mistake("L1", "sum(|w|) * reg / 2: that is an L1 penalty; L2 squares the weights",
            _loss(lambda weights, reg: 0.5 * reg * sum(float(np.sum(np.abs(w)))
                                                        for w in _arrays(weights))
                  if reg and not _unit_entries(weights) else None)),
    Mistake("norm", "the norm instead of its square: sum the squares w**2 without a square root",
            _loss(lambda weights, reg: 0.5 * reg * np.sqrt(_squares(weights))
                  if reg and _squares(weights) != 1 else None)),
    Mistake("mean", "the mean of w**2: the penalty sums over every entry",
            _loss(lambda weights, reg: 0.5 * reg * sum(float(np.mean(w * w))
                                                        for w in _arrays(weights))
                  if reg and any(w.size > 1 for w in _arrays(weights)) else None)),
    Mistake("no reg", "0.5 * sum(w**2) without reg: multiply by the strength reg",
            _loss(lambda weights, reg: 0.5 * _squares(weights) if reg != 1 else None)),
    Mistake("first array only", "the penalty of weights[0] alone: add up the penalties of every "
            "array in the list",
            _loss(lambda weights, reg: 0.5 * reg * _squares(weights[0])
                  if reg and _is_list(weights) and _squares(weights[1:]) else None)),
    Mistake("last array only", "the penalty of the last array alone, as from a loop that sets the "
            "loss instead of adding to it: add up (+=) the penalties of every array in the list",
            _loss(lambda weights, reg: 0.5 * reg * _squares(weights[-1])
                  if reg and _is_list(weights) and _squares(weights[:-1]) else None)),
]


def _grad(mistaken: Any) -> Any:
    """A gradient mistake, ``None`` where reg or every weight is 0 (the gradient is 0 then)."""
    return lambda w, reg: mistaken(np.asarray(w, dtype=np.float64), reg) \
        if reg and np.any(w) else None


L2_PENALTY_GRAD = [
    Mistake("extra 2", "2 * reg * w: the 0.5 of the penalty cancels the 2 of d(w**2)/dw, so the "
            "gradient is reg * w", _grad(lambda w, reg: 2 * reg * w)),
    Mistake("sign", "-reg * w: the sign is flipped; the penalty grows with |w|, so its gradient "
            "points along w", relation=negated),
    Mistake("half", "0.5 * reg * w: d(w**2)/dw = 2 * w, which cancels the 0.5",
            _grad(lambda w, reg: 0.5 * reg * w)),
    Mistake("no reg", "w itself: the factor reg is missing (the gradient is reg * w)",
            lambda w, reg: np.asarray(w) if reg != 1 and np.any(w) else None),
    Mistake("L1", "reg * sign(w), the gradient of an L1 penalty: the gradient of "
            "0.5 * reg * sum(w**2) is reg * w",
            _grad(lambda w, reg: reg * np.sign(w) if not _unit_entries(w) else None)),
    Mistake("half L1", "0.5 * reg * sign(w), the gradient of the L1 penalty 0.5 * reg * "
            "sum(|w|): the gradient of 0.5 * reg * sum(w**2) is reg * w",
            _grad(lambda w, reg: 0.5 * reg * np.sign(w) if not _unit_entries(w) else None)),
]


# ----------------------------------------------------------------------------- dropout


def _p(param: dict[str, Any]) -> float:
    return float(param["p"])


def _train(param: dict[str, Any]) -> bool:
    return param.get("mode") == "train" and 0 < _p(param) < 1


def _test(param: dict[str, Any]) -> bool:
    return param.get("mode") == "test" and 0 < _p(param) < 1


def _inverted(want: Any, first: Any, p: float) -> bool:
    """Whether the right answer is the first input times an inverted-dropout mask (0 or
    1 / (1 - p)): else the forward pass that made it was wrong, not the answer's scale."""
    want, first = np.asarray(want, dtype=np.float64), np.asarray(first, dtype=np.float64)
    if want.shape != first.shape:
        return False
    live = (want != 0) & (first != 0)
    ratio = want[live] / first[live]
    return close(ratio, np.full(ratio.shape, 1 / (1 - p)), MATCH)


def _scaled(factor: Any) -> Any:
    """A relation of the train mode: the answer is the right one times ``factor(p)``."""
    return lambda got, want, first, param: _train(param) and _inverted(
        want, first, _p(param)) and close(
        got, np.asarray(want, dtype=np.float64) * factor(_p(param)), MATCH)


def _keeps_p(got: Any, want: Any, x: Any, param: dict[str, Any]) -> bool:
    """About a fraction 1 - p of the units dropped (within six standard deviations), not p."""
    out, x = np.asarray(got, dtype=np.float64), np.asarray(x, dtype=np.float64)
    p, live = _p(param), x != 0
    if not _train(param) or out.shape != x.shape or not np.any(live):
        return False
    dropped = float(np.mean(out[live] == 0))
    spread = 6.0 * np.sqrt(p * (1 - p) / np.count_nonzero(live))
    return abs(dropped - (1 - p)) <= spread < abs(dropped - p)


def _drops_in_test(got: Any, want: Any, x: Any, param: dict[str, Any]) -> bool:
    out, x = np.asarray(got, dtype=np.float64), np.asarray(x, dtype=np.float64)
    return _test(param) and out.shape == x.shape and bool(np.any((out == 0) & (x != 0)))


DROPOUT_FORWARD = [
    Mistake("keep probability", "p used as the probability of KEEPING a unit: p is the "
            "probability of DROPPING a unit, so keep each unit with probability 1 - p (keep where "
            "u >= p)", relation=_keeps_p),
    Mistake("not rescaled", "x * mask: the kept units are not rescaled; divide them by the keep "
            "probability 1 - p, so that E[out] = x and test mode can stay the identity",
            relation=_scaled(lambda p: 1 - p)),
    Mistake("times keep probability", "x * mask * (1 - p): the kept units are multiplied by "
            "1 - p; inverted dropout DIVIDES by 1 - p (the keep probability)",
            relation=_scaled(lambda p: (1 - p) ** 2)),
    Mistake("divided by p", "x * mask / p: the kept units are divided by p; divide by the keep "
            "probability 1 - p", relation=_scaled(lambda p: (1 - p) / p)),
    Mistake("scaled at test time", "x * (1 - p), scaled in test mode: inverted dropout already "
            "divided by 1 - p in training, so test mode returns x unchanged",
            lambda x, param: np.asarray(x) * (1 - _p(param)) if _test(param) else None),
    Mistake("rescaled at test time", "x / (1 - p), scaled in test mode: inverted dropout "
            "rescales in training only, so test mode returns x unchanged",
            lambda x, param: np.asarray(x) / (1 - _p(param)) if _test(param) else None),
    Mistake("dropped at test time", "x with units dropped in test mode: at test time every unit "
            "is used; return x unchanged", relation=_drops_in_test),
]


def _other_mask(got: Any, want: Any, dout: Any, param: dict[str, Any]) -> bool:
    """dout / (1 - p) where another mask keeps a unit: zeros where the forward pass kept one."""
    dx, right = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    if not _train(param) or dx.shape != right.shape:
        return False
    kept = dx != 0
    return bool(np.any(kept != (right != 0))) and close(
        dx[kept], dout[kept] / (1 - _p(param)), MATCH)


DROPOUT_BACKWARD = [
    Mistake("not scaled", "dout * mask without the 1 / (1 - p): the kept units' gradient is not "
            "scaled; the forward pass multiplied them by 1 / (1 - p), so d out / d x = mask / "
            "(1 - p)", relation=_scaled(lambda p: 1 - p)),
    Mistake("scaled twice", "dout * mask / (1 - p)**2: the scale 1 / (1 - p) is applied twice; "
            "the cached mask already holds it, so dx = dout * mask",
            relation=_scaled(lambda p: 1 / (1 - p))),
    Mistake("other mask", "dout through a different mask from the forward pass: use the mask "
            "from the cache (a newly drawn mask belongs to a different thinned network)",
            relation=_other_mask),
    Mistake("no mask", "dout unchanged: a mask is missing; a dropped unit passes no gradient, so "
            "dx = dout * mask / (1 - p) with the forward pass's mask",
            lambda dout, param: np.asarray(dout) if _train(param) else None),
    Mistake("scaled at test time", "dout * (1 - p), scaled in test mode: there dropout is the "
            "identity, so dx = dout",
            lambda dout, param: np.asarray(dout) * (1 - _p(param)) if _test(param) else None),
    Mistake("rescaled at test time", "dout / (1 - p), scaled in test mode: there dropout is the "
            "identity, so dx = dout",
            lambda dout, param: np.asarray(dout) / (1 - _p(param)) if _test(param) else None),
]
