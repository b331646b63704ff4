#!/usr/bin/env bash
# fieldflow against a careful NumPy/SciPy PFGM sampler on the 8x8 digits (d = 64),
# side by side, one command:
#
#     bash benches/compare/digits.sh          # N=1000 SEED=0 REPEATS=3 by default
#
# Writes the 1,797 bundled digits (fieldflow datasets digits), standardises them once
# with one global mean and standard deviation (so that s_max = 40 is a far level for
# both), and samples N points from the exact empirical Poisson field with both
# implementations: prior on the plane s_max = 40, down to s_min = 1e-3,
# rtol = atol = 1e-4, the same data. The reference (pfgm_digits.py) takes its
# distances from one BLAS product and its weights through log-sum-exp (the direct
# weights underflow at d >= 32) and integrates the flattened batch with RK45.
# Quality is scored by the same script for both (quality.py: median distance to the
# nearest training image, fractions farther than 1e-2 and 1e-3). fieldflow's time is
# the whole command (process start, reading, prior, solve, writing); the reference's
# is its solve_ivp call alone, so the ratio is conservative. Medians of REPEATS runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000}
SEED=${SEED:-0}
REPEATS=${REPEATS:-3}
TOL=1e-4
OUT=${OUT:-target/compare-digits}
mkdir -p "$OUT"

python3 -c "import numpy, scipy" 2>/dev/null || pip install --quiet numpy scipy
cargo build --release --quiet --bin fieldflow
BIN=target/release/fieldflow

"$BIN" --quiet datasets digits --out "$OUT/digits_raw.csv" --force >/dev/null
python3 - "$OUT/digits_raw.csv" "$OUT/digits.csv" <<'PY'
import sys
import numpy as np
x = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
z = (x - x.mean()) / x.std()
np.savetxt(sys.argv[2], z, delimiter=",", header=",".join(f"x{j}" for j in range(64)),
           comments="", fmt="%.17g")
PY

ff_times=()
for _ in $(seq "$REPEATS"); do
    t0=$(date +%s.%N)
    "$BIN" sample --field poisson --data "$OUT/digits.csv" --n "$N" --seed "$SEED" \
        --rtol "$TOL" --atol "$TOL" --s-max 40 --s-min 1e-3 --allow-failures \
        --out "$OUT/fieldflow.csv" --force >"$OUT/fieldflow.log" 2>&1
    t1=$(date +%s.%N)
    ff_times+=("$(python3 -c "print($t1 - $t0)")")
done
ff_evals=$(sed -n 's/.*in total, \([0-9.]*\) per particle.*/\1/p' "$OUT/fieldflow.log")

np_times=()
for _ in $(seq "$REPEATS"); do
    line=$(python3 benches/compare/pfgm_digits.py "$OUT/digits.csv" "$N" "$SEED" \
        "$OUT/numpy.csv" --s-max 40 --s-min 1e-3 --tol "$TOL")
    np_times+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$line")")
    np_evals=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['nfev'])" "$line")
done

join() { local IFS=,; echo "$*"; }
cat >"$OUT/runs.json" <<JSON
[{"impl": "fieldflow (dopri5, per-particle steps)", "file": "$OUT/fieldflow.csv",
  "seconds": [$(join "${ff_times[@]}")], "evals": ${ff_evals:-0}},
 {"impl": "NumPy (BLAS distances, log-sum-exp) + SciPy RK45", "file": "$OUT/numpy.csv",
  "seconds": [$(join "${np_times[@]}")], "evals": $np_evals}]
JSON
echo "digits (d = 64, M = 1797, global standardisation), N = $N, seed $SEED, rtol = atol = $TOL, s 40 -> 1e-3, $REPEATS runs each, $(nproc) cores"
python3 benches/compare/quality.py "$OUT/digits.csv" "$N" "$OUT/runs.json"
