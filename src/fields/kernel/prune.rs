//! Skipping data points whose weight is provably negligible, for the product path.
//!
//! In high dimension and at levels below the spacing of the data the weights of a row
//! sit on a few points: the PFGM weight is `(c / t_i)^e` with `e = (d + 1)/2 = 32.5`
//! at `d = 64`, so a point with `t_i > 4.5 c` weighs less than `2^-60 / M` of the
//! nearest one when `M = 1797`; the Gaussian weight falls even faster. Such a row
//! need not visit every point, if a cheap lower bound on the distances says which
//! points cannot matter.
//!
//! The bound: a fixed orthonormal frame `V` of `k` directions (the data's leading
//! principal directions, from a few steps of subspace iteration; any orthonormal frame
//! gives a valid bound, a good one a tight bound) splits `u = x - a mu` and
//! `v_i = y_i - mu` (`mu` the mean of the data, `a = alpha(s)`) into their parts
//! `V u`, `V v_i` in the span and `Q u`, `Q v_i` orthogonal to it. Then
//! `|x - a y_i|^2 = |V u - a V v_i|^2 + |Q u - a Q v_i|^2` and, by the triangle
//! inequality, `|Q u - a Q v_i| >= | |Q u| - a |Q v_i| |`, so
//!
//! ```text
//! lb_i^2 = |V u - a V v_i|^2 + (|Q u| - a |Q v_i|)^2 <= |x - a y_i|^2,
//! ```
//!
//! at `2k + 3` operations per point from `k + 1` stored numbers per point, against
//! the `4d` of a pair in the product path (`k = 8`). The point `j` with the smallest
//! bound is the row's reference: its key `c_j` is computed exactly. Point `i` is
//! skipped when even its bound makes its weight at most `delta / M` of point `j`'s,
//! weights `pi` included ([`Law::negligible_key`] with `ln(M / delta) + ln(pi_max /
//! pi_j)`, `delta = 2^-60`). The skipped terms then sum to at most `delta` times the
//! reference term, hence at most `delta` of the row's total weight `W`: `ln p` is low
//! by at most `delta`, and the posterior mean moves by at most `2 delta max |y|` per
//! coordinate, below the rounding of its sums. Rounding of the bound itself is covered
//! by widening the threshold by `1e-8` relative (the bound's own rounding and the
//! frame's departure from orthonormality, checked at `1e-12` when it is built, are
//! many orders smaller). A row whose survivors are at most `M / 8` is evaluated on
//! them alone, with exact coordinate-wise distances (so it also never loses digits to
//! cancellation); any other row goes to the products.
//!
//! The bound costs about a tenth of a dense row at `d = 64`, so it is only tried when
//! it can pay: when even a reference at distance zero needs the skipped points to be
//! farther than `h / sqrt(8)` (`h` the median distance of a data point to its nearest
//! neighbour, estimated from 32 points), which holds at the small levels where
//! sampling converges onto the data, and fails at the large levels where every point
//! matters.

// Lane loops index several fixed-size arrays at once on purpose (see `lanes`).
#![allow(clippy::needless_range_loop)]

use super::gemm::{Law, Sums};
use super::lanes::LANES;
use super::points::dist2;

/// Directions of the frame.
const FRAME: usize = 8;
/// Steps of subspace iteration for the frame.
const ITERATIONS: usize = 8;
/// `ln(1 / delta)`: skipped points together weigh at most `delta = 2^-60` of the
/// reference term.
const LN_INV_DELTA: f64 = 60.0 * std::f64::consts::LN_2;
/// Relative widening of the threshold against rounding.
const WIDEN: f64 = 1e-8;
/// Data points whose nearest-neighbour distance sets the gate.
const GATE_SAMPLE: usize = 32;
/// Smallest data set that is worth an index.
pub const PRUNE_MIN_M: usize = 256;

