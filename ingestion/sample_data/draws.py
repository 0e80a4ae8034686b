"""Cheap random draws for the hot paths (about three times faster than `Random.randrange`).

`random() * n` has a bias far below anything sample data can show, and stays exactly
reproducible for a given seed, which is all that matters here.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TypeVar

T = TypeVar("T")


def below(rng: Random, n: int) -> int:
    """An int in [0, n)."""
    return int(rng.random() * n)


def between(rng: Random, low: int, high: int) -> int:
    """An int in [low, high)."""
    return low + int(rng.random() * (high - low))


def pick(rng: Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]
