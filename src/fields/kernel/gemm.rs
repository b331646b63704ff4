//! The kernels in high dimension: distances from matrix products, for any weight law
//! of the form "a function of the squared distance, relative to the row's nearest
//! point" (the power law of PFGM / PFGM++ and the Gaussian law of EDM and the linear
//! path).
//!
//! For a block of particles `X` (`n_b x d`) and a tile of data points `Y_T`
//! (`T x d`), the squared distances are `|x - a y|^2 = |x|^2 + a^2 |y|^2 - 2 a x . y`
//! (`a = alpha(s)` of the row, 1 under the ray schedule), the cross terms one matrix
//! product `X Y_T^T` (the `gemm` crate, single-threaded inside a block so that the
//! bits do not depend on the thread count; blocks run in parallel as before). The
//! weights are formed in place over that `n_b x T` buffer while it is in cache, and
//! the weighted sum `m = sum_i w_i y_i` is a second product `W Y_T` accumulated over
//! the tiles. What differs between the laws is a [`Law`]: the power law weighs
//! `w_i = (pi_i / pi_max) (c / t_i)^e` with `t_i = s^2 + d2_i`, the Gaussian
//! `w_i = (pi_i / pi_max) exp(-(d2_i - c) / (2 sigma^2))`. The reference `c` of a
//! row is the smallest `t` (or `d2`) seen so far: when a tile brings a smaller one,
//! the row's sums are rescaled by the law's ratio of the two references (at most
//! one), so every kernel ratio stays in `(0, 1]` as in the other kernels and the
//! nearest point ends with kernel ratio 1 (exactly `e^0` for the Gaussian).
//!
//! Cancellation: the product form loses digits when `d2` is small next to
//! `|x|^2 + a^2 |y|^2` (near a data point at small `s`). With `gamma_d = d eps` (the
//! classical bound on a `d`-term dot product, Higham, *Accuracy and Stability of
//! Numerical Algorithms*, 2nd ed., §3.1), the computed `|x|^2` and `|y|^2` are off by
//! at most `gamma_d` of themselves and `x . y` by `gamma_d |x| |y|`, and
//! `2 a |x| |y| <= |x|^2 + a^2 |y|^2`; with the few roundings of the final sum the
//! error of a computed `d2` is at most
//! `E = (2d + 6) eps (|x|^2 + a^2 max |y|^2)`. A weight's relative error is then at
//! most `e (E / t_i + E / c) <= 2 e E / c` for the power law and
//! `(E + E) / (2 sigma^2)` for the Gaussian (the error of `d2_i - c` in the
//! exponent). For the power law the error of a weight relative to an exactly known
//! reference is `e E / t_i`, which shrinks with the distance: so every point whose
//! computed `t_i` is below `e E / WEIGHT_RTOL + E` (typically the one or two data
//! points a particle is converging to) is left out of the products and its distance
//! formed exactly, coordinate by coordinate, at the end of the row; the reference is
//! then the smaller of the products' smallest `t` and the exact ones, and every weight
//! is within [`WEIGHT_RTOL`]. Only a row with more than 16 such points, and a Gaussian
//! row whose bound exceeds [`WEIGHT_RTOL`] (its error `E / (2 sigma^2)` does not shrink
//! with the distance), is evaluated again by the coordinate-wise kernel, which forms
//! every `x - a y_i` exactly; all others agree with that kernel to about this bound
//! (the posterior mean to twice it, on the scale of the coordinates). Before the exact
//! points, every row near a data point at small `s` was rerouted, which cost a pass
//! over the whole data set per row and dominated sampling at `d = 784`.
//!
//! Determinism: a row's bits must not depend on how many other rows share its block,
//! and the `gemm` crate picks its kernels by shape: the products' heights are chosen
//! so that every row's sums run in the same order ([`product_height`]).
//!
//! Rows at small levels whose weights sit on a few points skip the products
//! altogether: a cheap lower bound on every distance (`prune` submodule) proves most
//! points negligible, and the survivors are summed exactly.

// Lane loops index several fixed-size arrays at once on purpose (see `lanes`).
#![allow(clippy::needless_range_loop)]

use super::gauss::{self, GaussRows, RowConst};
use super::lanes::{hsum, Soa, LANES, V};
use super::laws::{Gauss, GaussRow, LaneLaw as _};
use super::power::{chunk_weights, finish_row, power_general, HalfPow, RowSums, Rows};
use super::prune::{self, Projection};
use super::Out;
use crate::fields::noise::Noise;
use crate::fields::schedule::Schedule;
use crate::fields::source::Source;

/// Bound on the relative error of any weight that the product form accepts; rows
/// above it are recomputed coordinate by coordinate.
pub const WEIGHT_RTOL: f64 = 1e-6;

/// Particles per block of the product path.
pub const PRODUCT_ROWS: usize = 64;

/// Data points per tile of the product path at dimension `d`: 256 for every `d` (the
/// `64 x 256` weights, 128 KiB, stay in L2; at `d = 784` the products alone ran at the
/// same rate, within the noise, for tiles of 64 to 1024 points: docs/FIELDS.md).
pub const fn product_tile(d: usize) -> usize {
    let _ = d;
    256
}

/// The bound `E` on the error of a computed squared distance (module docs).
#[inline(always)]
fn d2_error(d: usize, x2: f64, a2_y2max: f64) -> f64 {
    (2 * d + 6) as f64 * f64::EPSILON * (x2 + a2_y2max)
}

/// How the product path turns squared distances into weights.
pub(super) trait Law {
    /// The per-row constants.
    type Row: Copy;
    /// The constants of a row at level `s`.
    fn row(&self, s: f64) -> Self::Row;
    /// `alpha(s)`: the distances are `|x - alpha y|^2`.
    fn alpha(row: &Self::Row) -> f64;
    /// The quantity whose smallest value is the row's reference.
    fn key(row: &Self::Row, d2: f64) -> f64;
    /// The factor (at most one) by which a row's sums are multiplied when its
    /// reference drops from `old` to `new`.
    fn rescale(&self, row: &Self::Row, new: f64, old: f64) -> f64;
    /// The weights of one chunk of keys against the reference `c`; lanes at or past
    /// `valid` get weight zero.
    fn weights(&self, row: &Self::Row, key: &V, c: f64, pi: &[f64], valid: usize) -> V;
    /// The bound on the relative error of a weight when the squared distances are off
    /// by at most `err` and the reference is `c`.
    fn weight_error(&self, row: &Self::Row, err: f64, c: f64) -> f64;
    /// For laws whose weight error shrinks with the key (the power law: `e err / t`),
    /// the key below which a weight must come from an exact distance to stay within
    /// [`WEIGHT_RTOL`] (`e err / WEIGHT_RTOL`); `None` for laws whose weight error does
    /// not shrink with the distance (the Gaussian: `err / (2 sigma^2)` for every point).
    fn exact_below(&self, row: &Self::Row, err: f64) -> Option<f64>;
    /// The key at or above which a point weighs at most `e^{-ln_ratio}` of a point
    /// whose key is `c` (the pruning bound, `prune` submodule).
    fn negligible_key(&self, row: &Self::Row, c: f64, ln_ratio: f64) -> f64;
    /// The weight (kernel ratio to the reference `c <= key`) of one key.
    fn weight_one(&self, row: &Self::Row, key: f64, c: f64) -> f64;
    /// The weights of one row of a tile in place: `g` holds its keys (see
    /// [`Law::keys`]) and becomes the weights against the reference `c`, zero past
    /// `tl` and, when `has_exact`, zero where the key is `+inf` (points taken
    /// exactly); returns their sum ([`hsum`] of the lane sums).
    #[inline(always)]
    fn weights_row(
        &self,
        row: &Self::Row,
        g: &mut [f64],
        c: f64,
        pi: &[f64],
        tl: usize,
        has_exact: bool,
    ) -> f64 {
        weights_lanes(self, row, g, c, pi, tl, has_exact)
    }
    /// The keys of one row of a tile in place: `g` holds the cross products `x.y_i`
    /// of the tile's `tl` points (padded to `g.len()`, a multiple of [`LANES`]) and
    /// becomes `key(max(0, |x|^2 + a^2 |y_i|^2 - 2 a x.y_i))`, `+inf` in the padding;
    /// the lane minima go into `kmins`. Returns whether a key is below `cut`.
    #[inline(always)]
    fn keys(
        row: &Self::Row,
        g: &mut [f64],
        y2: &[f64],
        x2: f64,
        cut: f64,
        tl: usize,
        kmins: &mut V,
    ) -> bool {
        keys_lanes::<Self>(row, g, y2, x2, cut, tl, kmins)
    }
}

