"""Time one training step of an MLP: bplib, the same step hand-fused in numpy, and PyTorch (CPU).

A step is forward, softmax cross-entropy, backward and an SGD update of every parameter, on a
784-256-10 ReLU network with a batch of 128 (MNIST-sized), in float32 and float64. The "numpy"
row is the same arithmetic written inline, with no library around it: the floor for bplib,
which runs on numpy. Each figure is the median over ``--repeats`` timed steps, taken in 5
alternating blocks (each after ``--warmup`` untimed steps), so the ratios come from one run
under one machine load. The PyTorch rows are skipped when torch is not installed.

Run: ``python benchmarks/bench_mlp.py [--repeats 400] [--batch-size 128] [--hidden 256]
[--threads N] [--cpu-time]``. On a busy machine ``--threads 1 --cpu-time`` gives steadier
figures: CPU time leaves out the time spent waiting for a core.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from _common import alternating_medians, import_torch, limit_threads, machine_report

from bplib import optim
from bplib.losses import softmax_cross_entropy_loss
from bplib.model import Affine, ReLU, Sequential

__all__ = ["bplib_step", "main", "numpy_products", "numpy_step", "torch_products", "torch_step"]

IN_FEATURES, CLASSES, LEARNING_RATE = 784, 10, 0.01
DTYPES = ("float32", "float64")


def _data(dtype: Any, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random batch: x (batch, 784) of ``dtype``, y (batch,) integer labels."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, IN_FEATURES)).astype(dtype), rng.integers(0, CLASSES, batch)


def _model(dtype: Any, hidden: int, seed: int) -> Sequential:
    return Sequential(Affine(IN_FEATURES, hidden, seed=seed, dtype=dtype), ReLU(),
                      Affine(hidden, CLASSES, seed=seed + 1, dtype=dtype))


def bplib_step(dtype: Any, batch: int, hidden: int, seed: int = 0) -> Callable[[], float]:
    """A closure running one bplib training step on a fixed random batch; returns the loss.

    Written as a learner writes it with bplib's public API; every call validates its inputs.
    """
    x, y = _data(dtype, batch, seed)
    model = _model(dtype, hidden, seed)
    config = {"learning_rate": LEARNING_RATE}

    def step() -> float:
        loss, dscores = softmax_cross_entropy_loss(model.forward(x), y)
        model.backward(dscores, input_grad=False)  # x is data: no gradient needed for it
        for _, _, w, dw in model.parameters():
            optim.sgd(w, dw, config, out=w)  # in place
        return loss

    return step


def numpy_step(dtype: Any, batch: int, hidden: int, seed: int = 0) -> Callable[[], float]:
    """The same step hand-fused in numpy, from the same initial weights as :func:`bplib_step`.

    x (N, 784) -> h = relu(x @ w1 + b1) (N, hidden) -> scores = h @ w2 + b2 (N, 10); softmax
    cross-entropy; gradients by hand; ``w -= lr * dw``. No checks, no layers, no caches.
    """
    x, y = _data(dtype, batch, seed)
    (w1, b1), _, (w2, b2) = (tuple(layer.params.values()) for layer in _model(dtype, hidden, seed))
    rows = np.arange(batch)

    def step() -> float:
        h = x @ w1
        h += b1
        np.maximum(h, 0, out=h)
        scores = h @ w2
        scores += b2
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = float(-np.mean(np.log(probs[rows, y])))
        dscores = probs
        dscores[rows, y] -= 1
        dscores /= batch
        dw2, db2 = h.T @ dscores, dscores.sum(axis=0)
        dh = dscores @ w2.T
        dh *= h > 0
        dw1, db1 = x.T @ dh, dh.sum(axis=0)
        for w, dw in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2)):
            w -= LEARNING_RATE * dw
        return loss

    return step


def numpy_products(dtype: Any, batch: int, hidden: int, seed: int = 0) -> Callable[[], object]:
    """Only the step's two large matrix products, in numpy: ``x @ w1`` (N, hidden) and
    ``x.T @ dh`` (784, hidden). Whatever numpy code computes the step needs them: their time is
    the least a numpy step can take, and beside PyTorch's whole step, the best ratio it can reach."""
    x, w1, dh = _product_operands(dtype, batch, hidden, seed)

    def products() -> object:
        return x @ w1, x.T @ dh

    return products


