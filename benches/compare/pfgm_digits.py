"""A careful NumPy/SciPy PFGM sampler for data in many dimensions (digits, d = 64).

The reference of benches/compare/digits.sh. In d dimensions the PFGM weights of the
empirical Poisson field are w_j ~ (|x - y_j|^2 + s^2)^(-(d+1)/2); written directly they
underflow to 0 (and the normalised weights become 0/0) as soon as the distances are a
few units and d >= 32, so this sampler works with logarithms:

* squared distances from one BLAS product per call, |x|^2 + |y|^2 - 2 x.y, clamped
  at 0 against cancellation;
* log-weights -(d+1)/2 log(dist2 + s^2), shifted by their row maximum before exp
  (log-sum-exp), so the largest weight of every particle is exactly 1;
* the same prior as fieldflow's `sample --s-max`: on the plane s = s_max around the
  data mean with R^2 / (R^2 + s_max^2) ~ Beta(d/2, 1/2);
* scipy's solve_ivp(RK45) in tau = ln s over the flattened batch (one shared step);
  with --time inverse instead in u = 1/s with the state z = x/s, dz/du = m(x) (the
  posterior mean of the data), the variables fieldflow integrates ray fields in.

With --from START.csv the sampler starts from those points (on the plane s = s_max)
instead of its own prior draws, so that two implementations can be compared particle by
particle; --prior-out FILE only writes N prior draws (seeded) and exits.

Usage: python3 pfgm_digits.py DATA.csv N SEED OUT.csv [--s-max 40] [--s-min 1e-3]
       [--tol 1e-4] [--time log|inverse] [--from START.csv | --prior-out FILE]. Prints
       one JSON line: wall time of the solve, field evaluations.
"""

import argparse
import json
import time

import numpy as np
from scipy.integrate import solve_ivp

from pfgm_numpy import prior, read_points


def make_rhs(data, inverse=False):
    d = data.shape[1]
    yy = np.einsum("ij,ij->i", data, data)
    counter = {"nfev": 0}

    def rhs(t, flat):
        counter["nfev"] += 1
        if inverse:
            # t = u = 1/s, flat = x/s
            s2 = 1.0 / (t * t)
            x = flat.reshape(-1, d) / t
        else:
            s2 = np.exp(2.0 * t)
            x = flat.reshape(-1, d)
        xx = np.einsum("ij,ij->i", x, x)
        dist2 = x @ data.T
        dist2 *= -2.0
        dist2 += xx[:, None]
        dist2 += yy[None, :]
        np.maximum(dist2, 0.0, out=dist2)
        dist2 += s2
        logw = np.log(dist2, out=dist2)
        logw *= -(d + 1) / 2.0
        logw -= logw.max(axis=1, keepdims=True)
        w = np.exp(logw, out=logw)
        w /= w.sum(axis=1, keepdims=True)
        if inverse:
            return (w @ data).ravel()
        return (x - w @ data).ravel()

    return rhs, counter


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("n", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("out")
    ap.add_argument("--s-max", type=float, default=40.0)
    ap.add_argument("--s-min", type=float, default=1e-3)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--time", choices=["log", "inverse"], default="log")
    ap.add_argument("--from", dest="start", default=None)
    ap.add_argument("--prior-out", default=None)
    args = ap.parse_args()

    data = read_points(args.data)
    d = data.shape[1]
    rng = np.random.default_rng(args.seed)
    if args.start is not None:
        x0 = read_points(args.start)
        if x0.shape != (args.n, d):
            raise SystemExit(f"{args.start}: expected {args.n} x {d} start points")
    else:
        x0 = prior(args.n, d, args.s_max, data.mean(axis=0), rng)
    if args.prior_out is not None:
        header = ",".join(f"x{j}" for j in range(d))
        np.savetxt(args.prior_out, x0, delimiter=",", header=header, comments="",
                   fmt="%.17g")
        return
    inverse = args.time == "inverse"
    rhs, counter = make_rhs(data, inverse)
    start = time.perf_counter()
    if inverse:
        span, y0 = (1.0 / args.s_max, 1.0 / args.s_min), x0.ravel() / args.s_max
    else:
        span, y0 = (np.log(args.s_max), np.log(args.s_min)), x0.ravel()
    sol = solve_ivp(rhs, span, y0, method="RK45", rtol=args.tol, atol=args.tol)
    seconds = time.perf_counter() - start
    x = sol.y[:, -1].reshape(-1, d)
    if inverse:
        x = x * args.s_min
    header = ",".join(f"x{j}" for j in range(d))
    np.savetxt(args.out, x, delimiter=",", header=header, comments="", fmt="%.17g")
    print(json.dumps({"impl": f"numpy+scipy RK45 (BLAS, log-sum-exp, {args.time})", "seconds": seconds,
                      "nfev": counter["nfev"], "status": int(sol.status), "n": args.n,
                      "m": int(data.shape[0])}))


if __name__ == "__main__":
    main()
