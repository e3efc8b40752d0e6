"""Time one training step of an MLP in bplib and in PyTorch (CPU), in float32 and float64.

A step is forward, softmax cross-entropy, backward and an SGD update of every parameter, on a
784-256-10 ReLU network with a batch of 128 (MNIST-sized). Each figure is the median over
``--repeats`` timed steps (in 5 alternating blocks, each after ``--warmup`` untimed steps). The PyTorch rows are skipped when
torch is not installed.

Run: ``python benchmarks/bench_mlp.py [--repeats 200] [--batch-size 128] [--hidden 256]
[--threads N]``. On a busy machine ``--threads 1`` gives steadier figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from bplib import optim
from bplib.losses import softmax_cross_entropy_loss
from bplib.model import Affine, ReLU, Sequential

__all__ = ["bplib_step", "main", "median_ms", "torch_step"]

IN_FEATURES, CLASSES, LEARNING_RATE = 784, 10, 0.01


def median_ms(steps: dict[str, Callable[[], object]], repeats: int, warmup: int, rounds: int = 5
              ) -> dict[str, float]:
    """Median wall time of each ``step()`` in milliseconds, over ``repeats`` timed calls.

    The contenders take turns in ``rounds`` blocks of consecutive calls, so that a change in
    machine load during the run hits all of them alike. Not call-by-call: after its own work,
    each library's thread pool spins for a while and would slow the other one down. Each block
    starts with ``warmup`` untimed calls.
    """
    per_block = max(1, repeats // rounds)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(warmup):
                step()
            for _ in range(per_block):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def bplib_step(dtype: type, batch: int, hidden: int, seed: int = 0) -> Callable[[], float]:
    """A closure running one bplib training step on a fixed random batch; returns the loss."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, IN_FEATURES)).astype(dtype)
    y = rng.integers(0, CLASSES, batch)
    model = Sequential(Affine(IN_FEATURES, hidden, seed=seed, dtype=dtype), ReLU(),
                       Affine(hidden, CLASSES, seed=seed + 1, dtype=dtype))
    config = {"learning_rate": LEARNING_RATE}

    def step() -> float:
        loss, dscores = softmax_cross_entropy_loss(model.forward(x), y)
        model.backward(dscores)
        for _, _, w, dw in model.parameters():
            w[...] = optim.sgd(w, dw, config)[0]
        return loss

    return step


def torch_step(dtype: str, batch: int, hidden: int, seed: int = 0) -> Callable[[], float]:
    """The same step in PyTorch: nn.Linear layers, F.cross_entropy, torch.optim.SGD."""
    import torch

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit numpy's BLAS (needs threadpoolctl) and torch to N threads")
    args = parser.parse_args(argv)

    try:
        import torch
    except ImportError:
        torch = None
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)  # stays in force for the rest of the process
        if torch is not None:
            torch.set_num_threads(args.threads)

    print(f"MLP {IN_FEATURES}-{args.hidden}-{CLASSES}, batch {args.batch_size}, SGD step "
          f"(forward + loss + backward + update); median of {args.repeats} steps")
    print(f"numpy {np.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, BLAS threads {args.threads or 'default'}" + (f", torch {torch.__version__} "
                                      f"({torch.get_num_threads()} threads)" if torch else
                                      ", torch not installed"))
    steps: dict[str, Callable[[], object]] = {}
    for dtype in ("float32", "float64"):
        steps[f"bplib {dtype}"] = bplib_step(getattr(np, dtype), args.batch_size, args.hidden)
        if torch is not None:
            steps[f"torch {dtype}"] = torch_step(dtype, args.batch_size, args.hidden)
    ms = median_ms(steps, args.repeats, args.warmup)

    header = f"{'dtype':<8} {'bplib ms':>9} {'torch ms':>9} {'bplib/torch':>12}"
    print(header)
    print("-" * len(header))
    for dtype in ("float32", "float64"):
        ours = ms[f"bplib {dtype}"]
        if torch is None:
            print(f"{dtype:<8} {ours:>9.3f} {'-':>9} {'-':>12}")
            continue
        theirs = ms[f"torch {dtype}"]
        print(f"{dtype:<8} {ours:>9.3f} {theirs:>9.3f} {ours / theirs:>11.2f}x")

if __name__ == "__main__":
    main()
