#!/usr/bin/env bash
# fieldflow against a careful NumPy/SciPy PFGM sampler on the bundled digits, side by
# side, one command:
#
#     bash benches/compare/digits.sh            # 8x8 digits, d = 64
#     SIZE=28 bash benches/compare/digits.sh    # the same images at 28x28, d = 784
#
# Defaults: N=1000 SEED=0 REPEATS=3 SIZE=8. Writes the 1,797 bundled digits (fieldflow
# datasets digits); with SIZE=28 every 8x8 image is enlarged to 28x28 by bilinear
# interpolation (scipy.ndimage.zoom, order 1), an MNIST-sized stand-in made from real
# images. The pixels are standardised with one global mean and standard deviation (so
# that s_max = 40 is a far level for both), and N points are sampled from the exact
# empirical Poisson field with both implementations from the same N start points on
# the plane s_max = 40 (drawn once by the reference script's prior), down to s_min =
# 1e-3, rtol = atol = 1e-4, the same data. The reference (pfgm_digits.py) takes its
# distances from one BLAS product and its weights through log-sum-exp (the direct
# weights underflow at d >= 32) and integrates the flattened batch with RK45, in
# ln s as it is usually written and, as a second row, in fieldflow's default variables
# (u = 1/s, state x/s); fieldflow runs in both as well (--ode-time log).
#
# Accuracy: the same start points are also solved by fieldflow at rtol = atol = 1e-10
# (not timed); quality.py reports, for each implementation, the distance of every
# sample to its own tight endpoint (median and largest), beside the distance to the
# nearest training image. fieldflow's time is the whole command (process start,
# reading, solve, writing); the reference's is its solve_ivp call alone, so the ratio
# is conservative. Medians of REPEATS runs, the two implementations interleaved.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000}
SEED=${SEED:-0}
REPEATS=${REPEATS:-3}
SIZE=${SIZE:-8}
TOL=1e-4
S_MAX=40
S_MIN=1e-3
OUT=${OUT:-target/compare-digits$SIZE}
mkdir -p "$OUT"

python3 -c "import numpy, scipy" 2>/dev/null || pip install --quiet numpy scipy
cargo build --release --quiet --bin fieldflow
BIN=${CARGO_TARGET_DIR:-target}/release/fieldflow

"$BIN" --quiet datasets digits --out "$OUT/digits_raw.csv" --force >/dev/null
python3 - "$OUT/digits_raw.csv" "$OUT/digits.csv" "$SIZE" <<'PY'
import sys
import numpy as np
x = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
size = int(sys.argv[3])
if size != 8:
    from scipy.ndimage import zoom
    x = np.stack([zoom(im.reshape(8, 8), size / 8, order=1).ravel() for im in x])
z = (x - x.mean()) / x.std()
np.savetxt(sys.argv[2], z, delimiter=",", header=",".join(f"x{j}" for j in range(z.shape[1])),
           comments="", fmt="%.17g")
PY
D=$(head -1 "$OUT/digits.csv" | tr ',' '\n' | wc -l)

SAMPLE=("$BIN" sample --field poisson --data "$OUT/digits.csv" --from "$OUT/start.csv"
    --s-start "$S_MAX" --s-min "$S_MIN" --allow-failures --force)
python3 benches/compare/pfgm_digits.py "$OUT/digits.csv" "$N" "$SEED" "$OUT/unused.csv" \
    --s-max "$S_MAX" --prior-out "$OUT/start.csv"
"${SAMPLE[@]}" --rtol 1e-10 --atol 1e-10 --out "$OUT/reference.csv" >"$OUT/reference.log" 2>&1

