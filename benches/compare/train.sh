#!/usr/bin/env bash
# fieldflow train against the PyTorch reference (train_torch.py), side by side:
#
#     bash benches/compare/train.sh        # STEPS=20000 REPEATS=3 THREADS=1 by default
#
# Moons, 10,000 points (seed 1), linear field, MLP 3 x 64 SiLU, batch 512, AdamW
# lr 1e-3: the same network, preconditioning, level law and target in both. Prints
# the median training time of each over REPEATS runs (the training loop alone for
# PyTorch; the whole command for fieldflow, so the ratio is conservative). Needs
# torch importable by python3 (e.g. a throwaway virtual environment; PyTorch is not
# a dependency of fieldflow).
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-20000}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-1}
PY=${PYTHON:-python3}
OUT=${OUT:-target/compare}
mkdir -p "$OUT"
"$PY" -c "import torch" || { echo "torch is not importable by $PY" >&2; exit 2; }
cargo build --release --quiet --bin fieldflow
BIN=${CARGO_TARGET_DIR:-target}/release/fieldflow
"$BIN" datasets moons --n 10000 --seed 1 --out "$OUT/moons.csv" --force >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ff=(); pt=()
for _ in $(seq "$REPEATS"); do
    t0=$(date +%s.%N)
    RAYON_NUM_THREADS=$THREADS "$BIN" train --field linear --data "$OUT/moons.csv" \
        --out "$OUT/moons.safetensors" --steps "$STEPS" --batch 512 --hidden 64 \
        --layers 3 --lr 1e-3 --force --quiet >"$OUT/fieldflow-train.log"
    t1=$(date +%s.%N)
    ff+=("$(echo "$t1 - $t0" | bc -l)")
    pt+=("$("$PY" benches/compare/train_torch.py "$OUT/moons.csv" --steps "$STEPS" \
        --threads "$THREADS" | sed -n 's/.* in \([0-9.]*\) s .*/\1/p')")
done
f=$(printf '%s\n' "${ff[@]}" | median)
p=$(printf '%s\n' "${pt[@]}" | median)
echo "| implementation | median seconds ($STEPS steps, $REPEATS runs, $THREADS thread) | ms/step |"
echo "|---|---|---|"
echo "| fieldflow (candle) | $f | $(echo "1000 * $f / $STEPS" | bc -l | cut -c1-6) |"
echo "| PyTorch | $p | $(echo "1000 * $p / $STEPS" | bc -l | cut -c1-6) |"