/// [`Law::weights_row`] chunk by chunk through [`Law::weights`].
#[inline(always)]
fn weights_lanes<L: Law + ?Sized>(
    law: &L,
    rc: &L::Row,
    g: &mut [f64],
    c: f64,
    pi: &[f64],
    tl: usize,
    has_exact: bool,
) -> f64 {
    let mut ws = [0.0; LANES];
    for k in (0..g.len()).step_by(LANES) {
        let valid = (tl.saturating_sub(k)).min(LANES);
        let key: V = g[k..k + LANES].try_into().unwrap();
        let mut w = law.weights(rc, &key, c, &pi[k..], valid);
        if has_exact {
            // the points taken exactly (key +inf) weigh nothing here
            for l in 0..LANES {
                if key[l].is_infinite() {
                    w[l] = 0.0;
                }
            }
        }
        g[k..k + LANES].copy_from_slice(&w);
        for l in 0..LANES {
            ws[l] += w[l];
        }
    }
    hsum(&ws)
}

/// [`Law::keys`] lane by lane (the form the vectoriser turns into SIMD code).
#[inline(always)]
fn keys_lanes<L: Law + ?Sized>(
    rc: &L::Row,
    g: &mut [f64],
    y2: &[f64],
    x2: f64,
    cut: f64,
    tl: usize,
    kmins: &mut V,
) -> bool {
    let a = L::alpha(rc);
    let (a2, ta) = (a * a, 2.0 * a);
    let mut near = false;
    for k in (0..g.len()).step_by(LANES) {
        let mut key = [0.0; LANES];
        let yk: &V = y2[k..k + LANES].try_into().unwrap();
        let gk: &V = g[k..k + LANES].try_into().unwrap();
        for l in 0..LANES {
            let d2 = x2 + a2 * yk[l] - ta * gk[l];
            // max(0, d2), NaN to 0 as by `f64::max` (one vector max)
            key[l] = L::key(rc, if d2 > 0.0 { d2 } else { 0.0 });
        }
        if k + LANES > tl {
            for kl in &mut key[tl.saturating_sub(k)..] {
                *kl = f64::INFINITY;
            }
        }
        for l in 0..LANES {
            near |= key[l] < cut;
            // NaN keys are passed over, as by `f64::min`
            if key[l] < kmins[l] {
                kmins[l] = key[l];
            }
        }
        g[k..k + LANES].copy_from_slice(&key);
    }
    near
}

/// Most points per row whose distances the product path recomputes exactly (points
/// closer than [`Law::exact_below`]); a row with more goes to the coordinate-wise
/// kernel.
const EXACT_POINTS: usize = 16;

/// A row's sums from the product path: reference `c`, `w = sum_i w_i` and
/// `m[j] = sum_i w_i y_ij`.
pub(super) struct Sums<'a> {
    pub(super) c: f64,
    pub(super) w: f64,
    pub(super) m: &'a [f64],
}

/// The product path over the rows `s`, `x` (`ys` the data, row-major), with the
/// pruning index `proj` if there is one. Every row is handed to `done` once (rows
/// settled on their surviving points first, the others block by block), with its
/// sums, or with `None` when its weights may have lost more than [`WEIGHT_RTOL`] to
/// cancellation (the caller evaluates it coordinate by coordinate).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn product<L: Law>(
    law: &L,
    soa: &Soa,
    ys: &[f64],
    d: usize,
    s: &[f64],
    x: &[f64],
    proj: Option<&Projection>,
    mut done: impl FnMut(usize, Option<Sums>),
) {
    let n = s.len();
    let m = soa.m;
    let tile = product_tile(d);
    let mut dbuf = vec![0.0; PRODUCT_ROWS * tile];
    let mut macc = vec![0.0; PRODUCT_ROWS * d];
    let mut wacc = [0.0; PRODUCT_ROWS];
    let mut cref = [0.0; PRODUCT_ROWS];
    let mut x2 = [0.0; PRODUCT_ROWS];
    let mut rc: Vec<L::Row> = Vec::with_capacity(PRODUCT_ROWS);
    let mut xpad = vec![0.0; PRODUCT_ROWS * d];
    // per row: the error bound of its distances, the key below which a point is taken
    // exactly (-inf: none), and those points (None: more than EXACT_POINTS)
    let mut err = [0.0; PRODUCT_ROWS];
    let mut below = [f64::NEG_INFINITY; PRODUCT_ROWS];
    let mut exact: Vec<Option<Vec<usize>>> = vec![Some(Vec::new()); PRODUCT_ROWS];
    let mut scratch = prune::Scratch::default();
    // the rows of the current block (indices into `s`)
    let mut block: Vec<usize> = Vec::with_capacity(PRODUCT_ROWS);
    let mut next = 0;
    while next < n {
        // rows that the bound settles on a few points are done here; the others fill a
        // block of at most PRODUCT_ROWS rows for the products
        // (with their row constants)
        block.clear();
        rc.clear();
        while next < n && block.len() < PRODUCT_ROWS {
            let r = next;
            next += 1;
            let row = law.row(s[r]);
            if let Some(proj) = proj {
                let xr = &x[r * d..(r + 1) * d];
                let sums = |sums: Sums| done(r, Some(sums));
                if prune::try_sparse(law, &row, proj, ys, &soa.pi, xr, &mut scratch, sums) {
                    continue;
                }
            }
            block.push(r);
            rc.push(row);
        }
        let nb = block.len();
        if nb == 0 {
            continue;
        }
        for (b, &r) in block.iter().enumerate() {
            xpad[b * d..(b + 1) * d].copy_from_slice(&x[r * d..(r + 1) * d]);
        }
        xpad[nb * d..].fill(0.0);
        // the products' height: the live rows rounded up to a multiple of
        // PRODUCT_ALIGN, so that a row's bits do not depend on its block (see
        // `product_height`)
        let live = nb.div_ceil(PRODUCT_ALIGN) * PRODUCT_ALIGN;
        let xb = &xpad[..];
        for b in 0..nb {
            let xr = &xb[b * d..(b + 1) * d];
            x2[b] = xr.iter().map(|v| v * v).sum();
            cref[b] = f64::INFINITY;
            wacc[b] = 0.0;
            let a = L::alpha(&rc[b]);
            err[b] = d2_error(d, x2[b], a * a * soa.norm2_max);
            // a point whose computed key is below `cut + err` may be exactly below `cut`
            below[b] = law
                .exact_below(&rc[b], err[b])
                .map_or(f64::NEG_INFINITY, |cut| cut + err[b]);
            exact[b] = Some(Vec::new());
        }
        macc.fill(0.0);
        for t0 in (0..m).step_by(tile) {
            let tl = tile.min(m - t0);
            let tp = tl.div_ceil(LANES) * LANES;
            let g = &mut dbuf[..PRODUCT_ROWS * tp];
            let h = product_height(live, tl);
            cross_products(h, xb, &ys[t0 * d..], g, d, tl, tp);
            let y2 = &soa.norm2[t0..t0 + tp];
            for b in 0..nb {
                let row = &mut g[b * tp..(b + 1) * tp];
                // keys from d2 = max(0, |x|^2 + a^2 |y_i|^2 - 2 a x.y_i); padding +inf.
                // Points taken exactly get +inf afterwards (weight zero in the
                // product); the minimum does not depend on the order of the lanes.
                let mut kmins = [f64::INFINITY; LANES];
                let mut has_exact = false;
                let cut = below[b];
                if L::keys(&rc[b], row, y2, x2[b], cut, tl, &mut kmins) {
                    for (k, key) in row[..tl].iter_mut().enumerate() {
                        if *key < cut {
                            if let Some(list) = &mut exact[b] {
                                if list.len() < EXACT_POINTS {
                                    list.push(t0 + k);
                                } else {
                                    exact[b] = None;
                                }
                            }
                            *key = f64::INFINITY;
                            has_exact = true;
                        }
                    }
                    kmins = [f64::INFINITY; LANES];
                    for k in (0..tp).step_by(LANES) {
                        for l in 0..LANES {
                            if row[k + l] < kmins[l] {
                                kmins[l] = row[k + l];
                            }
                        }
                    }
                }
                let kmin = kmins.iter().fold(f64::INFINITY, |a, &v| a.min(v));
                if kmin < cref[b] {
                    let f = law.rescale(&rc[b], kmin, cref[b]);
                    wacc[b] *= f;
                    for v in &mut macc[b * d..(b + 1) * d] {
                        *v *= f;
                    }
                    cref[b] = kmin;
                }
                let pi = &soa.pi[t0..t0 + tp];
                wacc[b] += law.weights_row(&rc[b], row, cref[b], pi, tl, has_exact);
            }
            // (the rows past `nb` are ignored)
            add_weighted_sums(h, g, &ys[t0 * d..], &mut macc, d, tl, tp);
        }
        for b in 0..nb {
            let r = block[b];
            let bound = match &exact[b] {
                // too many points near the row: the coordinate-wise kernel
                None => f64::INFINITY,
                // every point left in the product is at least `exact_below` away
                Some(list) if below[b] > f64::NEG_INFINITY => {
                    if !list.is_empty() {
                        let xr = &x[r * d..(r + 1) * d];
                        let keys: Vec<f64> = list
                            .iter()
                            .map(|&i| prune::exact_key::<L>(&rc[b], xr, ys, i))
                            .collect();
                        let (c, w) = (&mut cref[b], &mut wacc[b]);
                        let mrow = &mut macc[b * d..(b + 1) * d];
                        prune::add_exact(law, &rc[b], &soa.pi, ys, d, list, &keys, c, w, mrow);
                    }
                    if cref[b].is_nan() || wacc[b].is_nan() {
                        f64::NAN
                    } else {
                        0.0
                    }
                }
                Some(_) => law.weight_error(&rc[b], err[b], cref[b]),
            };
            if bound > WEIGHT_RTOL || bound.is_nan() {
                // cancellation: this row goes to the coordinate-wise kernel
                done(r, None);
            } else {
                let sums = Sums {
                    c: cref[b],
                    w: wacc[b],
                    m: &macc[b * d..(b + 1) * d],
                };
                done(r, Some(sums));
            }
        }
    }
}