/// The frame and the projected data of a point source (see the module docs), built
/// once per source on first use.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    d: usize,
    m: usize,
    /// `k` directions.
    k: usize,
    /// The mean `mu` of the data.
    mean: Vec<f64>,
    /// `k x d`, orthonormal rows.
    frame: Vec<f64>,
    /// `V v_i`, coordinate-major: direction `j` of point `i` at `j * stride + i`.
    z: Vec<f64>,
    /// `|Q v_i|` per point (+inf in the padding).
    q: Vec<f64>,
    stride: usize,
    /// Squared distance below which skipped points would have to lie for a row to be
    /// tried: `h^2 / 8`.
    gate: f64,
}

/// The lazily built [`Projection`] of a source. Derived from the data, so it takes no
/// part in comparing sources (always equal).
#[derive(Debug, Clone, Default)]
pub struct ProjectionCell(std::sync::OnceLock<Option<Box<Projection>>>);

impl PartialEq for ProjectionCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ProjectionCell {
    /// The projection of `m` points of dimension `d` (`ys` row-major), built on the
    /// first call ([`Projection::build`]).
    pub fn get(&self, ys: &[f64], m: usize, d: usize) -> Option<&Projection> {
        self.0
            .get_or_init(|| Projection::build(ys, m, d).map(Box::new))
            .as_deref()
    }
}

/// `c = a b` into the row-major `rows x cols` buffer `c`, for matrices `a`
/// (`rows x inner`) and `b` (`inner x cols`) given by their row and column strides in
/// the slices `a` and `b`.
fn matmul(
    shape: (usize, usize, usize),
    a: &[f64],
    a_strides: (usize, usize),
    b: &[f64],
    b_strides: (usize, usize),
    c: &mut [f64],
) {
    super::gemm::gemm_into(shape, a, a_strides, b, b_strides, c, shape.1, false);
}

/// Orthonormalises the `k` rows of `v` (length `d`) in place by modified Gram-Schmidt,
/// twice; false if a row has no component left (rank below `k`).
fn orthonormalise(v: &mut [f64], k: usize, d: usize) -> bool {
    for _ in 0..2 {
        for j in 0..k {
            let (done, rest) = v.split_at_mut(j * d);
            let row = &mut rest[..d];
            for prev in done.chunks_exact(d) {
                let dot: f64 = prev.iter().zip(row.iter()).map(|(p, r)| p * r).sum();
                for (r, p) in row.iter_mut().zip(prev) {
                    *r -= dot * p;
                }
            }
            let norm = row.iter().map(|r| r * r).sum::<f64>().sqrt();
            if !(norm > 0.0 && norm.is_finite()) {
                return false;
            }
            for r in row.iter_mut() {
                *r /= norm;
            }
        }
    }
    true
}

