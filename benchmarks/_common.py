"""What every benchmark shares: thread limits, the machine report, and alternating timing.

Not a test and not part of bplib: the scripts beside this file import it by name, as Python
puts a script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["alternating_medians", "import_torch", "limit_threads", "machine_report"]

INSTALL_HINT = 'pip install -e ".[bench]"'


def import_torch() -> Any:
    """The ``torch`` module, or None (with a message) when it is not installed."""
    try:
        import torch
    except ImportError:
        print('note: torch is not installed, so its rows are skipped (pip install -e ".[torch]", '
              "or a local CPU wheel)")
        return None
    return torch


def limit_threads(threads: int | None, torch: Any = None) -> None:
    """Limit numpy's BLAS (via threadpoolctl) and torch to ``threads`` threads; None: defaults.

    Without threadpoolctl the BLAS keeps its default and a message says so.
    """
    if not threads:
        return
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        also = f"; torch is limited to {threads}" if torch is not None else ""
        print(f"note: threadpoolctl is not installed ({INSTALL_HINT}): numpy's BLAS keeps its "
              f"default thread count{also}")
        return
    threadpool_limits(threads)  # stays in force for the rest of the process


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    """numpy's BLAS: library, version, the kernel it chose for this CPU, and its threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"BLAS unknown (threadpoolctl not installed: {INSTALL_HINT})"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            kernel = pool.get("architecture") or "?"
            return (f"{pool.get('internal_api')} {pool.get('version')}, kernel {kernel}, "
                    f"{pool.get('num_threads')} thread(s)")
    return "BLAS not found by threadpoolctl"


def machine_report(torch: Any = None) -> list[str]:
    """Lines naming the machine and the library versions, to print above a table."""
    import numpy as np

    lines = [
        f"machine: {_cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__} ({_blas()})",
    ]
    if torch is not None:
        lines.append(f"torch {torch.__version__} ({torch.get_num_threads()} thread(s))")
    forced = {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
              if v in os.environ}
    if forced:
        settings = ", ".join(f"{k}={v}" for k, v in forced.items())
        lines.append(f"note: {settings} is set and forces OpenBLAS's kernel choice; to measure "
                     "the default, unset both for this command alone (env -u OPENBLAS_CORETYPE "
                     "-u OPENBLAS_L2_SIZE ...)")
    return lines


def alternating_medians(makers: dict[str, Callable[[], Callable[[], object]]], repeats: int,
                        warmup: int, rounds: int = 5, cpu_time: bool = False
                        ) -> dict[str, float]:
    """Median time in milliseconds of the step each maker builds, over ``repeats`` timed calls.

    The contenders take turns in ``rounds`` blocks of consecutive calls, so that a change in
    machine load during the run hits all of them alike and their ratios stay meaningful. Not
    call-by-call: after its own work, each library's thread pool spins for a while and would
    slow the other one down. Each block builds its step afresh (``makers[name]()``, untimed)
    and starts with ``warmup`` untimed calls: where an array lands in memory can change a
    step's time by a third (glibc serves a process's first large arrays differently from
    later ones), and fresh arrays each round keep that from favouring one contender.

    Wall time by default; ``cpu_time=True`` counts the process's CPU time instead, which on a
    machine shared with other work leaves out the time spent waiting for a core (meaningful
    with one thread: with several it adds up the threads, spinning included).
    """
    clock = time.process_time if cpu_time else time.perf_counter
    per_block = max(1, repeats // rounds)
    times: dict[str, list[float]] = {name: [] for name in makers}
    for _ in range(rounds):
        for name, make in makers.items():
            step = make()
            for _ in range(warmup):
                step()
            for _ in range(per_block):
                start = clock()
                step()
                times[name].append(clock() - start)
            del step
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}
