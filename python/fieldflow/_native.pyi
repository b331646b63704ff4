"""Type stub of the native module fieldflow._native (checked by mypy's stubtest)."""

import os
from typing import Any, Callable, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

__all__ = ["BATCH", "Report", "__version__", "_encode", "_input_address", "_sample", "_train", "check", "datasets", "marginal"]
__version__: str
BATCH: int

@final
class Report:
    @property
    def reject(self) -> bool: ...
    @property
    def alpha(self) -> float: ...
    @property
    def n(self) -> int: ...
    @property
    def m(self) -> Optional[int]: ...
    @property
    def d(self) -> int: ...
    @property
    def applicable(self) -> int: ...
    @property
    def threshold(self) -> float: ...
    @property
    def tests(self) -> list[str]: ...
    def pvalue(self, name: str) -> float: ...
    def statistic(self, name: str) -> float: ...
    def not_applicable(self, name: str) -> Optional[str]: ...
    def to_json(self) -> str: ...

def datasets(name: str, n: Optional[int] = None, seed: int = 0) -> npt.NDArray[np.float64]: ...
def check(
    samples: ArrayLike,
    reference: Optional[ArrayLike] = None,
    target: Optional[str] = None,
    alpha: float = 0.01,
    seed: int = 0,
    tests: Union[str, Sequence[str], None] = None,
    permutations: int = 999,
    bandwidths: Optional[Sequence[float]] = None,
) -> Report: ...
def _input_address(obj: ArrayLike) -> int: ...
def _sample(
    field: Optional[str] = None,
    data: Optional[ArrayLike] = None,
    n: Optional[int] = None,
    seed: int = 0,
    *,
    model: Optional[str] = None,
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
    weights: Optional[ArrayLike] = None,
    start: Optional[ArrayLike] = None,
    start_level: Optional[float] = None,
    rho: Optional[float] = None,
    denoise: bool = False,
    unconverged_factor: float = 1000.0,
    ode_time: Optional[str] = None,
    offset: int = 0,
    progress: Union[Callable[[int, int], Any], Any, None] = None,
) -> dict[str, Any]: ...
def marginal(
    field: str,
    data: ArrayLike,
    s: float,
    n: int,
    seed: int = 0,
    *,
    aug_dim: Optional[float] = None,
    power: Optional[float] = None,
    profile: Optional[str] = None,
    box: Optional[Tuple[float, float]] = None,
    weights: Optional[ArrayLike] = None,
) -> npt.NDArray[np.float64]: ...
def _encode(
    field: Optional[str] = None,
    data: Optional[ArrayLike] = None,
    points: Optional[ArrayLike] = None,
    *,
    model: Optional[str] = None,
    aug_dim: Optional[float] = None,
    power: Optional[float] = None,
    profile: Optional[str] = None,
    box: Optional[Tuple[float, float]] = None,
    weights: Optional[ArrayLike] = None,
    method: str = "dopri5",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    steps: Optional[int] = None,
    s_max: Optional[float] = None,
    s_start: Optional[float] = None,
    prior: str = "far",
    log_likelihood: bool = False,
    progress: Union[Callable[[int, int], Any], Any, None] = None,
) -> dict[str, Any]: ...
def _train(
    data: ArrayLike,
    out: Union[str, "os.PathLike[str]"],
    field: str,
    *,
    aug_dim: Optional[float] = None,
    steps: int = 20000,
    batch: int = 512,
    hidden: int = 64,
    layers: int = 3,
    lr: float = 1e-3,
    seed: int = 0,
    target: str = "conditional",
    test_split: Optional[float] = None,
    test: Optional[ArrayLike] = None,
    force: bool = False,
    progress: Union[Callable[[int, int], Any], Any, None] = None,
) -> dict[str, Any]: ...