impl Projection {
    /// The index of `m` points of dimension `d` (`ys` row-major), or `None` when the
    /// data are too few (`m <` [`PRUNE_MIN_M`]), span fewer than `k + 1` dimensions,
    /// or are not finite.
    pub fn build(ys: &[f64], m: usize, d: usize) -> Option<Self> {
        let k = FRAME.min(d.saturating_sub(1));
        if m < PRUNE_MIN_M || k == 0 || ys.len() != m * d || !ys.iter().all(|v| v.is_finite()) {
            return None;
        }
        let mut mean = vec![0.0; d];
        for y in ys.chunks_exact(d) {
            for (mj, yj) in mean.iter_mut().zip(y) {
                *mj += yj;
            }
        }
        for mj in &mut mean {
            *mj /= m as f64;
        }
        // subspace iteration from a fixed start on the centred data Y - 1 mu^T,
        // without a centred copy: V <- orth(A^T Y - (A^T 1) mu^T), A = Y V^T - 1 (V mu)^T
        let mut rng = crate::rng::seeded(0x5eed_f4a3);
        let mut frame: Vec<f64> = (0..k * d)
            .map(|_| rand::Rng::random::<f64>(&mut rng) - 0.5)
            .collect();
        if !orthonormalise(&mut frame, k, d) {
            return None;
        }
        let mut a = vec![0.0; m * k];
        let mut vmu = vec![0.0; k];
        for _ in 0..ITERATIONS {
            for (j, v) in frame.chunks_exact(d).enumerate() {
                vmu[j] = v.iter().zip(&mean).map(|(f, u)| f * u).sum();
            }
            matmul((m, k, d), ys, (d, 1), &frame, (1, d), &mut a);
            for row in a.chunks_exact_mut(k) {
                for (aj, vj) in row.iter_mut().zip(&vmu) {
                    *aj -= vj;
                }
            }
            matmul((k, d, m), &a, (1, k), ys, (d, 1), &mut frame);
            for (j, v) in frame.chunks_exact_mut(d).enumerate() {
                let col: f64 = a.chunks_exact(k).map(|row| row[j]).sum();
                for (f, u) in v.iter_mut().zip(&mean) {
                    *f -= col * u;
                }
            }
            if !orthonormalise(&mut frame, k, d) {
                return None;
            }
        }
        // the frame must be orthonormal to far better than the widening
        for i in 0..k {
            for j in 0..k {
                let dot: f64 = (0..d).map(|c| frame[i * d + c] * frame[j * d + c]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                if (dot - want).abs() > 1e-12 {
                    return None;
                }
            }
        }
        let stride = m.div_ceil(LANES) * LANES;
        let mut z = vec![0.0; k * stride];
        let mut q = vec![f64::INFINITY; stride];
        let mut zi = vec![0.0; k];
        let mut v = vec![0.0; d];
        for (i, y) in ys.chunks_exact(d).enumerate() {
            for ((vc, yc), uc) in v.iter_mut().zip(y).zip(&mean) {
                *vc = yc - uc;
            }
            let r2 = split(&frame, k, d, &mut v, &mut zi);
            for j in 0..k {
                z[j * stride + i] = zi[j];
            }
            q[i] = r2.sqrt();
        }
        let gate = nearest_median2(ys, m, d) / 8.0;
        Some(Self {
            d,
            m,
            k,
            mean,
            frame,
            z,
            q,
            stride,
            gate,
        })
    }

    /// The squared lower bounds `lb_i^2` of the row `x` against every point at
    /// `alpha = a` into `sc.lb` (module docs; `M` values, then padding), and the point
    /// with the smallest; `None` if the row is not finite.
    #[inline(always)]
    fn lower_bounds(&self, x: &[f64], a: f64, sc: &mut Scratch) -> Option<usize> {
        let (d, m, k, stride) = (self.d, self.m, self.k, self.stride);
        sc.u.clear();
        sc.u.extend(x.iter().zip(&self.mean).map(|(xj, mj)| xj - a * mj));
        sc.z.resize(k, 0.0);
        let r2 = split(&self.frame, k, d, &mut sc.u, &mut sc.z);
        let qx = r2.sqrt();
        if !qx.is_finite() || !sc.z.iter().all(|v| v.is_finite()) {
            return None;
        }
        // the bounds with per lane the smallest and its first index, then the first
        // index among the lanes'
        sc.lb.resize(stride, 0.0);
        #[cfg(target_arch = "x86_64")]
        let (best, best_at) = if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above)
            unsafe { self.bound_pass_avx512(qx, a, &sc.z, &mut sc.lb) }
        } else {
            self.bound_passes(qx, a, &sc.z, &mut sc.lb)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let (best, best_at) = self.bound_passes(qx, a, &sc.z, &mut sc.lb);
        let lb = &sc.lb[..m];
        let mut j = best_at[0];
        for l in 1..LANES {
            if best[l] < lb[j] || (best[l] <= lb[j] && best_at[l] < j) {
                j = best_at[l];
            }
        }
        Some(j)
    }

    /// The squared lower bounds of a row into `lb` (module docs; `qx = |Q u|`,
    /// `zx = V u`, the terms added in the order: orthogonal part, then direction by
    /// direction), and per lane the smallest bound and its first index: one pass over
    /// all points per term, each a plain loop the compiler vectorises.
    #[inline(always)]
    fn bound_passes(
        &self,
        qx: f64,
        a: f64,
        zx: &[f64],
        lb: &mut [f64],
    ) -> ([f64; LANES], [usize; LANES]) {
        for (lb, &q) in lb.iter_mut().zip(&self.q) {
            let e = qx - a * q;
            *lb = e * e;
        }
        for (&zj, zs) in zx.iter().zip(self.z.chunks_exact(self.stride)) {
            for (lb, &z) in lb.iter_mut().zip(zs) {
                let e = zj - a * z;
                *lb += e * e;
            }
        }
        let mut best = [f64::INFINITY; LANES];
        let mut best_at = [0usize; LANES];
        for (c, chunk) in lb.chunks_exact(LANES).enumerate() {
            for l in 0..LANES {
                // (the padding's bound is +inf or NaN: never taken)
                if chunk[l] < best[l] {
                    best[l] = chunk[l];
                    best_at[l] = c * LANES + l;
                }
            }
        }
        (best, best_at)
    }

