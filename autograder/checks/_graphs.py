"""What the checks of notebooks 03 (a scalar ``Value``) and 15 (a ``Tensor``) expect of a
backward pass through a computation graph they build: the sum over paths of the products of the
local slopes. Check content shared by two notebooks, so it lives here once.

A graph is given as ``inputs``: for every node ``k`` (in the order the nodes were made, so every
input comes before the node it feeds), the list of ``(input node, local slope)`` pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["path_sums", "reachable"]

Inputs = Sequence[Sequence[tuple[int, float]]]


def reachable(inputs: Inputs, root: int) -> set[int]:
    """The nodes ``root`` depends on, itself included."""
    seen, stack = set(), [root]
    while stack:
        k = stack.pop()
        if k not in seen:
            seen.add(k)
            stack.extend(parent for parent, _ in inputs[k])
    return seen


def path_sums(inputs: Inputs, root: int) -> list[float]:
    """For every node, d root / d node: the sum over paths to the root of the products of the
    slopes along them (0 for a node the root does not depend on)."""
    grads = [0.0] * len(inputs)
    grads[root] = 1.0
    below = reachable(inputs, root)
    for k in reversed(range(len(inputs))):
        if k in below:
            for parent, slope in inputs[k]:
                grads[parent] += slope * grads[k]
    return grads
