"""Are the data sets the right shapes, reproducible from their seed, balanced, and validated?"""

from __future__ import annotations

import numpy as np
import pytest

from bplib import datasets
from bplib.datasets import (
    DIGITS_CITATION,
    blobs,
    circles,
    load_digits,
    logic_gate,
    spirals,
    train_test_split,
    two_moons,
)

GENERATORS = {
    "blobs": lambda seed: blobs(101, seed=seed),
    "two_moons": lambda seed: two_moons(101, noise=0.1, seed=seed),
    "circles": lambda seed: circles(101, noise=0.05, factor=0.4, seed=seed),
    "spirals": lambda seed: spirals(34, n_classes=3, noise=0.2, seed=seed),
}


@pytest.mark.parametrize(
    ("gate", "expected"),
    [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0]), ("NAND", [1, 1, 1, 0])],
)
def test_does_each_logic_gate_give_its_truth_table(gate, expected):
    X, y = logic_gate(gate)
    assert X.shape == (4, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, expected)


def test_does_an_unknown_gate_list_the_valid_names():
    with pytest.raises(ValueError, match='"and" or "or" or "xor" or "nand"'):
        logic_gate("xnor")


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_are_toy_sets_shaped_typed_and_balanced(name):
    X, y = GENERATORS[name](0)
    n = 101 if name != "spirals" else 102
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1 and len(counts) == (3 if name == "spirals" else 2)
    assert np.all(np.isfinite(X))
    # Shuffled: the first half is not a single class.
    assert len(np.unique(y[: n // 2])) > 1


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_does_the_same_seed_give_the_same_data_and_another_seed_other_data(name):
    X1, y1 = GENERATORS[name](3)
    X2, y2 = GENERATORS[name](3)
    X3, _ = GENERATORS[name](4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("seed", range(5))
def test_are_blobs_linearly_separable_for_every_seed(seed):
    X, y = blobs(200, seed=seed, separation=1.0)
    side = X @ np.array([1.0, 1.0])
    assert np.all(side[y == 1] > 0) and np.all(side[y == 0] < 0)


def test_do_noiseless_circles_lie_on_their_radii():
    X, y = circles(50, noise=0.0, factor=0.3, seed=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_do_noiseless_moons_lie_on_their_half_circles():
    X, y = two_moons(60, noise=0.0, seed=0)
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0)
    assert np.all(X[y == 0, 1] >= 0) and np.all(X[y == 1, 1] <= 0.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: blobs(0), "n must be an integer >= 2"),
        (lambda: blobs(10, separation=0), "separation"),
        (lambda: two_moons(2.5), "n must be an integer"),
        (lambda: two_moons(10, noise=-0.1), "noise must be a finite number >= 0"),
        (lambda: circles(10, factor=1.0), "factor must be strictly between 0 and 1"),
        (lambda: circles(10, noise=float("nan")), "noise"),
        (lambda: spirals(0), "n_per_class must be an integer >= 1"),
        (lambda: spirals(5, n_classes=1), "n_classes must be an integer >= 2"),
    ],
)
def test_do_bad_arguments_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_does_load_digits_return_the_1797_images():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    # Class sizes of the UCI test split.
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_are_raw_digits_counts_from_0_to_16():
    X, _ = load_digits(normalize=False)
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    np.testing.assert_allclose(load_digits()[0], X / 16)
    # The first image is a zero whose top-left and bottom-right corners are blank.
    assert X[0].reshape(8, 8)[0, 0] == 0 and load_digits()[1][0] == 0


def test_does_changing_loaded_digits_not_change_the_next_load():
    X, y = load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0 and y2.min() == 0


def test_is_the_digits_citation_the_uci_one():
    assert "Alpaydin" in DIGITS_CITATION and "10.24432/C50P49" in DIGITS_CITATION
    assert "CC BY 4.0" in DIGITS_CITATION


@pytest.mark.parametrize("stratify", [True, False])
def test_does_the_split_have_the_right_sizes_and_keep_every_example_once(stratify):
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.2, seed=1, stratify=stratify)
    assert Xtr.shape == (1438, 64) and Xte.shape == (359, 64)
    assert ytr.shape == (1438,) and yte.shape == (359,)
    # Every row appears exactly once across the two parts, with its own label.
    rows = np.vstack([Xtr, Xte])
    labels = np.concatenate([ytr, yte])
    order_a = np.lexsort(np.column_stack([X, y]).T)
    order_b = np.lexsort(np.column_stack([rows, labels]).T)
    np.testing.assert_array_equal(np.column_stack([X, y])[order_a],
                                  np.column_stack([rows, labels])[order_b])


def test_does_stratification_keep_class_proportions():
    X, y = load_digits()
    _, _, ytr, yte = train_test_split(X, y, test_fraction=0.25, seed=0, stratify=True)
    expected = np.bincount(y) * 0.25
    assert np.all(np.abs(np.bincount(yte, minlength=10) - expected) < 1)
    assert np.bincount(ytr).sum() + np.bincount(yte).sum() == len(y)


def test_is_the_split_reproducible_and_not_mutating():
    X, y = two_moons(50, seed=0)
    X0, y0 = X.copy(), y.copy()
    a = train_test_split(X, y, seed=4)
    b = train_test_split(X, y, seed=4)
    c = train_test_split(X, y, seed=5)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.zeros((5, 2)), np.zeros(4, int)), "same N"),
        ((np.zeros((5, 2)), np.zeros(5, int), 1.0), "strictly between 0 and 1"),
        ((np.zeros((5, 2)), np.zeros(5, int), 0.01), "both need at least one"),
    ],
)
def test_do_bad_split_arguments_raise_value_errors(args, message):
    with pytest.raises(ValueError, match=message):
        train_test_split(*args)


def test_does_every_public_name_exist():
    assert all(hasattr(datasets, name) for name in datasets.__all__)