    /// [`Projection::bound_passes`] in AVX-512 registers with the same operations in
    /// the same order (the same bits), in one pass: a chunk of 8 points at a time with
    /// all its terms in a register, instead of one pass through memory per term (at
    /// `k = 8` that was a tenth of the digits run; the compiler's own vectorisation of
    /// a one-pass loop split it into 256- and 128-bit pieces). With `a = 1` (the power
    /// law's) the products `a * z` are left out, which changes no bit.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn bound_pass_avx512(
        &self,
        qx: f64,
        a: f64,
        zx: &[f64],
        lb: &mut [f64],
    ) -> ([f64; LANES], [usize; LANES]) {
        use std::arch::x86_64::*;
        let stride = self.stride;
        assert!(
            lb.len() == stride
                && self.q.len() == stride
                && self.z.len() >= zx.len() * stride
                && stride.is_multiple_of(LANES)
        );
        let (mut best, mut best_at) = ([f64::INFINITY; LANES], [0usize; LANES]);
        // exactly one: then a * z is z, bit for bit
        #[allow(clippy::float_cmp)]
        let unit = a == 1.0;
        // SAFETY: AVX-512F is there (the caller's contract); every load and store is
        // of 8 `f64` at `i0 + 8 <= stride` into `q`, `lb` (length `stride`) and row
        // `j < zx.len()` of `z` (asserted above)
        unsafe {
            let (vqx, va) = (_mm512_set1_pd(qx), _mm512_set1_pd(a));
            let scale = |v: __m512d| if unit { v } else { _mm512_mul_pd(va, v) };
            let mut vbest = _mm512_set1_pd(f64::INFINITY);
            let mut vbest_at = _mm512_setzero_si512();
            let mut idx = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
            let step = _mm512_set1_epi64(LANES as i64);
            for i0 in (0..stride).step_by(LANES) {
                let e = _mm512_sub_pd(vqx, scale(_mm512_loadu_pd(self.q.as_ptr().add(i0))));
                let mut acc = _mm512_mul_pd(e, e);
                for (j, &zj) in zx.iter().enumerate() {
                    let zs = _mm512_loadu_pd(self.z.as_ptr().add(j * stride + i0));
                    let e = _mm512_sub_pd(_mm512_set1_pd(zj), scale(zs));
                    acc = _mm512_add_pd(acc, _mm512_mul_pd(e, e));
                }
                // strictly below (NaN never): a lane keeps the first index of its minimum
                let lt = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(acc, vbest);
                vbest = _mm512_mask_mov_pd(vbest, lt, acc);
                vbest_at = _mm512_mask_mov_epi64(vbest_at, lt, idx);
                idx = _mm512_add_epi64(idx, step);
                _mm512_storeu_pd(lb.as_mut_ptr().add(i0), acc);
            }
            _mm512_storeu_pd(best.as_mut_ptr(), vbest);
            let mut at = [0i64; LANES];
            _mm512_storeu_si512(at.as_mut_ptr().cast(), vbest_at);
            for l in 0..LANES {
                best_at[l] = at[l] as usize;
            }
        }
        (best, best_at)
    }
}

