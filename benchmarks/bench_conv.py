"""Time and memory of bplib's vectorized convolution and max pooling beside PyTorch (CPU).

One pass is forward + backward (all gradients), at the sizes a digits CNN uses: a batch of 64
images of 1x8x8 (the UCI digits) and 1x28x28 (MNIST-sized), 16-32 filters of 3x3 at stride 1 and
4x4 at stride 2 (a 3x3 kernel at stride 2 only tiles an odd size, such as the 7x7 row), and
2x2 max pooling of the conv outputs. Each time is the median over ``--repeats`` passes, taken in
5 alternating blocks of bplib and PyTorch in float64 and float32, so the ratios come from one
run under one machine load.

Memory: the peak of numpy's allocations during one bplib pass (tracemalloc; the inputs are not
counted), at the batch size and at twice it: a ratio of 2.0 means memory grows linearly in the
batch. PyTorch's allocations bypass tracemalloc and are not measured.

Run: ``python benchmarks/bench_conv.py [--repeats 25] [--batch-size 64] [--threads 1]
[--cpu-time]``. numpy's BLAS and PyTorch run with ``--threads`` threads (default 1): on a small,
shared machine a multithreaded BLAS spends more time waking threads than multiplying these
matrices. ``--cpu-time`` times CPU time instead of wall time: steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from _common import alternating_medians, import_torch, limit_threads, machine_report

from bplib.conv import conv_backward, conv_forward, max_pool_backward, max_pool_forward

__all__ = ["CONVS", "POOLS", "main", "peak_mb"]

# (x shape without the batch, w shape, stride, pad)
CONVS = [
    ((1, 8, 8), (16, 1, 3, 3), 1, 1),
    ((16, 8, 8), (32, 16, 3, 3), 1, 1),
    ((16, 8, 8), (32, 16, 4, 4), 2, 1),
    ((1, 28, 28), (16, 1, 3, 3), 1, 1),
    ((16, 14, 14), (32, 16, 3, 3), 1, 1),
    ((1, 28, 28), (16, 1, 4, 4), 2, 1),
    ((16, 28, 28), (32, 16, 4, 4), 2, 1),
    ((32, 7, 7), (32, 32, 3, 3), 2, 1),
]
# x shape without the batch; 2x2 windows, stride 2
POOLS = [(16, 8, 8), (32, 8, 8), (16, 28, 28), (32, 14, 14)]
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}
DTYPES = ("float64", "float32")


def peak_mb(run: Callable[[], object]) -> float:
    """Peak MB that numpy allocated during ``run()``, beyond what was allocated before it."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run()
        return (tracemalloc.get_traced_memory()[1] - before) / 2**20
    finally:
        tracemalloc.stop()


def _conv_case(batch: int, x_shape: tuple, w_shape: tuple, stride: int, pad: int, dtype: str,
               seed: int = 0) -> tuple[Callable[[], object], list[np.ndarray]]:
    """A bplib pass on random data and its inputs ``[x, w, b, dout]``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *x_shape)).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    param = {"stride": stride, "pad": pad}
    dout = rng.standard_normal(conv_forward(x, w, b, param)[0].shape).astype(dtype)

    def run() -> object:
        return conv_backward(dout, conv_forward(x, w, b, param)[1])

    return run, [x, w, b, dout]


def _pool_case(batch: int, x_shape: tuple, dtype: str, seed: int = 0
               ) -> tuple[Callable[[], object], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal((batch, *x_shape)), 0).astype(dtype)  # ties, as after ReLU
    dout = rng.standard_normal(max_pool_forward(x, POOL)[0].shape).astype(dtype)

    def run() -> object:
        return max_pool_backward(dout, max_pool_forward(x, POOL)[1])

    return run, [x, dout]


def _torch_conv(torch: Any, arrays: list[np.ndarray], stride: int, pad: int) -> Callable:
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in arrays[:3])
    tdout = torch.tensor(arrays[3])

    def run() -> object:
        out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
        return torch.autograd.grad(out, (tx, tw, tb), tdout)

    return run


def _torch_pool(torch: Any, arrays: list[np.ndarray]) -> Callable:
    tx = torch.tensor(arrays[0], requires_grad=True)
    tdout = torch.tensor(arrays[1])

    def run() -> object:
        out = torch.nn.functional.max_pool2d(tx, 2, 2)
        return torch.autograd.grad(out, (tx,), tdout)

    return run


def _bplib_run(make_bplib: Callable, batch: int, dtype: str) -> Callable[[], object]:
    return make_bplib(batch, dtype)[0]


def _torch_run(make_bplib: Callable, make_torch: Callable, batch: int, dtype: str
               ) -> Callable[[], object]:
    """The torch pass on the same data as bplib's."""
    return make_torch(make_bplib(batch, dtype)[1])