def torch_products(torch: Any, dtype: str, batch: int, hidden: int, seed: int = 0
                   ) -> Callable[[], object]:
    """The same two products in PyTorch (``torch.mm``), from the same arrays."""
    x, w1, dh = (torch.from_numpy(a) for a in _product_operands(dtype, batch, hidden, seed))

    def products() -> object:
        return torch.mm(x, w1), torch.mm(x.t(), dh)

    return products


def _product_operands(dtype: Any, batch: int, hidden: int, seed: int) -> tuple[np.ndarray, ...]:
    x, _ = _data(dtype, batch, seed)
    rng = np.random.default_rng(seed + 1)
    return (x, rng.standard_normal((IN_FEATURES, hidden)).astype(dtype),
            rng.standard_normal((batch, hidden)).astype(dtype))


def torch_step(torch: Any, dtype: str, batch: int, hidden: int, seed: int = 0
               ) -> Callable[[], float]:
    """The same step in PyTorch: nn.Linear layers, F.cross_entropy, torch.optim.SGD."""
    torch.manual_seed(seed)
    tdtype = getattr(torch, dtype)
    x = torch.randn(batch, IN_FEATURES, dtype=tdtype)
    y = torch.randint(0, CLASSES, (batch,))
    model = torch.nn.Sequential(torch.nn.Linear(IN_FEATURES, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, CLASSES)).to(tdtype)
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _same_losses(batch: int, hidden: int) -> float:
    """Largest relative gap between bplib's and numpy's first 3 float64 losses (should be ~0)."""
    ours, theirs = bplib_step(np.float64, batch, hidden), numpy_step(np.float64, batch, hidden)
    return max(abs(ours() - (t := theirs())) / t for _ in range(3))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit numpy's BLAS (needs threadpoolctl) and torch to N threads")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time CPU time rather than wall time (with --threads 1: steadier "
                             "on a busy machine)")
    args = parser.parse_args(argv)

    torch = import_torch()
    limit_threads(args.threads, torch)
    clock = "CPU" if args.cpu_time else "wall"
    print(f"MLP {IN_FEATURES}-{args.hidden}-{CLASSES}, batch {args.batch_size}, SGD step "
          f"(forward + loss + backward + update); median {clock} time of {args.repeats} steps "
          "in 5 alternating blocks")
    print("\n".join(machine_report(torch)))
    print(f"bplib and numpy rows do the same arithmetic: first losses agree to "
          f"{_same_losses(args.batch_size, args.hidden):.0e} (relative)")

    makers: dict[str, Callable[[], Callable[[], object]]] = {}
    shape = (args.batch_size, args.hidden)
    for dtype in DTYPES:
        makers[f"bplib {dtype}"] = partial(bplib_step, getattr(np, dtype), *shape)
        makers[f"numpy {dtype}"] = partial(numpy_step, getattr(np, dtype), *shape)
        if torch is not None:
            makers[f"torch {dtype}"] = partial(torch_step, torch, dtype, *shape)
            makers[f"numpy products {dtype}"] = partial(numpy_products, getattr(np, dtype), *shape)
            makers[f"torch products {dtype}"] = partial(torch_products, torch, dtype, *shape)
    ms = alternating_medians(makers, args.repeats, args.warmup, cpu_time=args.cpu_time)

    print()
    print("| dtype | bplib ms | numpy ms | torch ms | bplib / numpy | bplib / torch "
          "| numpy / torch | products: numpy / torch | floor: numpy products / torch step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for dtype in DTYPES:
        ours, fused = ms[f"bplib {dtype}"], ms[f"numpy {dtype}"]
        theirs = ms.get(f"torch {dtype}")
        cells = [f"{ours:.3f}", f"{fused:.3f}", "-", f"{ours / fused:.2f}x", "-", "-", "-", "-"]
        if theirs is not None:
            products = ms[f"numpy products {dtype}"]
            cells[2], cells[4], cells[5] = (f"{theirs:.3f}", f"{ours / theirs:.2f}x",
                                            f"{fused / theirs:.2f}x")
            cells[6] = f"{products / ms[f'torch products {dtype}']:.2f}x"
            cells[7] = f"{products / theirs:.2f}x"
        print(f"| {dtype} | " + " | ".join(cells) + " |")
    print("\nratios below 1 mean the left one is faster. Absolute times depend on the machine's "
          "load; the ratios are measured under the same load. 'products': only the step's two "
          "large matrix products (x @ w1 and x.T @ dh), numpy's BLAS beside PyTorch's; 'floor': "
          "those products in numpy beside PyTorch's whole step, the ratio no numpy step can beat.")


if __name__ == "__main__":
    main()