/// `c = a b`, or `c += a b` when `add`, for a `rows x inner` matrix `a` and an
/// `inner x cols` matrix `b`, each given by its (row, column) strides in its slice,
/// into `c` with row stride `c_rs >= cols` (columns contiguous); single-threaded (the
/// callers run in parallel), through the `gemm` crate. The one place this module (and
/// `prune`) calls it; panics if a stride reaches outside a slice.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_into(
    (rows, cols, inner): (usize, usize, usize),
    a: &[f64],
    (a_rs, a_cs): (usize, usize),
    b: &[f64],
    (b_rs, b_cs): (usize, usize),
    c: &mut [f64],
    c_rs: usize,
    add: bool,
) {
    let last = |r: usize, rs: usize, k: usize, cs: usize| (r - 1) * rs + (k - 1) * cs;
    assert!(rows > 0 && cols > 0 && inner > 0 && c_rs >= cols);
    assert!(a.len() > last(rows, a_rs, inner, a_cs) && b.len() > last(inner, b_rs, cols, b_cs));
    assert!(c.len() > last(rows, c_rs, cols, 1));
    // SAFETY: every index the strides reach is in bounds (asserts above), and the rows
    // of `c` do not overlap (`c_rs >= cols`).
    unsafe {
        gemm::gemm(
            rows,
            cols,
            inner,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            add,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            if add { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The first product of the path: `G = X Y^T` for the first `rows` rows of a block
/// `X` (rows of length `d`) and a tile `Y` of `tl` data points (both row-major), into
/// `g` with row stride `tp >= tl`. Single-threaded: blocks run in parallel.
pub fn cross_products(
    rows: usize,
    x: &[f64],
    y: &[f64],
    g: &mut [f64],
    d: usize,
    tl: usize,
    tp: usize,
) {
    gemm_into((rows, tl, d), x, (d, 1), y, (1, d), g, tp, false);
}

/// The second product of the path: `M += W Y` for the weights `w` of the first `rows`
/// rows of a block (stride `tp`, the first `tl` columns used) and the tile `Y` of `tl`
/// data points of length `d`, into `m` (`rows x d`).
pub fn add_weighted_sums(
    rows: usize,
    w: &[f64],
    y: &[f64],
    m: &mut [f64],
    d: usize,
    tl: usize,
    tp: usize,
) {
    gemm_into((rows, d, tl), w, (tp, 1), y, (d, 1), m, d, true);
}

/// The products' heights are multiples of this.
pub const PRODUCT_ALIGN: usize = 8;

/// The height of both products over a tile of `tl` points for a block whose live rows
/// round up to `live` (a multiple of [`PRODUCT_ALIGN`]). A row's bits must not depend
/// on how many rows share its block. The `gemm` crate sums every element of a product
/// over the inner dimension in the same order whatever the height, except that it
/// takes other kernels (with another order) for a single row and for products of at
/// most 256 elements; so a tile of more than `256 / PRODUCT_ALIGN` points is
/// multiplied with the live rows only, a smaller one (the last tile of some data
/// sets) always with the full [`PRODUCT_ROWS`]. Tested by the block-independence tests
/// below, with blocks of 1 to 70 rows.
pub const fn product_height(live: usize, tl: usize) -> usize {
    if tl * PRODUCT_ALIGN > 256 {
        live
    } else {
        PRODUCT_ROWS
    }
}

/// The power law `(c / t)^e` (ray schedule); `W`: weighted data, `R`: the AVX-512
/// reciprocal square root (see `power`).
struct PowerLaw<const W: bool, const R: bool>(HalfPow);

impl<const W: bool, const R: bool> Law for PowerLaw<W, R> {
    /// `s^2`.
    type Row = f64;
    #[inline(always)]
    fn row(&self, s: f64) -> f64 {
        s * s
    }
    #[inline(always)]
    fn alpha(_: &f64) -> f64 {
        1.0
    }
    #[inline(always)]
    fn key(s2: &f64, d2: f64) -> f64 {
        s2 + d2
    }
    #[inline(always)]
    fn rescale(&self, _: &f64, new: f64, old: f64) -> f64 {
        HalfPow::pow_scalar(self.0, new / old)
    }
    #[inline(always)]
    fn weights(&self, _: &f64, key: &V, c: f64, pi: &[f64], valid: usize) -> V {
        chunk_weights::<W, R>(self.0, key, c, pi, 1.0, valid).1
    }
    #[inline(always)]
    fn weight_error(&self, _: &f64, err: f64, c: f64) -> f64 {
        2.0 * self.0.exponent() * err / c
    }
    #[inline(always)]
    fn exact_below(&self, _: &f64, err: f64) -> Option<f64> {
        Some(self.0.exponent() * err / WEIGHT_RTOL)
    }
    #[inline(always)]
    fn negligible_key(&self, _: &f64, c: f64, ln_ratio: f64) -> f64 {
        // (c / t)^e <= e^{-ln_ratio}
        c * (ln_ratio / self.0.exponent()).exp()
    }
    #[inline(always)]
    fn weight_one(&self, _: &f64, key: f64, c: f64) -> f64 {
        HalfPow::pow_scalar(self.0, c / key)
    }
    #[inline(always)]
    fn weights_row(
        &self,
        s2: &f64,
        g: &mut [f64],
        c: f64,
        pi: &[f64],
        tl: usize,
        has_exact: bool,
    ) -> f64 {
        if R {
            weights_avx512::<W>(self.0, g, c, pi, tl, has_exact)
        } else {
            weights_lanes(self, s2, g, c, pi, tl, has_exact)
        }
    }
    #[inline(always)]
    fn keys(
        s2: &f64,
        g: &mut [f64],
        y2: &[f64],
        x2: f64,
        cut: f64,
        tl: usize,
        kmins: &mut V,
    ) -> bool {
        if R {
            keys_avx512(*s2, g, y2, x2, cut, tl, kmins)
        } else {
            keys_lanes::<Self>(s2, g, y2, x2, cut, tl, kmins)
        }
    }
}

/// [`Law::weights_row`] of the power law in AVX-512 registers: the operations of
/// `power::chunk_weights` (with the reciprocal square root) and [`weights_lanes`] in
/// the same order, so the same bits. Only called from the AVX-512 path (`R = true`).
#[inline(always)]
fn weights_avx512<const W: bool>(
    p: HalfPow,
    g: &mut [f64],
    c: f64,
    pi: &[f64],
    tl: usize,
    has_exact: bool,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        assert!(pi.len() >= g.len() && g.len().is_multiple_of(LANES) && tl <= g.len());
        let mut ws = [0.0; LANES];
        // SAFETY: reached only from `power_avx512` (the CPU has AVX-512F); every load
        // and store is of 8 `f64` at `k < g.len() <= pi.len()` with `g.len()` a
        // multiple of 8 (asserted above).
        unsafe {
            let (vc, vsc) = (_mm512_set1_pd(c), _mm512_set1_pd(c.sqrt()));
            let (one, half) = (_mm512_set1_pd(1.0), _mm512_set1_pd(0.5));
            let inf = _mm512_set1_pd(f64::INFINITY);
            let abs = _mm512_castsi512_pd(_mm512_set1_epi64(i64::MAX));
            let mut lane_sums = _mm512_setzero_pd();
            for k in (0..g.len()).step_by(LANES) {
                let t = _mm512_loadu_pd(g.as_ptr().add(k));
                // 1/sqrt(t): the 14-bit estimate and two Newton steps
                let mut y = _mm512_rsqrt14_pd(t);
                for _ in 0..2 {
                    let h = _mm512_mul_pd(t, y);
                    let r = _mm512_fnmadd_pd(h, y, one);
                    y = _mm512_fmadd_pd(_mm512_mul_pd(half, y), r, y);
                }
                let q = _mm512_mul_pd(_mm512_mul_pd(vc, y), y);
                let sq = _mm512_mul_pd(vsc, y);
                // q^e: sqrt(q) q^half by repeated squaring (as `half_pow`)
                let mut w = if p.half == 1 && p.odd {
                    _mm512_mul_pd(q, sq)
                } else {
                    let mut acc = if p.odd { sq } else { one };
                    let (mut base, mut e) = (q, p.half);
                    while e > 0 {
                        if e & 1 == 1 {
                            acc = _mm512_mul_pd(acc, base);
                        }
                        e >>= 1;
                        if e > 0 {
                            base = _mm512_mul_pd(base, base);
                        }
                    }
                    acc
                };
                if W {
                    // times pi_i / pi_ref with pi_ref = 1 here
                    w = _mm512_mul_pd(w, _mm512_loadu_pd(pi.as_ptr().add(k)));
                }
                if k + LANES > tl {
                    let live: __mmask8 = ((1u32 << (tl - k)) - 1) as __mmask8;
                    w = _mm512_maskz_mov_pd(live, w);
                }
                if has_exact {
                    // keys +inf (points taken exactly) weigh nothing here
                    let exact = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(_mm512_and_pd(t, abs), inf);
                    w = _mm512_mask_mov_pd(w, exact, _mm512_setzero_pd());
                }
                _mm512_storeu_pd(g.as_mut_ptr().add(k), w);
                lane_sums = _mm512_add_pd(lane_sums, w);
            }
            _mm512_storeu_pd(ws.as_mut_ptr(), lane_sums);
        }
        hsum(&ws)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        weights_lanes(&PowerLaw::<W, false>(p), &0.0, g, c, pi, tl, has_exact)
    }
}

/// [`Law::keys`] of the power law (`alpha = 1`, key `s^2 + d2`) in AVX-512 registers,
/// with the operations of [`keys_lanes`] in the same order (the same bits): the
/// vectoriser compiled that loop into 256-bit halves joined by permutes and spilled
/// to the stack. Only called from the AVX-512 path (`R = true`).
#[inline(always)]
fn keys_avx512(
    s2: f64,
    g: &mut [f64],
    y2: &[f64],
    x2: f64,
    cut: f64,
    tl: usize,
    kmins: &mut V,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        assert!(y2.len() >= g.len() && g.len().is_multiple_of(LANES) && tl <= g.len());
        // SAFETY: reached only from `power_avx512` (the CPU has AVX-512F); every load
        // and store is of 8 `f64` at `k < g.len() <= y2.len()` with `g.len()` a
        // multiple of 8 (asserted above).
        unsafe {
            let (vx2, vs2, vcut) = (_mm512_set1_pd(x2), _mm512_set1_pd(s2), _mm512_set1_pd(cut));
            let (two, zero, inf) = (
                _mm512_set1_pd(2.0),
                _mm512_setzero_pd(),
                _mm512_set1_pd(f64::INFINITY),
            );
            let mut vmin = _mm512_loadu_pd(kmins.as_ptr());
            let mut near: __mmask8 = 0;
            for k in (0..g.len()).step_by(LANES) {
                let yk = _mm512_loadu_pd(y2.as_ptr().add(k));
                let gk = _mm512_loadu_pd(g.as_ptr().add(k));
                // (|x|^2 + |y|^2) - 2 x.y; max(d2, 0) is 0 for NaN and -0
                let d2 = _mm512_sub_pd(_mm512_add_pd(vx2, yk), _mm512_mul_pd(two, gk));
                let mut key = _mm512_add_pd(vs2, _mm512_max_pd(d2, zero));
                if k + LANES > tl {
                    let live: __mmask8 = ((1u32 << (tl - k)) - 1) as __mmask8;
                    key = _mm512_mask_blend_pd(live, inf, key);
                }
                near |= _mm512_cmp_pd_mask::<_CMP_LT_OQ>(key, vcut);
                // the key where it is below the minimum, else the minimum (NaN too)
                vmin = _mm512_min_pd(key, vmin);
                _mm512_storeu_pd(g.as_mut_ptr().add(k), key);
            }
            _mm512_storeu_pd(kmins.as_mut_ptr(), vmin);
            near != 0
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        keys_lanes::<PowerLaw<false, false>>(&s2, g, y2, x2, cut, tl, kmins)
    }
}

/// The product path of the power-law kernel for the rows of `rows` (no divergence;
/// the caller routes divergence requests to the coordinate-wise kernel). `ys` is the
/// data, row-major.
#[inline(always)]
pub(super) fn power_gemm<const W: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    ys: &[f64],
    proj: Option<&Projection>,
    d: usize,
    mut rows: Rows,
) {
    debug_assert!(rows.div.is_none());
    let (s, x) = (rows.s, rows.x);
    product(&PowerLaw::<W, R>(p), soa, ys, d, s, x, proj, |r, sums| {
        let Some(sums) = sums else {
            let one = Rows {
                s: &rows.s[r..r + 1],
                x: &rows.x[r * d..(r + 1) * d],
                f: &mut rows.f[r * d..(r + 1) * d],
                log_p: rows.log_p.as_deref_mut().map(|l| &mut l[r..r + 1]),
                div: None,
                log_norm: rows.log_norm,
            };
            power_general::<W, false, R>(p, soa, d, one);
            return;
        };
        let mut w = [0.0; LANES];
        w[0] = sums.w;
        let mv: Vec<V> = sums
            .m
            .iter()
            .map(|&v| {
                let mut a = [0.0; LANES];
                a[0] = v;
                a
            })
            .collect();
        let lanes = RowSums {
            w: &w,
            m: &mv,
            g: &[],
            fg: &[0.0; LANES],
        };
        finish_row(p, d, r, sums.c, 1.0, lanes, &mut rows);
    });
}

/// The Gaussian law `exp(-(d2 - c) / (2 sigma^2))` under either schedule; `W`:
/// weighted data, `F`: fused multiply-adds in the exponential (see `vexp`).
struct GaussLaw<const W: bool, const F: bool>(Schedule);

impl<const W: bool, const F: bool> Law for GaussLaw<W, F> {
    type Row = RowConst<GaussRow>;
    #[inline(always)]
    fn row(&self, s: f64) -> RowConst<GaussRow> {
        let mut rc = RowConst::new(self.0, s, 1.0);
        rc.law = Gauss.row(rc.sg, 0.0);
        rc
    }
    #[inline(always)]
    fn alpha(rc: &RowConst<GaussRow>) -> f64 {
        rc.a
    }
    #[inline(always)]
    fn key(_: &RowConst<GaussRow>, d2: f64) -> f64 {
        d2
    }
    #[inline(always)]
    fn rescale(&self, rc: &RowConst<GaussRow>, new: f64, old: f64) -> f64 {
        ((new - old) * rc.law.inv2).exp()
    }
    #[inline(always)]
    fn weights(&self, rc: &RowConst<GaussRow>, key: &V, c: f64, pi: &[f64], valid: usize) -> V {
        let mut rc = *rc;
        rc.law = Gauss.row(rc.sg, c);
        rc.weights::<Gauss, W, false, F>(&Gauss, key, pi, valid).0
    }
    #[inline(always)]
    fn weight_error(&self, rc: &RowConst<GaussRow>, err: f64, _: f64) -> f64 {
        2.0 * err * rc.law.inv2
    }
    #[inline(always)]
    fn exact_below(&self, _: &RowConst<GaussRow>, _: f64) -> Option<f64> {
        None
    }
    #[inline(always)]
    fn negligible_key(&self, rc: &RowConst<GaussRow>, c: f64, ln_ratio: f64) -> f64 {
        // exp(-(t - c) / (2 sigma^2)) <= e^{-ln_ratio}
        c + ln_ratio / rc.law.inv2
    }
    #[inline(always)]
    fn weight_one(&self, rc: &RowConst<GaussRow>, key: f64, c: f64) -> f64 {
        ((c - key) * rc.law.inv2).exp()
    }
}

/// The product path of the Gaussian kernel (no divergence: the caller routes
/// divergence requests to the coordinate-wise kernel). Rows that fail the
/// cancellation test go to `coordinatewise` one by one. Dispatched at run time to
/// code compiled for AVX-512 or AVX2 with FMA, as the vectorised Gaussian kernel.
#[allow(clippy::too_many_arguments)]
pub(super) fn gauss_gemm(
    kernel: &Noise,
    sch: Schedule,
    src: &Source,
    s: &[f64],
    x: &[f64],
    out: Out,
    coordinatewise: fn(&Noise, Schedule, &Source, &[f64], &[f64], Out),
    proj: Option<&Projection>,
) {
    debug_assert!(out.div.is_none());
    let rows = GaussRows::new(kernel, src.soa(), sch, s, x, out);
    let job = GaussJob {
        kernel,
        src,
        coordinatewise,
        proj,
    };
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU has AVX-512F and FMA (checked just above).
            unsafe { gauss_gemm_avx512(job, rows) };
            return;
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { gauss_gemm_avx2(job, rows) };
            return;
        }
    }
    gauss_gemm_rows::<false>(job, rows);
}

