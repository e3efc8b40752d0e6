"""Properties over many generated inputs (Hypothesis): the wire and the mistake catalogue.

* Does every plain value cross the wire unchanged, and does any JSON a learner's process could
  send decode or fail with :class:`WireError` only?
* Is the right answer never taken for a known mistake, and is each mistake's own result
  recognised as a mistake?
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.mistakes import diagnose
from autograder.mistakes.activations import (
    LEAKY_RELU_BACKWARD,
    RELU_BACKWARD,
    SIGMOID_BACKWARD,
    TANH_BACKWARD,
)
from autograder.mistakes.optimizers import ADAM, RMSPROP, SGD, SGD_MOMENTUM
from autograder.wire import Handle, WireError, decode, encode
from bplib import optim

# ----------------------------------------------------------------------------------- the wire

_SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
            | st.text(max_size=20))
_ARRAYS = hnp.arrays(st.sampled_from([np.float64, np.int64, np.bool_, np.float32]),
                     hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
_VALUES = st.recursive(
    _SCALARS | _ARRAYS,
    lambda inner: (st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
                   | st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, list | tuple):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _no_handles(obj: object) -> Handle:
    raise AssertionError(f"plain data needs no handle: {obj!r}")


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_does_every_plain_value_cross_the_wire_unchanged(value):
    data = json.loads(json.dumps(encode(value, _no_handles)))
    back = decode(data, lambda key, name: pytest.fail("no handle was sent"))
    assert _same(value, back)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["i", "f", "nd", "h", "cb", "t", "l", "d", "type", "x"]), inner, max_size=3),
    max_leaves=15,
)


@settings(max_examples=500, deadline=None)
@given(_JSON)
def test_does_any_json_decode_or_fail_with_a_wire_error_only(data):
    try:
        decode(data, lambda key, name: ("handle", key), from_callback=lambda key: ("cb", key))
    except WireError:
        pass


# ----------------------------------------------------------------------------------- the catalogue

_FINITE = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)


def _vectors(n: int = 4):
    return hnp.arrays(np.float64, (n,), elements=_FINITE)


_RULES = {
    "sgd": (optim.sgd, SGD, {"learning_rate": st.floats(1e-3, 0.5)}),
    "sgd_momentum": (optim.sgd_momentum, SGD_MOMENTUM,
                     {"learning_rate": st.floats(1e-3, 0.5), "momentum": st.floats(0.1, 0.95)}),
    "rmsprop": (optim.rmsprop, RMSPROP,
                {"learning_rate": st.floats(1e-3, 0.5), "decay_rate": st.floats(0.5, 0.999)}),
    "adam": (optim.adam, ADAM, {"learning_rate": st.floats(1e-3, 0.5), "beta1": st.floats(0.5, 0.95),
                                "beta2": st.floats(0.9, 0.999)}),
}


def _assert_no_mistake(want: np.ndarray, mistakes: list, inputs: tuple) -> None:
    """The right answer matches no mistake, unless that mistake changes nothing for these
    inputs (Adam's "v of dw" when every |dw| is 1: dw**2 is dw)."""
    for mistake in mistakes:
        if mistake.matches(want, inputs, want):
            same = mistake.value(*inputs)
            assert same is not None and np.allclose(same, want, rtol=1e-7, atol=1e-10), (
                f"the right answer was taken for {mistake.name!r}"
            )


@pytest.mark.parametrize("rule", sorted(_RULES))
def test_is_a_right_update_never_taken_for_a_known_mistake(rule):
    reference, mistakes, knobs = _RULES[rule]

    @settings(max_examples=150, deadline=None)
    @given(w=_vectors(), dw=_vectors().filter(lambda v: np.all(np.abs(v) > 1e-2)),
           config=st.fixed_dictionaries(knobs))
    def right_is_no_mistake(w, dw, config):
        want, _ = reference(w.copy(), dw.copy(), copy.deepcopy(config))
        _assert_no_mistake(want, mistakes, (w, dw, config))

    right_is_no_mistake()


@settings(max_examples=150, deadline=None)
@given(w=_vectors(), dw=_vectors().filter(lambda v: np.all(np.abs(v) > 1e-2)),
       lr=st.floats(1e-3, 0.5), t=st.integers(1, 50))
def test_is_each_adam_mistake_recognised_as_a_mistake(w, dw, lr, t):
    config = {"learning_rate": lr, "t": t, "m": 0.3 * dw, "v": 0.1 * dw**2}
    want, _ = optim.adam(w.copy(), dw.copy(), copy.deepcopy(config))
    for mistake in ADAM:
        got = mistake.value(w, dw, config)
        if got is None or np.allclose(got, want, rtol=1e-7, atol=1e-10):
            continue  # a relation, or a mistake that changes nothing for these inputs
        assert diagnose(got, ADAM, w, dw, config, want=want) is not None, mistake.name


_BACKWARD = [
    ("relu", RELU_BACKWARD, lambda x, dout: (x,), lambda x, dout: np.where(x > 0, dout, 0.0)),
    ("leaky", LEAKY_RELU_BACKWARD, lambda x, dout: (x, 0.1),
     lambda x, dout: np.where(x > 0, dout, 0.1 * dout)),
    ("sigmoid", SIGMOID_BACKWARD, lambda x, dout: (1 / (1 + np.exp(-x)),),
     lambda x, dout: dout / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))),
    ("tanh", TANH_BACKWARD, lambda x, dout: (np.tanh(x),),
     lambda x, dout: dout * (1 - np.tanh(x) ** 2)),
]


@pytest.mark.parametrize(("name", "mistakes", "inputs", "right"), _BACKWARD,
                         ids=[row[0] for row in _BACKWARD])
def test_is_a_right_backward_never_taken_for_a_known_mistake(name, mistakes, inputs, right):
    @settings(max_examples=150, deadline=None)
    @given(x=_vectors(6).map(lambda v: np.where(np.abs(v) < 0.05, 0.0, v)),
           dout=_vectors(6).filter(lambda v: np.all(np.abs(v) > 1e-2)))
    def right_is_no_mistake(x, dout):
        want = right(x, dout)
        _assert_no_mistake(want, mistakes, (*inputs(x, dout), dout))

    right_is_no_mistake()
