"""The result of a sampling run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

import numpy as np
import numpy.typing as npt

#: The names of the codes in ``Samples.status``.
STATUS_NAMES = ("success", "max_steps_reached", "step_size_too_small", "non_finite")


@dataclass(frozen=True)
class Samples:
    """What ``fieldflow.sample`` computed.

    ``points`` is ``n x d`` float64, row ``i`` particle ``i``; the row of a particle whose
    trajectory failed is NaN (never a sample). ``status`` holds a code per particle
    (``STATUS_NAMES[code]``: 0 success, 1 max_steps_reached, 2 step_size_too_small,
    3 non_finite), ``evaluations`` the field evaluations per particle, ``unconverged``
    which particles failed or ended farther than the unconverged radius from every data
    point. ``s_start`` is the level the particles started from (the ``s_max`` used,
    or ``start_level``), ``s_min`` the bottom level, ``prior_bound`` the far-field
    prior's total-variation error bound (None for an exact prior or start points).
    """

    points: npt.NDArray[np.float64]
    status: npt.NDArray[np.uint8]
    evaluations: npt.NDArray[np.uint64]
    unconverged: npt.NDArray[np.bool_]
    s_start: float
    s_min: float
    prior_bound: Optional[float]
    evaluations_total: int
    steps_accepted: int
    steps_rejected: int

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "Samples":
        return cls(**d)

    @classmethod
    def _stack(cls, parts: Sequence["Samples"]) -> "Samples":
        """Rows of consecutive chunks of one seeded run, in order."""
        first = parts[0]
        return cls(
            points=np.concatenate([p.points for p in parts]),
            status=np.concatenate([p.status for p in parts]),
            evaluations=np.concatenate([p.evaluations for p in parts]),
            unconverged=np.concatenate([p.unconverged for p in parts]),
            s_start=first.s_start,
            s_min=first.s_min,
            prior_bound=first.prior_bound,
            evaluations_total=sum(p.evaluations_total for p in parts),
            steps_accepted=sum(p.steps_accepted for p in parts),
            steps_rejected=sum(p.steps_rejected for p in parts),
        )

    @property
    def s_max(self) -> float:
        """The top level the particles started from (same as ``s_start``)."""
        return self.s_start

    @property
    def failed(self) -> int:
        """How many trajectories failed (status other than success)."""
        return int(np.count_nonzero(self.status))

    @property
    def n_unconverged(self) -> int:
        """How many particles did not converge."""
        return int(np.count_nonzero(self.unconverged))

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __repr__(self) -> str:
        n, d = self.points.shape
        return (
            f"Samples(n={n}, d={d}, s_start={self.s_start:g}, s_min={self.s_min:g}, "
            f"evaluations={self.evaluations_total}, failed={self.failed}, "
            f"unconverged={self.n_unconverged})"
        )


@dataclass(frozen=True)
class Encoded:
    """What ``fieldflow.encode`` computed.

    ``codes`` is ``n x d`` float64, the points carried to the prior level ``s_max``
    (row ``i`` point ``i``; NaN where the trajectory failed); with
    ``log_likelihood=True``, ``log_p`` is the exact ``ln p_{s_start}`` of each point
    and ``delta_log_p`` the change ``ln p_{s_max}(code) - ln p_{s_start}(x)`` along
    its path (None otherwise). ``status`` and ``evaluations`` are per point, as in
    ``Samples``.
    """

    codes: npt.NDArray[np.float64]
    log_p: Optional[npt.NDArray[np.float64]]
    delta_log_p: Optional[npt.NDArray[np.float64]]
    status: npt.NDArray[np.uint8]
    evaluations: npt.NDArray[np.uint64]
    evaluations_total: int

    def __len__(self) -> int:
        return int(self.codes.shape[0])


@dataclass(frozen=True)
class Trained:
    """What ``fieldflow.train`` did: the model file it wrote and the loss curve.

    ``step``, ``train`` and ``test`` have one entry per optimiser step (``test`` is NaN
    at the steps where the held-out loss was not evaluated, and everywhere without
    held-out points); ``n_train`` / ``n_test`` count the points trained on and held out.
    """

    path: str
    step: npt.NDArray[np.int64]
    train: npt.NDArray[np.float64]
    test: npt.NDArray[np.float64]
    n_train: int
    n_test: int
