"""PFGM sampling written the way people usually write it: NumPy + SciPy.

This is the reference that fieldflow is compared against (benches/compare/run.sh).
It follows the public PFGM recipe for an empirical data set:

* the exact empirical Poisson field of the data in d + 1 dimensions, evaluated as a
  full N x M matrix on every call;
* the prior on the plane s = s_max, centred at the data mean, with the PFGM radius
  law R^2 / (R^2 + s_max^2) ~ Beta(d/2, 1/2) (drawn exactly, not clipped, so that
  both implementations sample the same distribution);
* integration in tau = ln s with scipy's solve_ivp(RK45) over the flattened batch,
  one shared step size for all particles.

With --blas the squared distances come from the expansion |x|^2 + |y|^2 - 2 x.y (one
BLAS matrix product instead of an N x M x d difference tensor): the tuned way, about
four times faster here, at the price of cancellation when a particle is very close to a
data point (clamped at 0 before s^2 is added).

Usage: python3 pfgm_numpy.py DATA.csv N SEED OUT.csv [--s-max 40] [--s-min 1e-3]
       [--tol 1e-4] [--blas]. Prints one JSON line with the wall time and the number of
field evaluations.
"""

import argparse
import json
import time

import numpy as np
from scipy.integrate import solve_ivp


def read_points(path):
    """CSV with one point per row and an optional header line."""
    with open(path) as fh:
        first = fh.readline().split(",")[0].strip()
    try:
        float(first)
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)


def prior(n, d, s_max, center, rng):
    b = rng.beta(d / 2.0, 0.5, size=n)
    radius = s_max * np.sqrt(b / (1.0 - b))
    g = rng.standard_normal((n, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return center + radius[:, None] * g


def make_rhs(data, d, blas=False):
    counter = {"nfev": 0}
    yy = np.sum(data * data, axis=1)

    def rhs_blas(tau, flat):
        counter["nfev"] += 1
        s = np.exp(tau)
        x = flat.reshape(-1, d)
        dist2 = np.sum(x * x, axis=1)[:, None] + yy[None, :] - 2.0 * (x @ data.T)
        np.maximum(dist2, 0.0, out=dist2)
        dist2 += s * s
        w = dist2 ** (-(d + 1) / 2.0)
        w /= np.sum(w, axis=1, keepdims=True)
        return (x - w @ data).ravel()

    def rhs(tau, flat):
        counter["nfev"] += 1
        s = np.exp(tau)
        x = flat.reshape(-1, d)
        diff = x[:, None, :] - data[None, :, :]  # N x M x d
        dist2 = np.sum(diff * diff, axis=-1) + s * s  # N x M
        w = dist2 ** (-(d + 1) / 2.0)
        w /= np.sum(w, axis=1, keepdims=True)
        mean = w @ data  # posterior mean m(x)
        return (x - mean).ravel()

    return (rhs_blas if blas else rhs), counter


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("n", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("out")
    ap.add_argument("--s-max", type=float, default=40.0)
    ap.add_argument("--s-min", type=float, default=1e-3)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--blas", action="store_true", help="distances by the BLAS expansion")
    args = ap.parse_args()

    data = read_points(args.data)
    d = data.shape[1]
    rng = np.random.default_rng(args.seed)
    x0 = prior(args.n, d, args.s_max, data.mean(axis=0), rng)
    rhs, counter = make_rhs(data, d, args.blas)
    start = time.perf_counter()
    sol = solve_ivp(
        rhs,
        (np.log(args.s_max), np.log(args.s_min)),
        x0.ravel(),
        method="RK45",
        rtol=args.tol,
        atol=args.tol,
    )
    seconds = time.perf_counter() - start
    x = sol.y[:, -1].reshape(-1, d)
    header = ",".join(f"x{j}" for j in range(d))
    np.savetxt(args.out, x, delimiter=",", header=header, comments="", fmt="%.17g")
    impl = "numpy+scipy RK45" + (" (BLAS distances)" if args.blas else "")
    print(json.dumps({"impl": impl, "seconds": seconds, "nfev": counter["nfev"],
                      "status": int(sol.status), "n": args.n, "m": int(data.shape[0])}))


if __name__ == "__main__":
    main()
