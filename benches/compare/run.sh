#!/usr/bin/env bash
# fieldflow against the NumPy/SciPy PFGM sampler, side by side, one command:
#
#     bash benches/compare/run.sh            # N=2000 SEED=0 REPEATS=3 by default
#
# Builds fieldflow in release mode, makes the moons data set, samples it with both
# (exact empirical Poisson field, prior on the plane s_max = 40, down to s_min = 1e-3,
# rtol = atol = 1e-4, the same data and prior seed), and prints a table: median wall
# time, evaluations per particle, time ratio, and the output quality of both computed
# by one script (quality.py). fieldflow's time is the whole command (process start,
# reading the data, the prior, the solve and writing the samples); the reference's
# time is its solve_ivp call alone, so the ratio is conservative.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-2000}
SEED=${SEED:-0}
REPEATS=${REPEATS:-3}
TOL=1e-4
OUT=${OUT:-target/compare}
mkdir -p "$OUT"

python3 -c "import numpy, scipy" 2>/dev/null || pip install --quiet numpy scipy
cargo build --release --quiet --bin fieldflow
BIN=${CARGO_TARGET_DIR:-target}/release/fieldflow

"$BIN" datasets moons --n "$N" --seed "$SEED" --out "$OUT/moons.csv" --force >/dev/null

ff_times=()
for _ in $(seq "$REPEATS"); do
    t0=$(date +%s.%N)
    "$BIN" sample --field poisson --data "$OUT/moons.csv" --n "$N" --seed "$SEED" \
        --rtol "$TOL" --atol "$TOL" --s-max 40 --s-min 1e-3 \
        --out "$OUT/fieldflow.csv" --force >"$OUT/fieldflow.log"
    t1=$(date +%s.%N)
    ff_times+=("$(python3 -c "print($t1 - $t0)")")
done
ff_evals=$(sed -n 's/.*in total, \([0-9.]*\) per particle.*/\1/p' "$OUT/fieldflow.log")

# The reference as the PFGM code writes it (difference tensor), then tuned (BLAS).
reference() {  # $1 = output file, further arguments go to pfgm_numpy.py
    local out=$1
    shift
    times=()
    for _ in $(seq "$REPEATS"); do
        line=$(python3 benches/compare/pfgm_numpy.py "$OUT/moons.csv" "$N" "$SEED" "$out" \
            --s-max 40 --s-min 1e-3 --tol "$TOL" "$@")
        times+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$line")")
        evals=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['nfev'])" "$line")
    done
}
reference "$OUT/numpy.csv"
np_times=("${times[@]}")
np_evals=$evals
reference "$OUT/numpy_blas.csv" --blas
blas_times=("${times[@]}")
blas_evals=$evals

join() { local IFS=,; echo "$*"; }
cat >"$OUT/runs.json" <<JSON
[{"impl": "fieldflow (dopri5, per-particle steps)", "file": "$OUT/fieldflow.csv",
  "seconds": [$(join "${ff_times[@]}")], "evals": $ff_evals},
 {"impl": "NumPy + SciPy RK45 (flattened batch)", "file": "$OUT/numpy.csv",
  "seconds": [$(join "${np_times[@]}")], "evals": $np_evals},
 {"impl": "NumPy (BLAS distances) + SciPy RK45", "file": "$OUT/numpy_blas.csv",
  "seconds": [$(join "${blas_times[@]}")], "evals": $blas_evals}]
JSON
echo "moons, N = M = $N, seed $SEED, rtol = atol = $TOL, s 40 -> 1e-3, $REPEATS runs each, $(nproc) cores"
python3 benches/compare/quality.py "$OUT/moons.csv" "$N" "$OUT/runs.json"
