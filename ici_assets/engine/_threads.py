"""Run many small numeric calls single-threaded.

On small shared machines (2 cores) OpenMP (HistGradientBoosting) and OpenBLAS worker threads
spin-wait against each other; many small fit/predict calls then run 5-100x slower than
single-threaded. Large GEMMs (the bootstrap Gram pass) stay multi-threaded.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def serial() -> AbstractContextManager:
    """Context manager limiting BLAS and OpenMP pools to one thread."""
    return _controller().limit(limits=1)
