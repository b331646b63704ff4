//! The data layout and lane helpers of the vectorised kernels.
//!
//! The vectorised kernels visit the data points [`LANES`] at a time, so that every
//! operation of a pair loop is one SIMD instruction on a chunk of points. For that the
//! points are stored coordinate by coordinate ([`Soa`], built once with the source):
//! coordinate `j` of the points `k..k + LANES` is one contiguous load. This module
//! holds that layout and the helpers every vectorised kernel shares: squared distances
//! of a chunk, running lane minima (the nearest data point of a row), lane sums in a
//! fixed order (so that a row's bits never depend on anything but its own data) and
//! weighted sums over a tile.

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose:
// that is the form the vectoriser turns into SIMD instructions.
#![allow(clippy::needless_range_loop)]

/// Lanes of the vectorised pair loops (one AVX-512 register of `f64`).
pub const LANES: usize = 8;

/// Bytes of data points per tile of the vectorised path (one L1 data cache).
pub(super) const TILE_BYTES: usize = 32 * 1024;

pub(super) type V = [f64; LANES];

/// The data points coordinate by coordinate (structure of arrays), for the vectorised
/// kernel: coordinate `j` of point `i` is `coords[j * stride + i]`; `stride` is `M`
/// rounded up to a multiple of [`LANES`] (the padding is zero and always masked out).
#[derive(Debug, Clone, PartialEq)]
pub struct Soa {
    pub(super) m: usize,
    pub(super) stride: usize,
    pub(super) coords: Vec<f64>,
    /// The weights divided by the largest (in `[1e-300, 1]`: no subnormal ratios).
    pub(super) pi: Vec<f64>,
    /// `ln` of the largest weight.
    pub(super) ln_pi_max: f64,
    pub(super) uniform: bool,
    /// `|y_i|^2` per point (zero in the padding).
    pub(super) norm2: Vec<f64>,
    /// The largest `|y_i|^2`.
    pub(super) norm2_max: f64,
}

impl Soa {
    /// Transposes `M x d` row-major means with their weights.
    #[allow(clippy::float_cmp)] // exactly equal weights select the unweighted loop
    pub(crate) fn new(means: &[f64], d: usize, weights: &[f64]) -> Self {
        let m = weights.len();
        let stride = m.div_ceil(LANES) * LANES;
        let mut coords = vec![0.0; d * stride];
        for (i, row) in means.chunks_exact(d).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                coords[j * stride + i] = v;
            }
        }
        let pi_max = weights.iter().fold(0.0f64, |a, &w| a.max(w));
        let mut pi = vec![0.0; stride];
        for (p, &w) in pi.iter_mut().zip(weights) {
            *p = w / pi_max;
        }
        let uniform = weights.iter().all(|&w| w == weights[0]);
        let mut norm2 = vec![0.0; stride];
        for (n2, row) in norm2.iter_mut().zip(means.chunks_exact(d.max(1))) {
            *n2 = row.iter().map(|v| v * v).sum();
        }
        let norm2_max = norm2.iter().fold(0.0f64, |a, &v| a.max(v));
        Self {
            m,
            stride,
            coords,
            pi,
            ln_pi_max: pi_max.ln(),
            uniform,
            norm2,
            norm2_max,
        }
    }
}

/// `a b + c`, fused (one rounding) when `F` (for CPUs that have fused multiply-adds;
/// slow in software elsewhere).
#[inline(always)]
pub(super) fn madd<const F: bool>(a: f64, b: f64, c: f64) -> f64 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Sum of the lanes in a fixed order.
#[inline(always)]
pub(super) fn hsum(v: &V) -> f64 {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
}

/// `|x - y_i|^2` for the `LANES` points starting at `k` (`ys[j]` is coordinate `j`
/// of the data).
#[inline(always)]
pub(super) fn d2_small<const D: usize>(xr: &[f64; D], ys: &[&[f64]; D], k: usize) -> V {
    let mut t = [0.0; LANES];
    for j in 0..D {
        let y = &ys[j][k..k + LANES];
        for l in 0..LANES {
            let e = xr[j] - y[l];
            t[l] += e * e;
        }
    }
    t
}

/// The same for any `d`, with two partial sums over the coordinates.
#[inline(always)]
pub(super) fn d2_dyn(xr: &[f64], coords: &[f64], stride: usize, k: usize) -> V {
    let mut ta = [0.0; LANES];
    let mut tb = [0.0; LANES];
    let pairs = xr.len() / 2;
    for jj in 0..pairs {
        let (j0, j1) = (2 * jj, 2 * jj + 1);
        let y0 = &coords[j0 * stride + k..j0 * stride + k + LANES];
        let y1 = &coords[j1 * stride + k..j1 * stride + k + LANES];
        let (x0, x1) = (xr[j0], xr[j1]);
        for l in 0..LANES {
            let e0 = x0 - y0[l];
            let e1 = x1 - y1[l];
            ta[l] += e0 * e0;
            tb[l] += e1 * e1;
        }
    }
    if xr.len() % 2 == 1 {
        let j = xr.len() - 1;
        let y = &coords[j * stride + k..j * stride + k + LANES];
        for l in 0..LANES {
            let e = xr[j] - y[l];
            ta[l] += e * e;
        }
    }
    for l in 0..LANES {
        ta[l] += tb[l];
    }
    ta
}