/// What the Gaussian product path needs besides the rows.
#[derive(Clone, Copy)]
struct GaussJob<'a> {
    kernel: &'a Noise,
    src: &'a Source,
    coordinatewise: fn(&Noise, Schedule, &Source, &[f64], &[f64], Out),
    proj: Option<&'a Projection>,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn gauss_gemm_avx512(job: GaussJob, rows: GaussRows) {
    gauss_gemm_rows::<true>(job, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gauss_gemm_avx2(job: GaussJob, rows: GaussRows) {
    gauss_gemm_rows::<true>(job, rows);
}

#[inline(always)]
fn gauss_gemm_rows<const F: bool>(job: GaussJob, rows: GaussRows) {
    if job.src.soa().uniform {
        gauss_law::<false, F>(job, rows);
    } else {
        gauss_law::<true, F>(job, rows);
    }
}

#[inline(always)]
fn gauss_law<const W: bool, const F: bool>(job: GaussJob, mut rows: GaussRows) {
    let (src, d) = (job.src, job.src.dim());
    let (s, x) = (rows.s, rows.x);
    let law = GaussLaw::<W, F>(rows.sch);
    product(
        &law,
        src.soa(),
        src.means(),
        d,
        s,
        x,
        job.proj,
        |r, sums| match sums {
            Some(sums) => gauss::finish_sums(d, r, sums.c, sums.w, sums.m, &mut rows),
            None => {
                let out = Out {
                    f: &mut rows.out.f[r * d..(r + 1) * d],
                    log_p: rows.out.log_p.as_deref_mut().map(|l| &mut l[r..r + 1]),
                    div: None,
                };
                let (sr, xr) = (&s[r..r + 1], &x[r * d..(r + 1) * d]);
                (job.coordinatewise)(job.kernel, rows.sch, src, sr, xr, out);
            }
        },
    );
}
#[cfg(test)]
mod tests {
    use super::super::lanes::LANES;
    use super::super::power::{power_general, HalfPow, Rows};
    use super::{gauss_gemm, power_gemm, Projection, WEIGHT_RTOL};
    use crate::fields::kernel::{gauss_coordinatewise, Out};
    use crate::fields::noise::{Noise, NoiseKind};
    use crate::fields::schedule::Schedule;
    use crate::fields::source::Source;
    use ndarray::Array2;
    use rand::Rng as _;
    use rand_distr::StandardNormal;

    struct Eval {
        f: Vec<f64>,
        lp: Vec<f64>,
    }

    /// The largest difference of the posterior means `m = x - s f` of row `r` under
    /// two evaluations `fa`, `fb`, on the row's coordinate scale `max(|x|_inf, ymax)`
    /// (NaN differences passed over, as by `f64::max`).
    fn mean_error(s: &[f64], x: &[f64], fa: &[f64], fb: &[f64], r: usize, ymax: f64) -> f64 {
        let d = x.len() / s.len();
        let xr = &x[r * d..(r + 1) * d];
        let scale = xr.iter().fold(ymax, |a, v| a.max(v.abs()));
        (0..d)
            .map(|j| {
                let ma = xr[j] - s[r] * fa[r * d + j];
                let mb = xr[j] - s[r] * fb[r * d + j];
                (ma - mb).abs() / scale
            })
            .fold(0.0, f64::max)
    }

    /// The exponent of a power-law kernel as the kernels take it.
    fn half_pow(kernel: &Noise) -> HalfPow {
        let NoiseKind::PowerLaw { exponent } = kernel.kind() else {
            unreachable!()
        };
        let n2 = (2.0 * exponent) as u32;
        HalfPow {
            half: n2 / 2,
            odd: n2 % 2 == 1,
        }
    }

    /// `gemm`: the product path (with the source's pruning index), else the
    /// coordinate-wise kernel (both portable).
    fn run(kernel: &Noise, src: &Source, s: &[f64], x: &[f64], gemm: bool) -> Eval {
        run_with(kernel, src, s, x, gemm, src.projection())
    }

    /// [`run`] with the given pruning index (`None`: every row through the products).
    fn run_with(
        kernel: &Noise,
        src: &Source,
        s: &[f64],
        x: &[f64],
        gemm: bool,
        proj: Option<&Projection>,
    ) -> Eval {
        let (n, d) = (s.len(), src.dim());
        let mut e = Eval {
            f: vec![0.0; n * d],
            lp: vec![0.0; n],
        };
        let p = half_pow(kernel);
        let soa = src.soa();
        let rows = Rows {
            s,
            x,
            f: &mut e.f,
            log_p: Some(&mut e.lp),
            div: None,
            log_norm: kernel.log_norm() + soa.ln_pi_max,
        };
        match (gemm, soa.uniform) {
            (true, true) => power_gemm::<false, false>(p, soa, src.means(), proj, d, rows),
            (true, false) => power_gemm::<true, false>(p, soa, src.means(), proj, d, rows),
            (false, true) => power_general::<false, false, false>(p, soa, d, rows),
            (false, false) => power_general::<true, false, false>(p, soa, d, rows),
        }
        e
    }

    /// Which rows the power-law product path keeps (true) rather than handing to the
    /// coordinate-wise kernel.
    fn kept_rows(kernel: &Noise, src: &Source, s: &[f64], x: &[f64]) -> Vec<bool> {
        let p = half_pow(kernel);
        let mut kept = kept_with::<false>(p, src, s, x);
        // the AVX-512 weights (reciprocal square root estimate) too, where the CPU has it
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            let fast = unsafe { kept_avx512(p, src, s, x) };
            for (k, f) in kept.iter_mut().zip(fast) {
                *k = *k && f;
            }
        }
        kept
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn kept_avx512(p: HalfPow, src: &Source, s: &[f64], x: &[f64]) -> Vec<bool> {
        kept_with::<true>(p, src, s, x)
    }

    /// [`kept_rows`] with the weights of `R` (the AVX-512 reciprocal square root or not).
    #[inline(always)]
    fn kept_with<const R: bool>(p: HalfPow, src: &Source, s: &[f64], x: &[f64]) -> Vec<bool> {
        let mut kept = vec![false; s.len()];
        let law = super::PowerLaw::<true, R>(p);
        super::product(
            &law,
            src.soa(),
            src.means(),
            src.dim(),
            s,
            x,
            None,
            |r, sums| {
                kept[r] = sums.is_some();
            },
        );
        kept
    }

    /// Rows: random (far from the data), near a data point (offset `s z / sqrt(d)`),
    /// and exactly on one; levels from 1e-3 to 10.
    fn rows_for(data: &Array2<f64>, n: usize, rng: &mut impl rand::Rng) -> (Vec<f64>, Vec<f64>) {
        rows_at(data, n, &[1e-3, 3e-2, 0.3, 1.0, 10.0], rng)
    }

    /// [`rows_for`] at the given five levels.
    fn rows_at(
        data: &Array2<f64>,
        n: usize,
        levels: &[f64; 5],
        rng: &mut impl rand::Rng,
    ) -> (Vec<f64>, Vec<f64>) {
        let (m, d) = data.dim();
        let mut s = vec![0.0; n];
        let mut x = vec![0.0; n * d];
        for r in 0..n {
            s[r] = levels[r % levels.len()];
            let kind = (r / levels.len()) % 3;
            let y = data.row((r * 7) % m);
            for j in 0..d {
                let z: f64 = rng.sample(StandardNormal);
                x[r * d + j] = match kind {
                    0 => 3.0 * z,
                    1 => y[j] + s[r] * z / (d as f64).sqrt(),
                    _ => y[j],
                };
            }
        }
        (s, x)
    }

    /// The product path against the coordinate-wise kernel, for `d = 16, 64, 784`,
    /// PFGM and PFGM++ (`D = 128`), uniform and random weights, `M = 600` (three
    /// tiles, the last partial), 75 rows (a full and a partial block). Stated
    /// tolerance: with every weight within [`WEIGHT_RTOL`] = `1e-6` relative, the
    /// posterior mean `m = x - s f` agrees to `2 WEIGHT_RTOL` of the row's coordinate
    /// scale `max(|x|_inf, max |y|_inf)` and `ln p` to `WEIGHT_RTOL` absolute; the
    /// bound is a worst case, the measured errors are far below it. Rows on a data point at
    /// `s = 1e-3`, where the product form cannot resolve the nearest distance, must stay
    /// in the product path with that point taken exactly, and agree to `1e-12`.
    #[test]
    fn product_path_matches_the_coordinatewise_kernel() {
        let mut rng = crate::rng::seeded(41);
        let mut worst = (0.0f64, 0.0f64);
        let mut worst_on = 0.0f64;
        let mut exact = 0;
        for d in [16usize, 64, 784] {
            let m = 600;
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for weights in [None, Some(&wts[..])] {
                let src = Source::points(data.view(), weights).unwrap();
                for aug in [1.0, 128.0] {
                    let kernel = Noise::pfgmpp(d, aug).unwrap();
                    let (s, x) = rows_for(&data, 75, &mut rng);
                    let a = run(&kernel, &src, &s, &x, true);
                    let b = run(&kernel, &src, &s, &x, false);
                    let kept = kept_rows(&kernel, &src, &s, &x);
                    for r in 0..s.len() {
                        let e = mean_error(&s, &x, &a.f, &b.f, r, ymax);
                        worst.0 = worst.0.max(e);
                        worst.1 = worst.1.max((a.lp[r] - b.lp[r]).abs());
                        let on_point = (r / 5) % 3 == 2 && s[r] < 1e-2;
                        if on_point {
                            // the product form cannot resolve this row's nearest point:
                            // its distance is taken exactly, the row stays in the path
                            assert!(kept[r], "d {d} row {r}: routed, not taken exactly");
                            worst_on = worst_on.max(e);
                            exact += 1;
                        }
                    }
                }
            }
        }
        eprintln!(
            "worst mean error {:e} (on a data point {worst_on:e}), ln p error {:e}, \
             exact rows {exact}",
            worst.0, worst.1
        );
        assert!(exact > 0);
        assert!(worst_on < 1e-12, "mean error on a data point {worst_on:e}");
        assert!(worst.0 < 2.0 * WEIGHT_RTOL, "mean error {:e}", worst.0);
        assert!(worst.1 < WEIGHT_RTOL, "ln p error {:e}", worst.1);
    }

    /// Pruning in the power-law product path (`prune` submodule): PFGM and PFGM++
    /// (`D = 128`), `d = 16, 64, 784`, uniform and random weights, `M = 600` points of
    /// rank 6 plus noise (most of the spread in a few directions, like images), rows
    /// on and near data points at `s = 1e-3, 1e-2, 0.05` and anywhere at `s = 1, 10`.
    /// Rows settled on their surviving points agree with the coordinate-wise kernel to
    /// `1e-12` (posterior mean, of the coordinate scale; `ln p` relative), every row
    /// with the unpruned product path bit for bit; at least half of the rows at
    /// `s <= 1e-2` are settled on survivors, and some rows are not (for PFGM++ with
    /// `d + D = 912` even rows at `s = 10` may be: `e = 456`).
    #[test]
    fn pruned_rows_match_the_exact_kernel() {
        let mut rng = crate::rng::seeded(59);
        let (mut worst, mut sparse_small, mut small, mut dense_rows) = (0.0f64, 0, 0, 0);
        for d in [16usize, 64, 784] {
            let m = 600;
            let basis = Array2::from_shape_fn((6, d), |_| rng.sample::<f64, _>(StandardNormal));
            let data =
                Array2::from_shape_fn((m, d), |_| 0.3 * rng.sample::<f64, _>(StandardNormal))
                    + Array2::from_shape_fn((m, 6), |_| rng.sample::<f64, _>(StandardNormal))
                        .dot(&basis);
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
            for weights in [None, Some(&wts[..])] {
                let src = Source::points(data.view(), weights).unwrap();
                let proj = src.projection().expect("an index for 600 points");
                for aug in [1.0, 128.0] {
                    let kernel = Noise::pfgmpp(d, aug).unwrap();
                    let (s, x) = rows_at(&data, 75, &[1e-3, 1e-2, 0.05, 1.0, 10.0], &mut rng);
                    let pruned = run(&kernel, &src, &s, &x, true);
                    let dense = run_with(&kernel, &src, &s, &x, true, None);
                    let exact = run(&kernel, &src, &s, &x, false);
                    let p = half_pow(&kernel);
                    let law = super::PowerLaw::<true, false>(p);
                    let mut sc = super::prune::Scratch::default();
                    for r in 0..s.len() {
                        let xr = &x[r * d..(r + 1) * d];
                        let row = super::Law::row(&law, s[r]);
                        let ys = src.means();
                        let pi = &src.soa().pi;
                        let sparse =
                            super::prune::try_sparse(&law, &row, proj, ys, pi, xr, &mut sc, |_| {});
                        if sparse {
                            worst = worst.max(mean_error(&s, &x, &pruned.f, &exact.f, r, ymax));
                        } else {
                            let (u, v) =
                                (&pruned.f[r * d..(r + 1) * d], &dense.f[r * d..(r + 1) * d]);
                            for (p, q) in u.iter().zip(v) {
                                assert_eq!(p.to_bits(), q.to_bits(), "d {d} row {r}");
                            }
                        }
                        if sparse {
                            let rel =
                                (pruned.lp[r] - exact.lp[r]).abs() / exact.lp[r].abs().max(1.0);
                            worst = worst.max(rel);
                        }
                        if s[r] <= 1e-2 {
                            small += 1;
                            sparse_small += usize::from(sparse);
                        }
                        dense_rows += usize::from(!sparse);
                    }
                }
            }
        }
        eprintln!("pruned rows: worst error {worst:e}, {sparse_small} of {small} rows at s <= 1e-2 settled");
        assert!(worst < 1e-12, "{worst:e}");
        assert!(2 * sparse_small >= small, "{sparse_small} of {small}");
        assert!(dense_rows > 0);
    }

    /// A row's bits do not depend on the other rows of its block (the sampler drops
    /// finished particles from a block, and the thread count changes nothing).
    /// The AVX-512 key and weight passes of the power law give the bits of the
    /// lane-by-lane ones: keys, lane minima and the near flag (with NaN, negative and
    /// -0 distances, a partial last chunk, keys on both sides of the cut), then the
    /// weighted kernel values and their sum for odd, even and PFGM-at-d = 64
    /// exponents, with and without points taken exactly.
    #[test]
    fn avx512_keys_and_weights_equal_the_lane_code() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            #[target_feature(enable = "avx512f")]
            unsafe fn fast(
                s2: f64,
                g: &mut [f64],
                y2: &[f64],
                x2: f64,
                cut: f64,
                tl: usize,
                km: &mut V,
            ) -> bool {
                super::keys_avx512(s2, g, y2, x2, cut, tl, km)
            }
            #[target_feature(enable = "avx512f")]
            unsafe fn fast_w(
                p: HalfPow,
                g: &mut [f64],
                c: f64,
                pi: &[f64],
                tl: usize,
                ex: bool,
            ) -> f64 {
                super::weights_avx512::<true>(p, g, c, pi, tl, ex)
            }
            /// The lane code with the same reciprocal square root (R = true).
            #[target_feature(enable = "avx512f")]
            unsafe fn lanes_w(
                p: HalfPow,
                g: &mut [f64],
                c: f64,
                pi: &[f64],
                tl: usize,
                ex: bool,
            ) -> f64 {
                super::weights_lanes(&PowerLaw::<true, true>(p), &0.0, g, c, pi, tl, ex)
            }
            use super::super::lanes::V;
            use super::{keys_lanes, PowerLaw};
            let mut rng = crate::rng::stream(3, 0);
            for tl in [1usize, 7, 8, 13, 64] {
                let tp = tl.div_ceil(LANES) * LANES;
                let y2: Vec<f64> = (0..tp).map(|_| rng.random::<f64>() * 4.0).collect();
                let mut g: Vec<f64> = (0..tp).map(|_| rng.random::<f64>() * 3.0 - 0.5).collect();
                g[0] = f64::NAN;
                if tp > 2 {
                    // |x|^2 + |y|^2 - 2 x.y exactly 0 and below 0
                    g[1] = 0.5 * (1.5 + y2[1]);
                    g[2] = 4.0 + y2[2];
                }
                for &(s2, cut) in &[(0.01, 0.5), (1.0, 0.0), (0.0, 2.0)] {
                    let (mut a, mut b) = (g.clone(), g.clone());
                    let (mut ka, mut kb) = ([f64::INFINITY; LANES], [f64::INFINITY; LANES]);
                    let na = keys_lanes::<PowerLaw<false, false>>(
                        &s2, &mut a, &y2, 1.5, cut, tl, &mut ka,
                    );
                    // SAFETY: the CPU has AVX-512F (checked above)
                    let nb = unsafe { fast(s2, &mut b, &y2, 1.5, cut, tl, &mut kb) };
                    assert_eq!(na, nb, "tl {tl}, s2 {s2}");
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "tl {tl}, s2 {s2}");
                    assert_eq!(bits(&ka), bits(&kb), "tl {tl}, s2 {s2}");
                    // and the weights of those keys, some of them taken exactly (+inf)
                    let c = ka.iter().fold(f64::INFINITY, |m, &v| m.min(v)).max(1e-3);
                    let pi: Vec<f64> = (0..tp).map(|i| 0.25 + (i % 5) as f64 * 0.1).collect();
                    let mut keys = a.clone();
                    for n2 in [3u32, 4, 65] {
                        let p = HalfPow {
                            half: n2 / 2,
                            odd: n2 % 2 == 1,
                        };
                        for has_exact in [false, true] {
                            if has_exact {
                                keys[tl / 2] = f64::INFINITY;
                            }
                            let (mut wa, mut wb) = (keys.clone(), keys.clone());
                            // SAFETY: the CPU has AVX-512F (checked above)
                            let sa = unsafe { lanes_w(p, &mut wa, c, &pi, tl, has_exact) };
                            // SAFETY: as above
                            let sb = unsafe { fast_w(p, &mut wb, c, &pi, tl, has_exact) };
                            assert_eq!(sa.to_bits(), sb.to_bits(), "tl {tl}, n2 {n2}");
                            assert_eq!(bits(&wa), bits(&wb), "tl {tl}, n2 {n2}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn product_path_rows_are_independent_of_the_block() {
        let mut rng = crate::rng::seeded(43);
        // 300 points: a last tile of 44 (products of the live rows' height); 270: of 14
        // (full height); rows settled on survivors in between
        for m in [300, 270] {
            let d = 64;
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let src = Source::points(data.view(), None).unwrap();
            let kernel = Noise::pfgmpp(d, 1.0).unwrap();
            let (s, x) = rows_for(&data, 70, &mut rng);
            for proj in [None, src.projection()] {
                let all = run_with(&kernel, &src, &s, &x, true, proj);
                for (r0, r1) in [(0, 1), (3, 4), (5, 37), (64, 70), (1, 66), (2, 11)] {
                    let (sp, xp) = (&s[r0..r1], &x[r0 * d..r1 * d]);
                    let part = run_with(&kernel, &src, sp, xp, true, proj);
                    for r in r0..r1 {
                        for j in 0..d {
                            let (u, v) = (all.f[r * d + j], part.f[(r - r0) * d + j]);
                            assert_eq!(u.to_bits(), v.to_bits(), "row {r} in {r0}..{r1}");
                        }
                        assert_eq!(all.lp[r].to_bits(), part.lp[r - r0].to_bits());
                    }
                }
            }
        }
        let _ = LANES;
    }

    /// `gemm`: the Gaussian product path, else the coordinate-wise Gaussian kernel
    /// (vectorised up to `d = 256`, scalar above), both as dispatched on this CPU.
    fn run_gauss(sch: Schedule, src: &Source, s: &[f64], x: &[f64], gemm: bool) -> Eval {
        run_gauss_with(sch, src, s, x, gemm, src.projection())
    }

    /// [`run_gauss`] with the given pruning index (`None`: every row through the
    /// products).
    fn run_gauss_with(
        sch: Schedule,
        src: &Source,
        s: &[f64],
        x: &[f64],
        gemm: bool,
        proj: Option<&Projection>,
    ) -> Eval {
        let (n, d) = (s.len(), src.dim());
        let kernel = Noise::gaussian(d).unwrap();
        let mut e = Eval {
            f: vec![0.0; n * d],
            lp: vec![0.0; n],
        };
        let out = Out {
            f: &mut e.f,
            log_p: Some(&mut e.lp),
            div: None,
        };
        if gemm {
            gauss_gemm(&kernel, sch, src, s, x, out, gauss_coordinatewise, proj);
        } else {
            gauss_coordinatewise(&kernel, sch, src, s, x, out);
        }
        e
    }

    /// The Gaussian product path against the coordinate-wise Gaussian kernel, for
    /// `d = 16, 64, 784`, the ray (EDM / VE) and linear schedules, uniform and random
    /// weights, `M = 600` (three tiles, the last partial: the nearest point of a row is
    /// often in a later tile, so the rescaling is exercised), 75 rows (a full and a
    /// partial block) far from the data, near a data point and on one, at levels
    /// 1e-3 .. 10 (ray) and 1e-3 .. 0.9 (linear, `s <= 1`). Stated tolerance: every
    /// accepted weight is within [`WEIGHT_RTOL`] relative, so the posterior mean
    /// `m = x - s f` (both schedules) agrees to `2 WEIGHT_RTOL` of the row's coordinate
    /// scale, and `ln p = ln W - d2_ref / (2 s^2) + const` to `1.5 WEIGHT_RTOL` (the
    /// reference's own error is at most half the weight bound). Rows on a data point
    /// at `s = 1e-3` for `d >= 64` (bound above the tolerance): without the pruning
    /// index they must give the coordinate-wise kernel's bits; with it (as dispatched)
    /// they are summed exactly on their surviving points and agree with that kernel to
    /// `1e-12` (posterior mean, of the coordinate scale; `ln p`, relative).
    #[test]
    fn gaussian_product_path_matches_the_coordinatewise_kernel() {
        let mut rng = crate::rng::seeded(47);
        let mut worst = (0.0f64, 0.0f64);
        let mut worst_pruned = (0.0f64, 0.0f64);
        let mut routed = 0;
        for d in [16usize, 64, 784] {
            let m = 600;
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for weights in [None, Some(&wts[..])] {
                let src = Source::points(data.view(), weights).unwrap();
                for sch in [Schedule::Ray, Schedule::Linear] {
                    let levels = match sch {
                        Schedule::Ray => [1e-3, 3e-2, 0.3, 1.0, 10.0],
                        Schedule::Linear => [1e-3, 3e-2, 0.3, 0.6, 0.9],
                    };
                    let (s, x) = rows_at(&data, 75, &levels, &mut rng);
                    let a = run_gauss(sch, &src, &s, &x, true);
                    let b = run_gauss(sch, &src, &s, &x, false);
                    for r in 0..s.len() {
                        let e = mean_error(&s, &x, &a.f, &b.f, r, ymax);
                        worst.0 = worst.0.max(e);
                        worst.1 = worst.1.max((a.lp[r] - b.lp[r]).abs());
                        let on_point = (r / 5) % 3 == 2 && s[r] < 1e-2;
                        if on_point && d >= 64 {
                            // without the pruning index the product form cannot
                            // resolve these rows: they go to the coordinate-wise
                            // kernel; with it they are summed exactly on their
                            // survivors
                            let (sr, xr) = (&s[r..r + 1], &x[r * d..(r + 1) * d]);
                            let c = run_gauss_with(sch, &src, sr, xr, true, None);
                            let same = c.f == b.f[r * d..(r + 1) * d]
                                && c.lp[0].to_bits() == b.lp[r].to_bits();
                            assert!(same, "d {d} row {r}: not routed to the exact kernel");
                            routed += 1;
                            worst_pruned.0 = worst_pruned.0.max(e);
                            // ln p relative to its size (|ln p| ~ 5e3 at d = 784, s = 1e-3)
                            let rel = (a.lp[r] - b.lp[r]).abs() / b.lp[r].abs().max(1.0);
                            worst_pruned.1 = worst_pruned.1.max(rel);
                        }
                    }
                }
            }
        }
        eprintln!(
            "gaussian: worst mean error {:e}, ln p error {:e}, routed {routed} (pruned: {:e}, {:e})",
            worst.0, worst.1, worst_pruned.0, worst_pruned.1
        );
        assert!(routed > 0);
        assert!(
            worst_pruned.0 < 1e-12 && worst_pruned.1 < 1e-12,
            "{worst_pruned:?}"
        );
        assert!(worst.0 < 2.0 * WEIGHT_RTOL, "mean error {:e}", worst.0);
        assert!(worst.1 < 1.5 * WEIGHT_RTOL, "ln p error {:e}", worst.1);
    }

    /// The Gaussian product path: a row's bits do not depend on the other rows of its
    /// block (linear schedule, random weights).
    #[test]
    fn gaussian_product_path_rows_are_independent_of_the_block() {
        let mut rng = crate::rng::seeded(53);
        let (m, d) = (300, 64);
        let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
        let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
        let src = Source::points(data.view(), Some(&wts)).unwrap();
        let levels = [1e-3, 3e-2, 0.3, 0.6, 0.9];
        let (s, x) = rows_at(&data, 70, &levels, &mut rng);
        let all = run_gauss(Schedule::Linear, &src, &s, &x, true);
        for (r0, r1) in [(0, 1), (3, 4), (5, 37), (64, 70), (1, 66)] {
            let part = run_gauss(Schedule::Linear, &src, &s[r0..r1], &x[r0 * d..r1 * d], true);
            for r in r0..r1 {
                for j in 0..d {
                    let (u, v) = (all.f[r * d + j], part.f[(r - r0) * d + j]);
                    assert_eq!(u.to_bits(), v.to_bits(), "row {r} in {r0}..{r1}");
                }
                assert_eq!(all.lp[r].to_bits(), part.lp[r - r0].to_bits());
            }
        }
    }

    /// A row with a NaN coordinate fails the cancellation test (its bound is NaN) and
    /// gets the coordinate-wise kernel's bits; the other rows of its block stay finite.
    #[test]
    fn gaussian_product_path_routes_nan_rows() {
        let mut rng = crate::rng::seeded(59);
        let (m, d) = (300, 64);
        let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
        let src = Source::points(data.view(), None).unwrap();
        let (s, mut x) = rows_at(&data, 10, &[0.1, 0.3, 1.0, 3.0, 10.0], &mut rng);
        x[3 * d + 5] = f64::NAN;
        let a = run_gauss(Schedule::Ray, &src, &s, &x, true);
        let b = run_gauss(Schedule::Ray, &src, &s, &x, false);
        let row = |e: &Eval, r: usize| -> Vec<u64> {
            e.f[r * d..(r + 1) * d]
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(row(&a, 3), row(&b, 3));
        assert_eq!(a.lp[3].to_bits(), b.lp[3].to_bits());
        for r in (0..10).filter(|&r| r != 3) {
            assert!(
                a.f[r * d..(r + 1) * d].iter().all(|v| v.is_finite()),
                "row {r}"
            );
            assert!(a.lp[r].is_finite(), "row {r}");
        }
    }
}
