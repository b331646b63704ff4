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
//!
//! This module holds the law-independent path (the [`Law`] trait, the key and weight
//! passes, the blocked products); `power_law` and `gauss_law` hold the two laws.

// Lane loops index several fixed-size arrays at once on purpose (see `lanes`).
#![allow(clippy::needless_range_loop)]

use super::lanes::{hsum, Soa, LANES, V};
use super::prune::{self, Projection};

/// Bound on the relative error of any weight that the product form accepts; rows
/// above it are recomputed coordinate by coordinate.
pub const WEIGHT_RTOL: f64 = 1e-6;

/// Particles per block of the product path (at most; see [`block_rows`]).
pub const PRODUCT_ROWS: usize = 64;

/// Bytes of data (`M d` coordinates) up to which the product path treats the data as
/// cache-resident ([`block_rows`]).
pub const RESIDENT_BYTES: usize = 2 << 20;

/// Whether `m` points in `d` dimensions fit in [`RESIDENT_BYTES`].
pub const fn resident(m: usize, d: usize) -> bool {
    m.saturating_mul(d).saturating_mul(8) <= RESIDENT_BYTES
}

/// Particles per block of the product path for `m` points in `d` dimensions. The
/// `gemm` crate copies a factor into a packed buffer unless it is already laid out
/// as its kernels read it and the product is at most 48 columns wide (8 times its
/// 6-column kernel). For data that stay in cache (the 1,797 digits at `d = 64` take
/// 0.9 MiB) blocks of 48 rows and the first product from the coordinate-major copy
/// of the data ([`cross_products_cols`]) avoid every copy: the digits run took 7%
/// less time. Larger data are read from memory once per block, and there the copies
/// pay for themselves: 64 rows, both products as before (48-row blocks were 3 to 5%
/// slower at `d = 784` and at `M = 1e5`, `d = 64`). Both give the same bits (tested).
pub const fn block_rows(m: usize, d: usize) -> usize {
    if resident(m, d) {
        48
    } else {
        PRODUCT_ROWS
    }
}

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
    let (rows, cols) = (block_rows(m, d), resident(m, d));
    while next < n {
        // rows that the bound settles on a few points are done here; the others fill a
        // block of at most `rows` rows for the products
        // (with their row constants)
        block.clear();
        rc.clear();
        while next < n && block.len() < rows {
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
            let h = product_height(live, tl, rows);
            if cols {
                cross_products_cols(h, xb, &soa.coords[t0..], soa.stride, g, d, tp);
            } else {
                cross_products(h, xb, &ys[t0 * d..], g, d, tl, tp);
            }
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

/// The first product of the path: `G = X Y^T` for the first `rows` rows of the
/// block `x` (row-major, length `d`) and the tile `Y` of `tl` data points (row-major),
/// into `g` (row stride `tp`).
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

/// [`cross_products`] for a tile of `tp` points given coordinate by coordinate
/// (`y[j * stride + i]`, as in [`Soa`], zero past the data): the layout the `gemm`
/// crate's kernels read (it forms `G^T = Y X^T`), so the tile is not copied into a
/// packed buffer first. The same bits as [`cross_products`] in the first `tl` columns
/// (tested).
pub fn cross_products_cols(
    rows: usize,
    x: &[f64],
    y: &[f64],
    stride: usize,
    g: &mut [f64],
    d: usize,
    tp: usize,
) {
    gemm_into((rows, tp, d), x, (d, 1), y, (stride, 1), g, tp, false);
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

/// The height of both products over a tile of `tl` points for a block of at most
/// `rows` rows whose live rows round up to `live` (a multiple of [`PRODUCT_ALIGN`]).
/// A row's bits must not depend on how many rows share its block. The `gemm` crate
/// sums every element of a product over the inner dimension in the same order
/// whatever the height, except that it takes other kernels (with another order) for a
/// single row and for products of at most 256 elements; so a tile of more than
/// `256 / PRODUCT_ALIGN` points is multiplied with the live rows only, a smaller one
/// (the last tile of some data sets) always with the full `rows`. Tested by the
/// block-independence tests below, with blocks of 1 to 70 rows.
pub const fn product_height(live: usize, tl: usize, rows: usize) -> usize {
    if tl * PRODUCT_ALIGN > 256 {
        live
    } else {
        rows
    }
}

mod gauss_law;
mod power_law;
#[cfg(test)]
mod tests;

pub(super) use gauss_law::gauss_gemm;
pub(super) use power_law::power_gemm;
