"""``fieldflow.sample`` spread over a Dask cluster, with the same bits.

The prior draws of a seeded run come in fixed batches of ``fieldflow.BATCH`` rows
from seeded streams, and every later stage treats each particle on its own, so
rows ``k..k+m`` of a run can be computed on their own (``sample(..., offset=k)``).
``sample`` here scatters the data (and weights) to every worker once, maps chunks
whose boundaries are multiples of ``BATCH`` over the cluster, gathers them in order
and stacks them: the result equals ``fieldflow.sample`` with the same arguments, bit
for bit.

Needs ``dask[distributed]`` (``pip install fieldflow[dask]``). Each worker runs the
Rust code with its own thread pool: run one worker process per machine with one
Dask thread (``dask worker SCHEDULER --nworkers 1 --nthreads 1``) and let rayon use
the machine's cores (``RAYON_NUM_THREADS`` caps it).
"""

from __future__ import annotations

import math
from typing import Any, List, Optional

import numpy as np
import numpy.typing as npt

from . import _native
from ._samples import Samples


def _chunk(field: str, data: Any, weights: Any, n: int, seed: int, offset: int, kwargs: dict) -> Samples:
    """Rows ``offset..offset+n`` of the seeded run (runs on a worker)."""
    from . import sample as sample_one

    return sample_one(field, data, n, seed, weights=weights, offset=offset, **kwargs)


def _chunk_rows(n: int, chunk: Optional[int], workers: int) -> int:
    """Rows per chunk: a multiple of BATCH, about two chunks per worker by default."""
    batch = _native.BATCH
    if chunk is None:
        chunk = math.ceil(n / max(1, 2 * workers))
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    return max(1, math.ceil(chunk / batch)) * batch


def sample(
    client: Any,
    field: str,
    data: npt.ArrayLike,
    n: int,
    seed: int = 0,
    *,
    chunk: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
    **kwargs: Any,
) -> Samples:
    """``fieldflow.sample(field, data, n, seed, **kwargs)`` computed on the workers of
    the ``distributed.Client`` ``client``, in chunks of ``chunk`` rows (rounded up to
    a multiple of ``fieldflow.BATCH``; default: about two chunks per worker).
    Start points (``start``) and ``offset`` are not taken here: the chunks are made of
    prior draws. ``progress`` is not taken either (use Dask's dashboard)."""
    for bad in ("start", "start_level", "offset", "progress"):
        if kwargs.get(bad) is not None and not (bad == "offset" and kwargs[bad] == 0):
            raise ValueError(f"fieldflow.dask.sample draws the prior itself: {bad} is not taken")
        kwargs.pop(bad, None)
    if n is None or n < 1:
        raise ValueError("n must be at least 1")
    data = np.ascontiguousarray(data, dtype=np.float64)
    w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    workers = len(client.scheduler_info().get("workers", {})) or 1
    rows = _chunk_rows(n, chunk, workers)
    data_f = client.scatter(data, broadcast=True)
    w_f = None if w is None else client.scatter(w, broadcast=True)
    futures: List[Any] = []
    for offset in range(0, n, rows):
        m = min(rows, n - offset)
        futures.append(
            client.submit(_chunk, field, data_f, w_f, m, seed, offset, kwargs, pure=False)
        )
    parts = client.gather(futures)
    return Samples._stack(parts)
