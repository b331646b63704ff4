"""Output quality and the comparison table of benches/compare/run.sh.

Usage: python3 quality.py DATA.csv N RESULTS.json [REFERENCE.csv]

RESULTS.json lists the runs: [{"impl": NAME, "file": CSV, "seconds": [..],
"evals": EVALUATIONS PER PARTICLE}, ...]. For each run the script reads the samples
and computes, against the data set, the median distance to the nearest data point
and the fractions of samples farther than 1e-2 and 1e-3 from every data point
(rows missing from the file, e.g. non-finite ones, count as far). It prints a
Markdown table with the median wall time and the time ratio to the first run. With
REFERENCE.csv (the same start points solved to a much tighter tolerance), two more
columns: the median and the largest distance of a sample to its own reference endpoint,
i.e. the integration error of each implementation, particle by particle.
"""

import json
import sys

import numpy as np
from scipy.spatial import cKDTree

from pfgm_numpy import read_points


def quality(data, samples, n):
    finite = np.all(np.isfinite(samples), axis=1)
    dist = np.full(n, np.inf)
    x = samples[finite]
    if len(x):
        dist[: len(x)] = cKDTree(data).query(x)[0]
    return {
        "median_dist": float(np.median(dist)),
        "far_1e-2": float(np.mean(dist > 1e-2)),
        "far_1e-3": float(np.mean(dist > 1e-3)),
        "rows": int(len(x)),
    }


def main():
    data = read_points(sys.argv[1])
    n = int(sys.argv[2])
    runs = json.load(open(sys.argv[3]))
    ref = read_points(sys.argv[4]) if len(sys.argv) > 4 else None
    base = None
    head = ("| implementation | wall time (median) | evaluations per particle "
            "| time / fieldflow | median distance to data | farther than 1e-2 "
            "| farther than 1e-3 |")
    rule = "|---|---|---|---|---|---|---|"
    if ref is not None:
        head += " error vs tight solution, median | largest |"
        rule += "---|---|"
    print(head)
    print(rule)
    for run in runs:
        x = read_points(run["file"])
        q = quality(data, x, n)
        t = float(np.median(run["seconds"]))
        base = base or t
        ratio = t / base
        line = (f"| {run['impl']} | {t:.3f} s | {run['evals']:.1f} | {ratio:.1f}x "
                f"| {q['median_dist']:.2e} | {100 * q['far_1e-2']:.2f}% "
                f"| {100 * q['far_1e-3']:.2f}% |")
        if ref is not None:
            if x.shape != ref.shape:
                raise SystemExit(f"{run['file']}: {x.shape} rows, reference {ref.shape}")
            err = np.linalg.norm(x - ref, axis=1)
            err[~np.isfinite(err)] = np.inf
            line += f" {np.median(err):.2e} | {np.max(err):.2e} |"
        print(line)


if __name__ == "__main__":
    main()