# four runs, interleaved: fieldflow in its default variables (u = 1/s, state x/s) and
# in ln s (--ode-time log), the reference in ln s (as it is usually written) and in
# u = 1/s (--time inverse, the same variables as fieldflow's default)
# and fieldflow once more at LOOSE (default 3e-4), a looser tolerance whose errors
# stay below the reference's (the accuracy-matched comparison)
LOOSE=${LOOSE:-3e-4}
ff_times=(); fl_times=(); fx_times=(); np_times=(); ni_times=()
seconds() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$1"; }
nfev() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['nfev'])" "$1"; }
# wall time of a command; its output goes to $OUT/run.log, and a failure stops the
# script (with the log) instead of being timed
elapsed() {
    local t0 t1
    t0=$(date +%s.%N)
    if ! "$@" >"$OUT/run.log" 2>&1; then
        cat "$OUT/run.log" >&2
        return 1
    fi
    t1=$(date +%s.%N)
    python3 -c "print($t1 - $t0)"
}
REF=(python3 benches/compare/pfgm_digits.py "$OUT/digits.csv" "$N" "$SEED")
REF_ARGS=(--s-max "$S_MAX" --s-min "$S_MIN" --tol "$TOL" --from "$OUT/start.csv")
for _ in $(seq "$REPEATS"); do
    ff_times+=("$(elapsed "${SAMPLE[@]}" --rtol "$TOL" --atol "$TOL" --out "$OUT/fieldflow.csv" \
        --stats "$OUT/fieldflow.json")")
    fl_times+=("$(elapsed "${SAMPLE[@]}" --rtol "$TOL" --atol "$TOL" --ode-time log \
        --out "$OUT/fieldflow_log.csv" --stats "$OUT/fieldflow_log.json")")
    fx_times+=("$(elapsed "${SAMPLE[@]}" --rtol "$LOOSE" --atol "$LOOSE" \
        --out "$OUT/fieldflow_loose.csv" --stats "$OUT/fieldflow_loose.json")")
    line=$("${REF[@]}" "$OUT/numpy.csv" "${REF_ARGS[@]}")
    np_times+=("$(seconds "$line")")
    np_evals=$(nfev "$line")
    line=$("${REF[@]}" "$OUT/numpy_inverse.csv" "${REF_ARGS[@]}" --time inverse)
    ni_times+=("$(seconds "$line")")
    ni_evals=$(nfev "$line")
done
per_particle() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['evaluations_per_particle'])" "$1"; }
ff_evals=$(per_particle "$OUT/fieldflow.json")
fl_evals=$(per_particle "$OUT/fieldflow_log.json")
fx_evals=$(per_particle "$OUT/fieldflow_loose.json")

join() { local IFS=,; echo "$*"; }
cat >"$OUT/runs.json" <<JSON
[{"impl": "fieldflow (dopri5, per-particle steps, u = 1/s)", "file": "$OUT/fieldflow.csv",
  "seconds": [$(join "${ff_times[@]}")], "evals": $ff_evals},
 {"impl": "fieldflow (dopri5, per-particle steps, ln s)", "file": "$OUT/fieldflow_log.csv",
  "seconds": [$(join "${fl_times[@]}")], "evals": $fl_evals},
 {"impl": "fieldflow (dopri5, per-particle steps, u = 1/s, tol $LOOSE)", "file": "$OUT/fieldflow_loose.csv",
  "seconds": [$(join "${fx_times[@]}")], "evals": $fx_evals},
 {"impl": "NumPy (BLAS distances, log-sum-exp) + SciPy RK45, ln s", "file": "$OUT/numpy.csv",
  "seconds": [$(join "${np_times[@]}")], "evals": $np_evals},
 {"impl": "NumPy (BLAS distances, log-sum-exp) + SciPy RK45, u = 1/s", "file": "$OUT/numpy_inverse.csv",
  "seconds": [$(join "${ni_times[@]}")], "evals": $ni_evals}]
JSON
echo "digits ${SIZE}x$SIZE (d = $D, M = 1797, global standardisation), N = $N, seed $SEED, rtol = atol = $TOL, s $S_MAX -> $S_MIN, same start points, $REPEATS runs each, $(nproc) cores"
echo "fieldflow times: ${ff_times[*]} (ln s: ${fl_times[*]}; tol $LOOSE: ${fx_times[*]}); NumPy times: ${np_times[*]} (1/s: ${ni_times[*]})"
python3 benches/compare/quality.py "$OUT/digits.csv" "$N" "$OUT/runs.json" "$OUT/reference.csv"