/// `V v` into `z`, and the squared length of the rest, `|v - V^T V v|^2` (formed
/// coordinate by coordinate, not as a difference of squares); `v` is overwritten by
/// the rest. Every loop is either an axpy over the coordinates or a sum in [`PARTS`]
/// interleaved partial sums (a fixed order), not one chain of dependent additions:
/// this runs for every row that tries the bound.
#[inline(always)]
fn split(frame: &[f64], k: usize, d: usize, v: &mut [f64], z: &mut [f64]) -> f64 {
    for j in 0..k {
        z[j] = dot(&frame[j * d..(j + 1) * d], v);
    }
    for j in 0..k {
        for (r, f) in v.iter_mut().zip(&frame[j * d..(j + 1) * d]) {
            *r -= z[j] * f;
        }
    }
    dot(v, v)
}

/// Partial sums of [`dot`].
const PARTS: usize = 4;

/// `a . b` in [`PARTS`] interleaved partial sums.
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; PARTS];
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        acc[i % PARTS] += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// The median squared distance from a data point to its nearest other point, over
/// [`GATE_SAMPLE`] evenly spaced points (distances from one matrix product,
/// `|a|^2 + |b|^2 - 2 a.b`: a heuristic, so the rounding of that form does not matter;
/// duplicates count as zero).
fn nearest_median2(ys: &[f64], m: usize, d: usize) -> f64 {
    let n = GATE_SAMPLE.min(m);
    let picks: Vec<usize> = (0..n).map(|s| s * m / n).collect();
    let sample: Vec<f64> = picks
        .iter()
        .flat_map(|&i| ys[i * d..(i + 1) * d].iter().copied())
        .collect();
    let norm2: Vec<f64> = ys
        .chunks_exact(d)
        .map(|y| y.iter().map(|v| v * v).sum())
        .collect();
    let mut g = vec![0.0; n * m];
    matmul((n, m, d), &sample, (d, 1), ys, (1, d), &mut g);
    let mut nearest: Vec<f64> = picks
        .iter()
        .zip(g.chunks_exact(m))
        .map(|(&i, row)| {
            (0..m)
                .filter(|&j| j != i)
                .map(|j| (norm2[i] + norm2[j] - 2.0 * row[j]).max(0.0))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    nearest.sort_by(f64::total_cmp);
    nearest[n / 2]
}

/// Work space of [`try_sparse`], reused across rows.
#[derive(Default)]
pub(super) struct Scratch {
    lb: Vec<f64>,
    keep: Vec<usize>,
    keys: Vec<f64>,
    z: Vec<f64>,
    u: Vec<f64>,
    m: Vec<f64>,
}

/// Evaluates one row on its surviving points when the bound skips all but at most
/// `M / 8` of them (see the module docs): calls `done(Some(sums))` and returns true;
/// returns false (and calls nothing) when the row should go to the products.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn try_sparse<L: Law>(
    law: &L,
    row: &L::Row,
    proj: &Projection,
    ys: &[f64],
    pi: &[f64],
    x: &[f64],
    sc: &mut Scratch,
    done: impl FnOnce(Sums),
) -> bool {
    let (d, m) = (proj.d, proj.m);
    // the gate: with a reference at distance zero, could a point at distance
    // sqrt(gate) be skipped?
    let key0 = L::key(row, 0.0);
    let ln_ratio = (m as f64).ln() + LN_INV_DELTA;
    let may_prune = L::key(row, proj.gate) >= law.negligible_key(row, key0, ln_ratio);
    if !may_prune {
        return false;
    }
    let a = L::alpha(row);
    let Some(j) = proj.lower_bounds(x, a, sc) else {
        return false;
    };
    let lb = &sc.lb[..m];
    let exact_key = |i: usize| exact_key::<L>(row, x, ys, i);
    let c_up = exact_key(j);
    // points whose bound is at or above this key are skipped
    let cut = law.negligible_key(row, c_up, ln_ratio - pi[j].ln()) * (1.0 + WIDEN);
    if !cut.is_finite() {
        return false;
    }
    let most = m / 8;
    sc.keep.clear();
    // a chunk's test as one mask (vector compares), its survivors from the set bits
    for (c, chunk) in lb.chunks(LANES).enumerate() {
        let mut mask = 0u32;
        for (l, &v) in chunk.iter().enumerate() {
            mask |= u32::from(L::key(row, v) < cut) << l;
        }
        while mask != 0 {
            if sc.keep.len() == most {
                return false;
            }
            sc.keep.push(c * LANES + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
    }
    sc.keys.clear();
    sc.keys.extend(sc.keep.iter().map(|&i| exact_key(i)));
    sc.m.clear();
    sc.m.resize(d, 0.0);
    let (mut c, mut w) = (f64::INFINITY, 0.0);
    add_exact(
        law, row, pi, ys, d, &sc.keep, &sc.keys, &mut c, &mut w, &mut sc.m,
    );
    done(Sums { c, w, m: &sc.m });
    true
}

/// Adds the points `list`, whose keys `keys` were computed exactly, to a row's sums:
/// reference `c` (rescaled first if a key is below it), `w = sum_i w_i` and
/// `m = sum_i w_i y_i`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn add_exact<L: Law>(
    law: &L,
    row: &L::Row,
    pi: &[f64],
    ys: &[f64],
    d: usize,
    list: &[usize],
    keys: &[f64],
    c: &mut f64,
    w: &mut f64,
    m: &mut [f64],
) {
    let new = keys.iter().fold(*c, |c, &k| c.min(k));
    if new < *c {
        let f = if *c == f64::INFINITY {
            0.0
        } else {
            law.rescale(row, new, *c)
        };
        *w *= f;
        for v in m.iter_mut() {
            *v *= f;
        }
        *c = new;
    }
    for (&i, &key) in list.iter().zip(keys) {
        let wi = pi[i] * law.weight_one(row, key, *c);
        *w += wi;
        for (mj, &yj) in m.iter_mut().zip(&ys[i * d..(i + 1) * d]) {
            *mj += wi * yj;
        }
    }
}

/// The key of point `i` (`ys` row-major) for the row `x`, from the exact differences
/// `x - alpha y_i`.
#[inline(always)]
pub(super) fn exact_key<L: Law>(row: &L::Row, x: &[f64], ys: &[f64], i: usize) -> f64 {
    let d = x.len();
    L::key(row, dist2(x, &ys[i * d..(i + 1) * d], L::alpha(row)))
}

#[cfg(test)]
mod tests {
    use super::{split, Projection, Scratch};
    use rand::Rng as _;
    use rand_distr::StandardNormal;

    /// `M x d` points `mu + A w_i + noise z_i` with `w_i` in `R^rank` (row-major).
    fn low_rank(m: usize, d: usize, rank: usize, noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::seeded(seed);
        let basis: Vec<f64> = (0..rank * d).map(|_| rng.sample(StandardNormal)).collect();
        let mut ys = vec![0.0; m * d];
        for y in ys.chunks_exact_mut(d) {
            let w: Vec<f64> = (0..rank)
                .map(|_| 2.0 * rng.sample::<f64, _>(StandardNormal))
                .collect();
            for (c, yc) in y.iter_mut().enumerate() {
                *yc = 0.5 + (0..rank).map(|r| w[r] * basis[r * d + c]).sum::<f64>();
                *yc += noise * rng.sample::<f64, _>(StandardNormal);
            }
        }
        ys
    }

    /// Rows far from the data, near a point and on one.
    fn rows(ys: &[f64], d: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = crate::rng::seeded(seed);
        let m = ys.len() / d;
        (0..n)
            .map(|r| {
                let y = &ys[(r * 13 % m) * d..(r * 13 % m + 1) * d];
                y.iter()
                    .map(|&v| {
                        let z: f64 = rng.sample(StandardNormal);
                        match r % 3 {
                            0 => 5.0 * z,
                            1 => v + 0.1 * z,
                            _ => v,
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn d2(x: &[f64], y: &[f64], a: f64) -> f64 {
        x.iter()
            .zip(y)
            .map(|(u, v)| (u - a * v) * (u - a * v))
            .sum()
    }

    /// The bound never exceeds the distance (data of rank 5 plus noise, `d = 64` and
    /// `784`, `alpha = 1, 0.7, 0.05`, 30 rows each against 400 points, far / near / on
    /// a point; rounding allowance `1e-12` relative), and the index's smallest bound
    /// is the row's smallest bound. For data of rank 8 (exactly in an 8-dimensional
    /// affine subspace) the frame spans the data and the bound equals the distance
    /// to `1e-9` relative: it is as tight as it can be.
    #[test]
    fn bound_never_exceeds_the_distance_and_is_exact_on_the_span() {
        let mut sc = Scratch::default();
        for (d, rank, noise) in [(64, 5, 0.3), (784, 5, 0.3), (64, 8, 0.0), (784, 8, 0.0)] {
            let m = 400;
            let ys = low_rank(m, d, rank, noise, 7 + d as u64);
            let proj = Projection::build(&ys, m, d).expect("an index for 400 points");
            for a in [1.0, 0.7, 0.05] {
                for x in rows(&ys, d, 30, 3) {
                    let j = proj.lower_bounds(&x, a, &mut sc).unwrap();
                    let lb = &sc.lb[..m];
                    for (i, &b) in lb.iter().enumerate() {
                        let e = d2(&x, &ys[i * d..(i + 1) * d], a);
                        assert!(
                            b <= e * (1.0 + 1e-12) + 1e-12,
                            "d {d} a {a} point {i}: {b} > {e}"
                        );
                        if noise == 0.0 {
                            assert!((b - e).abs() <= 1e-9 * (e + 1.0), "d {d}: {b} vs {e}");
                        }
                    }
                    let smallest = lb.iter().fold(f64::INFINITY, |a, &v| a.min(v));
                    assert_eq!(lb[j].to_bits(), smallest.to_bits());
                }
            }
        }
    }

    /// The AVX-512 pass gives the bounds of the portable passes bit for bit (padding
    /// included), and the same lane minima and first indices: `M = 403` (a partial
    /// last chunk), a point repeated at indices 21 and 300 (a tie), `d = 64`,
    /// `alpha = 1, 0.7, 0.05`, rows far / near / on a point.
    #[test]
    fn avx512_bound_pass_equals_the_passes() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let (m, d) = (403, 64);
            let mut ys = low_rank(m, d, 5, 0.3, 11);
            ys.copy_within(21 * d..22 * d, 300 * d);
            let proj = Projection::build(&ys, m, d).unwrap();
            let mut rows = rows(&ys, d, 30, 5);
            rows.push(ys[21 * d..22 * d].to_vec());
            for a in [1.0, 0.7, 0.05] {
                for x in &rows {
                    let mut u: Vec<f64> =
                        x.iter().zip(&proj.mean).map(|(x, m)| x - a * m).collect();
                    let mut zx = vec![0.0; proj.k];
                    let qx = split(&proj.frame, proj.k, d, &mut u, &mut zx).sqrt();
                    let mut lb = vec![0.0; proj.stride];
                    let mut lb_simd = vec![0.0; proj.stride];
                    let want = proj.bound_passes(qx, a, &zx, &mut lb);
                    // SAFETY: the CPU has AVX-512F (checked above)
                    let got = unsafe { proj.bound_pass_avx512(qx, a, &zx, &mut lb_simd) };
                    assert_eq!(want, got, "a {a}");
                    let bits = |v: &[f64]| v.iter().map(|b| b.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&lb), bits(&lb_simd), "a {a}");
                }
            }
        }
    }

    /// No index for too few points, non-finite data, or data without `k + 1`
    /// dimensions of spread; rows with a NaN coordinate get no bounds.
    #[test]
    fn degenerate_inputs_give_no_index() {
        let (m, d) = (300, 64);
        let ys = low_rank(m, d, 5, 0.3, 1);
        assert!(Projection::build(&ys[..200 * d], 200, d).is_none());
        let mut bad = ys.clone();
        bad[17] = f64::NAN;
        assert!(Projection::build(&bad, m, d).is_none());
        // all points equal: nothing to span
        assert!(Projection::build(&vec![1.5; m * d], m, d).is_none());
        assert!(Projection::build(&ys[..m], m, 1).is_none());
        let proj = Projection::build(&ys, m, d).unwrap();
        let mut x = ys[..d].to_vec();
        x[3] = f64::NAN;
        assert!(proj
            .lower_bounds(&x, 1.0, &mut Scratch::default())
            .is_none());
    }
}