/// `s^2 + d2` lane by lane.
#[inline(always)]
pub(super) fn plus(s2: f64, d2: &V) -> V {
    let mut t = [0.0; LANES];
    for l in 0..LANES {
        t[l] = s2 + d2[l];
    }
    t
}

/// Running lane-wise minimum of `t` (and its index for weighted sources); lanes at or
/// past `valid` are padding.
#[inline(always)]
pub(super) fn lane_min<const W: bool>(
    t: &V,
    k: usize,
    valid: usize,
    best: &mut V,
    ib: &mut [usize; LANES],
) {
    for l in 0..LANES {
        let tl = if l < valid { t[l] } else { f64::INFINITY };
        if tl < best[l] {
            best[l] = tl;
            if W {
                ib[l] = k + l;
            }
        }
    }
}

/// The row's reference: the smallest `t` over the lanes (ties: smallest index).
#[inline(always)]
#[allow(clippy::float_cmp)] // exact ties
pub(super) fn lane_argmin(best: &V, ib: &[usize; LANES]) -> (f64, usize) {
    let (mut c, mut i) = (best[0], ib[0]);
    for l in 1..LANES {
        if best[l] < c || (best[l] == c && ib[l] < i) {
            c = best[l];
            i = ib[l];
        }
    }
    (c, i)
}

/// Lane sums `sum_i w_i map(y_i)` over a tile (length a multiple of [`LANES`]) with
/// four independent accumulators (they break the chain of dependent additions),
/// combined in a fixed order.
#[inline(always)]
pub(super) fn dot4(w: &[f64], y: &[f64], map: impl Fn(f64) -> f64) -> V {
    let mut a = [[0.0; LANES]; 4];
    let wq = w.chunks_exact(4 * LANES);
    let yq = y.chunks_exact(4 * LANES);
    let (wr, yr) = (wq.remainder(), yq.remainder());
    for (wc, yc) in wq.zip(yq) {
        for u in 0..4 {
            for l in 0..LANES {
                a[u][l] += wc[u * LANES + l] * map(yc[u * LANES + l]);
            }
        }
    }
    for (u, (wc, yc)) in wr
        .chunks_exact(LANES)
        .zip(yr.chunks_exact(LANES))
        .enumerate()
    {
        for l in 0..LANES {
            a[u][l] += wc[l] * map(yc[l]);
        }
    }
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        out[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
    }
    out
}

/// `|x - a y_i|^2` for the `LANES` points starting at `k` (`ys[j]` is coordinate `j`
/// of the data; `a` the schedule's `alpha`, for which `a = 1` gives the bits of
/// `x - y`).
#[inline(always)]
pub(super) fn d2a_small<const D: usize>(xr: &[f64; D], a: f64, ys: &[&[f64]; D], k: usize) -> V {
    let mut t = [0.0; LANES];
    for j in 0..D {
        let y = &ys[j][k..k + LANES];
        for l in 0..LANES {
            let e = xr[j] - a * y[l];
            t[l] += e * e;
        }
    }
    t
}

/// The same for any `d`, with two partial sums over the coordinates.
#[inline(always)]
pub(super) fn d2a_dyn(xr: &[f64], a: f64, coords: &[f64], stride: usize, k: usize) -> V {
    let mut ta = [0.0; LANES];
    let mut tb = [0.0; LANES];
    let pairs = xr.len() / 2;
    for jj in 0..pairs {
        let (j0, j1) = (2 * jj, 2 * jj + 1);
        let y0 = &coords[j0 * stride + k..j0 * stride + k + LANES];
        let y1 = &coords[j1 * stride + k..j1 * stride + k + LANES];
        let (x0, x1) = (xr[j0], xr[j1]);
        for l in 0..LANES {
            let e0 = x0 - a * y0[l];
            let e1 = x1 - a * y1[l];
            ta[l] += e0 * e0;
            tb[l] += e1 * e1;
        }
    }
    if xr.len() % 2 == 1 {
        let j = xr.len() - 1;
        let y = &coords[j * stride + k..j * stride + k + LANES];
        for l in 0..LANES {
            let e = xr[j] - a * y[l];
            ta[l] += e * e;
        }
    }
    for l in 0..LANES {
        ta[l] += tb[l];
    }
    ta
}
