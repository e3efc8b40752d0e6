"""Time convolution forward + backward: bplib loops vs bplib vectorized vs PyTorch CPU.

Run: ``python benchmarks/bench_conv.py [--repeat 7] [--threads 1]``. Not a test: it asserts
nothing about speed, it prints a table. Each figure is the median over ``--repeat`` timing runs
of the time of one forward + backward pass (timeit picks how many passes a run averages). The
PyTorch rows need ``torch`` (``pip install -e .[torch]``) and are skipped without it.

Shape: a small CNN layer, x (16, 3, 16, 16), w (8, 3, 3, 3), stride 1, pad 1.

numpy's BLAS and PyTorch both run with ``--threads`` threads (default 1): on a small, shared
machine a multithreaded BLAS can spend more time waking threads than multiplying these small
matrices, and the figures then swing by 10x from run to run.

bplib allocates a few MB of fresh arrays per pass; glibc hands large freed buffers back to the OS,
so on a busy machine page faults can double bplib's times (PyTorch caches its memory). Running
with ``MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=134217728`` in the environment
keeps the buffers and shows the arithmetic alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import timeit
from collections.abc import Callable, Sequence
from typing import Any

X_SHAPE, W_SHAPE, PARAM = (16, 3, 16, 16), (8, 3, 3, 3), {"stride": 1, "pad": 1}


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median over ``repeat`` runs of the mean time of one call (timeit's autorange loop count)."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(repeat=repeat, number=number))


def max_gap(grads: Sequence[Any], reference: Sequence[Any]) -> float:
    """Largest absolute difference between matching gradients, in float64."""
    import numpy as np

    return max(
        float(np.max(np.abs(np.asarray(g, dtype=np.float64) - r)))
        for g, r in zip(grads, reference, strict=True)
    )


def bplib_pass(forward: Callable, backward: Callable, x, w, b, dout) -> Callable[[], object]:
    """A no-argument callable running ``forward`` then ``backward`` once."""

    def run() -> object:
        _, cache = forward(x, w, b, PARAM)
        return backward(dout, cache)

    return run


def torch_rows(x, w, b, dout, reference, repeat: int, threads: int) -> list[tuple]:
    """(label, seconds, max |grad difference| to ``reference``) for torch float64 and float32."""
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812 (the usual alias)
    except ImportError:
        return []
    torch.set_num_threads(threads)
    rows = []
    for dtype in (torch.float64, torch.float32):
        tx, tw, tb = (torch.tensor(a, dtype=dtype, requires_grad=True) for a in (x, w, b))
        tdout = torch.tensor(dout, dtype=dtype)

        def run(tx=tx, tw=tw, tb=tb, tdout=tdout) -> object:
            out = F.conv2d(tx, tw, tb, stride=PARAM["stride"], padding=PARAM["pad"])
            return torch.autograd.grad(out, (tx, tw, tb), tdout)

        gap = max_gap([g.numpy() for g in run()], reference)
        label = f"torch {torch.__version__} conv2d + autograd, {str(dtype).removeprefix('torch.')}"
        rows.append((label, median_seconds(run, repeat), gap))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timing runs per row (median)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    args = parser.parse_args()
    if "numpy" in sys.modules:
        print("note: numpy was imported before the thread setting; --threads may not apply")
    # BLAS reads these once, when numpy is first imported: so numpy is imported only after this
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from bplib.conv import conv_backward, conv_backward_naive, conv_forward, conv_forward_naive

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(X_SHAPE), rng.standard_normal(W_SHAPE)
    b = rng.standard_normal(W_SHAPE[0])
    dout = rng.standard_normal(conv_forward(x, w, b, PARAM)[0].shape)
    x32, w32, b32, dout32 = (a.astype(np.float32) for a in (x, w, b, dout))

    naive = bplib_pass(conv_forward_naive, conv_backward_naive, x, w, b, dout)
    fast = bplib_pass(conv_forward, conv_backward, x, w, b, dout)
    fast32 = bplib_pass(conv_forward, conv_backward, x32, w32, b32, dout32)
    reference = fast()
    rows = [
        ("bplib loops (conv_*_naive), float64", median_seconds(naive, args.repeat),
         max_gap(naive(), reference)),
        ("bplib vectorized (conv_forward/backward), float64", median_seconds(fast, args.repeat),
         0.0),
        ("bplib vectorized, float32", median_seconds(fast32, args.repeat),
         max_gap(fast32(), reference)),
    ]
    rows += torch_rows(x, w, b, dout, reference, args.repeat, args.threads)

    print(f"conv forward + backward, x {X_SHAPE}, w {W_SHAPE}, stride {PARAM['stride']}, "
          f"pad {PARAM['pad']}; median of {args.repeat} runs, {args.threads} thread(s)")
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    loops, vectorized = rows[0][1], rows[1][1]
    print(f"{'implementation':<52} {'ms/pass':>8} {'vs loops':>9} {'vs fast':>8}  max|grad diff|")
    for label, seconds, diff in rows:
        print(f"{label:<52} {seconds * 1e3:>8.3f} {loops / seconds:>8.1f}x "
              f"{vectorized / seconds:>7.2f}x  {diff:.1e}")
    if len(rows) == 3:
        print("torch not installed: skipped")
    print("vs loops / vs fast: how many times faster than that bplib row (> 1 is faster).")
    print("max|grad diff|: largest difference of dx, dw, db to bplib vectorized float64.")


if __name__ == "__main__":
    main()
