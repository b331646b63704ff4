"""fieldflow from Python: generative ODEs that follow force fields.

The functions mirror the ``fieldflow`` command line with the same names, defaults
and seeds, so that a call here and the command line give the same bits:
``datasets`` (``fieldflow datasets``), ``sample`` (``fieldflow sample``),
``marginal`` (``fieldflow marginal``), ``encode`` (``fieldflow encode``),
``train`` (``fieldflow train``; ``sample(model=...)`` is ``fieldflow sample --model``)
and ``check`` (``fieldflow check``). Arrays go in and out of Rust without copies
(float64 input in any memory order is read in place; other dtypes are converted
once), the GIL is released while Rust works, Ctrl-C stops a run with
``KeyboardInterrupt``, and library errors are Python exceptions (``ValueError`` for
bad arguments, ``FileNotFoundError`` / ``OSError`` for files). ``fieldflow.dask``
spreads ``sample`` over a Dask cluster with the same bits. See docs/PYTHON.md.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._native import BATCH, Report, __version__, check, datasets, marginal
from ._samples import STATUS_NAMES, Encoded, Samples, Trained


__all__ = [
    "BATCH",
    "Encoded",
    "Report",
    "STATUS_NAMES",
    "Samples",
    "Trained",
    "__version__",
    "check",
    "datasets",
    "encode",
    "marginal",
    "sample",
    "train",
]


def sample(
    field: Optional[str] = None,
    data: Optional[npt.ArrayLike] = None,
    n: Optional[int] = None,
    seed: int = 0,
    *,
    model: Union[str, "os.PathLike[str]", None] = None,
    aug_dim: Optional[float] = None,
    power: Optional[float] = None,
    profile: Optional[str] = None,
    box: Optional[Tuple[float, float]] = None,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    steps: Optional[int] = None,
    s_max: Optional[float] = None,
    s_min: Optional[float] = None,
    prior: str = "far",
    force_prior: bool = False,
    weights: Optional[npt.ArrayLike] = None,
    start: Optional[npt.ArrayLike] = None,
    start_level: Optional[float] = None,
    rho: Optional[float] = None,
    denoise: bool = False,
    unconverged_factor: float = 1000.0,
    ode_time: Optional[str] = None,
    offset: int = 0,
    progress: Union[Callable[[int, int], Any], Any, None] = None,
) -> Samples:
    """Generates ``n`` samples of the exact ``field`` of ``data`` (one point per row),
    as ``fieldflow sample --field FIELD --data FILE --n N --seed SEED`` does.

    ``field`` is ``poisson``, ``pfgmpp`` (with ``aug_dim``), ``gaussian``, ``linear``
    (``box=(lo, hi)`` for the uniform prior), ``radial`` (``profile``) or ``power``
    (``power``). ``method`` is an integrator (``euler``, ``heun``, ``rk4``, ``bs3``,
    ``dopri5``, ``tsit5``; ``steps`` fixes the number of steps) or a few-step sampler
    (``edm-euler``, ``edm-heun``, ``dpmpp-2m``, ``dpmpp-3m`` with ``steps`` levels and
    ``rho``). ``ode_time`` is what an integrator steps: ``inverse`` (time ``1/s``,
    state ``x/s``; the default for ray fields), ``log`` (time ``ln s``) or ``level``
    (time ``s``; the default for ``linear``); the paths are the same.
    ``start`` / ``start_level`` integrate given points instead of prior draws.
    ``offset`` computes rows ``offset..offset+n`` of the seeded run with ``offset+n``
    particles, bit for bit. ``progress`` is a ``tqdm`` bar (``update(k)`` is called) or
    a callable ``f(done, total)``, called from this thread.

    ``model="m.safetensors"`` samples a model written by ``train`` instead, as
    ``fieldflow sample --model m.safetensors`` does: ``field``, ``data`` and the exact
    field's options (``aug_dim``, ``power``, ``profile``, ``box``, ``weights``,
    ``force_prior``) are then refused with ``ValueError``, ``prior`` must be ``far``
    (around the training mean), ``s_max`` defaults to the model's stored level and
    ``offset`` must be 0; nothing is counted as unconverged.
    """
    d = _native._sample(
        field,
        data,
        n,
        seed,
        model=None if model is None else os.fspath(model),
        aug_dim=aug_dim,
        power=power,
        profile=profile,
        box=box,
        method=method,
        rtol=rtol,
        atol=atol,
        steps=steps,
        s_max=s_max,
        s_min=s_min,
        prior=prior,
        force_prior=force_prior,
        weights=weights,
        start=start,
        start_level=start_level,
        rho=rho,
        denoise=denoise,
        unconverged_factor=unconverged_factor,
        ode_time=ode_time,
        offset=offset,
        progress=progress,
    )
    return Samples._from_native(d)


def encode(
    field: Optional[str] = None,
    data: Optional[npt.ArrayLike] = None,
    points: Optional[npt.ArrayLike] = None,
    *,
    model: Union[str, "os.PathLike[str]", None] = None,
    aug_dim: Optional[float] = None,
    power: Optional[float] = None,
    profile: Optional[str] = None,
    box: Optional[Tuple[float, float]] = None,
    weights: Optional[npt.ArrayLike] = None,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    steps: Optional[int] = None,
    s_max: Optional[float] = None,
    s_start: Optional[float] = None,
    prior: str = "far",
    log_likelihood: bool = False,
    progress: Union[Callable[[int, int], Any], Any, None] = None,
) -> Encoded:
    """Runs ``points`` (at level ``s_start``, default 1e-3) forward through the exact
    ``field`` of ``data`` to ``s_max``, as ``fieldflow encode --field FIELD --data FILE
    --points FILE`` does; ``log_likelihood=True`` adds each point's exact
    log-likelihood (``--log-likelihood``). Only the integrators apply.

    ``model="m.safetensors"`` encodes through a model written by ``train`` instead,
    as ``fieldflow encode --model m.safetensors`` does (call it as
    ``encode(points=x, model=...)``): ``field``, ``data`` and the exact field's
    options are then refused with ``ValueError``, ``prior`` must be ``far`` (around
    the training mean) and ``s_max`` defaults to the model's stored level. The
    log-likelihood then integrates the network's divergence: the exact trace by
    central differences for ``d <= 32``, Hutchinson's estimator with 16 fixed probes
    above.
    """
    d = _native._encode(
        field,
        data,
        points,
        model=None if model is None else os.fspath(model),
        aug_dim=aug_dim,
        power=power,
        profile=profile,
        box=box,
        weights=weights,
        method=method,
        rtol=rtol,
        atol=atol,
        steps=steps,
        s_max=s_max,
        s_start=s_start,
        prior=prior,
        log_likelihood=log_likelihood,
        progress=progress,
    )
    return Encoded(**d)


def train(
    data: npt.ArrayLike,
    out: Union[str, "os.PathLike[str]"],
    field: str,
    *,
    aug_dim: Optional[float] = None,
    steps: int = 20_000,
    batch: int = 512,
    hidden: int = 64,
    layers: int = 3,
    lr: float = 1e-3,
    seed: int = 0,
    target: str = "conditional",
    test_split: Optional[float] = None,
    test: Optional[npt.ArrayLike] = None,
    force: bool = False,
    progress: Union[Callable[[int, int], Any], Any, None] = None,
) -> Trained:
    """Trains a network on ``data`` (one point per row) for ``field`` and writes the
    model file ``out``, as ``fieldflow train --field FIELD --data FILE --out OUT``
    does: the same arguments and seed give the same file, byte for byte.

    ``target`` is ``conditional`` (perturbed data points) or ``exact`` (the closed-form
    posterior mean). ``test_split=p`` holds out a seeded fraction ``p`` of ``data`` for
    the test loss, ``test`` gives held-out points instead. ``out`` is not replaced
    without ``force=True`` (``FileExistsError``). ``progress`` counts steps (a ``tqdm``
    bar or ``f(done, total)``); Ctrl-C stops the training within a step with
    ``KeyboardInterrupt`` and writes nothing.
    """
    d = _native._train(
        data,
        os.fspath(out),
        field,
        aug_dim=aug_dim,
        steps=steps,
        batch=batch,
        hidden=hidden,
        layers=layers,
        lr=lr,
        seed=seed,
        target=target,
        test_split=test_split,
        test=test,
        force=force,
        progress=progress,
    )
    return Trained(
        path=os.fspath(out),
        step=np.asarray(d["step"], dtype=np.int64),
        train=np.asarray(d["train"], dtype=np.float64),
        test=np.asarray(d["test"], dtype=np.float64),
        n_train=int(d["n_train"]),
        n_test=int(d["n_test"]),
    )