def _gap(ours: Any, theirs: Any) -> float:
    """Largest absolute difference between bplib's and torch's gradients."""
    ours = ours if isinstance(ours, tuple) else (ours,)
    return max(float(np.max(np.abs(o - t.numpy()))) for o, t in zip(ours, theirs, strict=True))


def _rows(cases: list[tuple[str, Callable, Callable]], torch: Any, args: argparse.Namespace
          ) -> None:
    """Time, measure and print one table; ``cases`` holds (label, make_bplib, make_torch) where
    ``make_bplib(batch, dtype)`` returns (run, arrays) and ``make_torch(arrays)`` a run."""
    print("| shape | bplib ms | torch ms | bplib / torch | float32: bplib / torch "
          "| bplib peak MB | peak at 2N / at N | max abs grad diff |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, make_bplib, make_torch in cases:
        makers: dict[str, Callable[[], Callable[[], object]]] = {}
        for dtype in DTYPES:
            makers[f"bplib {dtype}"] = partial(_bplib_run, make_bplib, args.batch_size, dtype)
            if torch is not None:
                makers[f"torch {dtype}"] = partial(_torch_run, make_bplib, make_torch,
                                                   args.batch_size, dtype)
        gap = float("nan")
        if torch is not None:
            run, arrays = make_bplib(args.batch_size, "float64")
            gap = _gap(run(), make_torch(arrays)())
        ms = alternating_medians(makers, args.repeats, warmup=1, cpu_time=args.cpu_time)
        peak = peak_mb(make_bplib(args.batch_size, "float64")[0])
        peak2 = peak_mb(make_bplib(2 * args.batch_size, "float64")[0])
        ours = ms["bplib float64"]
        if torch is None:
            cells = [f"{ours:.2f}", "-", "-", "-"]
        else:
            theirs = ms["torch float64"]
            cells = [f"{ours:.2f}", f"{theirs:.2f}", f"{ours / theirs:.2f}x",
                     f"{ms['bplib float32'] / ms['torch float32']:.2f}x"]
        cells += [f"{peak:.1f}", f"{peak2 / peak:.2f}", "-" if torch is None else f"{gap:.0e}"]
        print(f"| {label} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25, help="timed passes per row (median)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time CPU time rather than wall time (steadier on a busy machine)")
    args = parser.parse_args(argv)

    torch = import_torch()
    limit_threads(args.threads, torch)
    if torch is not None:
        torch.set_default_dtype(torch.float64)
    n = args.batch_size
    clock = "CPU" if args.cpu_time else "wall"
    print(f"conv and max pool, forward + backward, batch N = {n}; median {clock} time of "
          f"{args.repeats} passes in 5 alternating blocks; times in float64 unless marked")
    print("\n".join(machine_report(torch)))

    print("\nconvolution (bplib conv_forward + conv_backward; torch conv2d + autograd)")
    convs = [(f"{n}x{'x'.join(map(str, xs))}, {ws[0]} of {ws[2]}x{ws[3]}, stride {s}, pad {p}",
              lambda b, d, xs=xs, ws=ws, s=s, p=p: _conv_case(b, xs, ws, s, p, d),
              lambda arrays, s=s, p=p: _torch_conv(torch, arrays, s, p))
             for xs, ws, s, p in CONVS]
    _rows(convs, torch, args)

    print("\nmax pooling 2x2, stride 2 (bplib max_pool_forward + backward; torch max_pool2d)")
    pools = [(f"{n}x{'x'.join(map(str, xs))}", lambda b, d, xs=xs: _pool_case(b, xs, d),
              lambda arrays: _torch_pool(torch, arrays)) for xs in POOLS]
    _rows(pools, torch, args)
    print("\nbplib / torch below 1: bplib is faster. peak at 2N / at N = 2.00: memory linear in "
          "the batch.\nmax abs grad diff: bplib against torch in float64.")


if __name__ == "__main__":
    main()
