//! The vectorised Gaussian kernel: EDM / VE diffusion (ray schedule) and the linear
//! path with Gaussian noise (`alpha = 1 - s`), for an empirical source.
//!
//! The weight of data point `i` for a row at level `s` is
//! `(pi_i / pi_ref) exp(-(d2_i - d2_ref) / (2 sigma^2))` with
//! `d2_i = |x - alpha y_i|^2`: a ratio to a reference term, so that every kernel
//! ratio is at most one. As in the power-law kernel the data are visited coordinate
//! by coordinate ([`Soa`]) in chunks of [`LANES`] points, and a first pass finds the
//! nearest data point, whose term is then exactly one. (The power-law kernel's
//! one-pass shortcut, reference `d2_ref = 0` when the first point's kernel value is
//! above `e^{-600}`, was tried and dropped: when one point dominates, its weight is
//! then not exactly one, `m = (w y)/w` is off by an ulp of `y`, and the velocity and
//! the divergence `d/sigma` of a particle near a lone point lose that ulp relative to
//! `x - y`, 4.4e-10 absolute on a divergence of 2e3 at `s = 1e-3`; the extra distance
//! pass costs about 8 operations per pair against some 45 of the weights.)
//! The exponential is the lane-wise one of the `vexp` module (no `exp` call per pair).
//! `d <= 4` keeps every sum of a row in registers; any other `d` writes a tile's
//! weights to a buffer and forms the weighted sums coordinate by coordinate.
//!
//! The divergence needs only three more sums per row: with `W = sum w_i`,
//! `m = sum w_i y_i / W`, `Q = sum w_i d2_i` and `S = sum w_i |y_i|^2`, the Gaussian
//! score gives `div f = d sigma'/sigma + (alpha' - alpha sigma'/sigma)(alpha/sigma^2)
//! tr Cov_w(y)` (the gradient of the posterior mean is `(alpha/sigma^2) Cov_w(y)`),
//! and `tr Cov_w(y)` is formed in whichever of two ways loses fewer digits:
//! `(Q/W - |x - alpha m|^2) / alpha^2` (centred at `x / alpha`, the form of the
//! scalar path, good near the data) when `Q < alpha^2 S`, else `S/W - |m|^2`
//! (centred at the origin, good for far rows and `alpha -> 0`). Either way the terms
//! that cancel are at most `alpha^2 max |y_i|^2` times `W`.
//!
//! The exponential uses fused multiply-adds on CPUs that have them (AVX-512 and
//! AVX2 with FMA give the same bits: a fused multiply-add is correctly rounded);
//! the portable code, for CPUs without FMA, evaluates the same expressions unfused
//! and differs by rounding (bound in the kernel tests). On one machine the results
//! are bit-identical for any thread count and block size: a row's arithmetic never
//! depends on the other rows.

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose.
#![allow(clippy::needless_range_loop)]

use super::lanes::{
    d2a_dyn, d2a_small, dot4, hsum, lane_argmin, lane_min, Soa, LANES, TILE_BYTES, V,
};
use super::vexp::exp_lanes;
use super::{Out, ROWS};
use crate::fields::schedule::Schedule;

/// What the rows of an evaluation need besides the data.
pub(super) struct GaussRows<'a> {
    pub(super) sch: Schedule,
    pub(super) s: &'a [f64],
    pub(super) x: &'a [f64],
    pub(super) out: Out<'a>,
    /// `ln` of the kernel's normalising constant plus `ln` of the largest weight.
    pub(super) log_norm: f64,
}

/// The Gaussian kernel over all rows, dispatched at run time to code compiled for
/// AVX-512 or AVX2 with FMA when the CPU has them (the two give the same bits; the
/// portable code, without fused multiply-adds in the exponential, differs by rounding).
pub(super) fn eval_gauss(soa: &Soa, d: usize, rows: GaussRows) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU has AVX-512F and FMA (checked just above).
            unsafe { gauss_avx512(soa, d, rows) };
            return;
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { gauss_avx2(soa, d, rows) };
            return;
        }
    }
    gauss_rows::<false>(soa, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn gauss_avx512(soa: &Soa, d: usize, rows: GaussRows) {
    gauss_rows::<true>(soa, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gauss_avx2(soa: &Soa, d: usize, rows: GaussRows) {
    gauss_rows::<true>(soa, d, rows);
}

/// The kernel for any CPU (`F`: fused multiply-adds in the exponential; the
/// portable entry is `F = false`, what a CPU without FMA runs).
#[inline(always)]
pub(super) fn gauss_rows<const F: bool>(soa: &Soa, d: usize, rows: GaussRows) {
    let dv = rows.out.div.is_some();
    macro_rules! pick {
        ($f:ident $(, $d:literal)?) => {
            match (soa.uniform, dv) {
                (true, false) => $f::<$($d,)? false, false, F>(soa, d, rows),
                (false, false) => $f::<$($d,)? true, false, F>(soa, d, rows),
                (true, true) => $f::<$($d,)? false, true, F>(soa, d, rows),
                (false, true) => $f::<$($d,)? true, true, F>(soa, d, rows),
            }
        };
    }
    match d {
        1 => pick!(gauss_small, 1),
        2 => pick!(gauss_small, 2),
        3 => pick!(gauss_small, 3),
        4 => pick!(gauss_small, 4),
        _ => pick!(gauss_general),
    }
}

/// Per-row constants of a block.
#[derive(Clone, Copy, Default)]
pub(super) struct RowConst {
    /// `alpha(s)`.
    pub(super) a: f64,
    /// `1 / (2 sigma^2)`.
    pub(super) inv2: f64,
    /// The reference `d2_ref`.
    pub(super) d2r: f64,
    /// `pi_ref` (relative to the largest weight) and its inverse.
    pi_ref: f64,
    inv_pi_ref: f64,
}

impl RowConst {
    pub(super) fn new(sch: Schedule, s: f64, pi0: f64) -> Self {
        let a = sch.alpha(s);
        let inv2 = 0.5 / (s * s);
        Self {
            a,
            inv2,
            d2r: 0.0, // set by pass 1
            pi_ref: pi0,
            inv_pi_ref: 1.0 / pi0,
        }
    }

    /// Sets the reference from the lane minima of pass 1.
    fn set_nearest<const W: bool>(&mut self, best: &V, ib: &[usize; LANES], pi: &[f64]) {
        let (c, i) = lane_argmin(best, ib);
        self.d2r = c;
        self.pi_ref = pi[if W { i } else { 0 }];
        self.inv_pi_ref = 1.0 / self.pi_ref;
    }

    /// The weights of a chunk with squared distances `d2`; lanes at or past `valid`
    /// get weight zero.
    #[inline(always)]
    pub(super) fn weights<const W: bool, const F: bool>(
        &self,
        d2: &V,
        pi: &[f64],
        valid: usize,
    ) -> V {
        let mut arg = [0.0; LANES];
        for l in 0..LANES {
            arg[l] = (self.d2r - d2[l]) * self.inv2;
        }
        let mut w = exp_lanes::<F>(&arg);
        if W {
            for l in 0..LANES {
                w[l] *= pi[l] * self.inv_pi_ref;
            }
        }
        for wl in &mut w[valid.min(LANES)..] {
            *wl = 0.0;
        }
        w
    }
}

/// Lane sums of one row: `W`, `Q = sum w d2`, `S = sum w |y|^2` (the last two with
/// the divergence only).
#[derive(Clone, Copy)]
struct Scalars {
    w: V,
    q: V,
    n2: V,
}

const ZERO3: Scalars = Scalars {
    w: [0.0; LANES],
    q: [0.0; LANES],
    n2: [0.0; LANES],
};

impl Scalars {
    #[inline(always)]
    fn add<const DV: bool>(&mut self, w: &V, d2: &V, n2: &[f64]) {
        for l in 0..LANES {
            self.w[l] += w[l];
        }
        if DV {
            for l in 0..LANES {
                self.q[l] += w[l] * d2[l];
                self.n2[l] += w[l] * n2[l];
            }
        }
    }
}

/// Velocity, `ln p` and divergence of row `r` from its sums (`msum(j)` the lane sum
/// of `w_i y_ij`).
#[inline(always)]
fn finish(
    d: usize,
    r: usize,
    rc: &RowConst,
    sums: &Scalars,
    msum: impl Fn(usize) -> f64,
    rows: &mut GaussRows,
) {
    let sr = rows.s[r];
    let (a, da) = (rc.a, rows.sch.dalpha(sr));
    let (sg, dsg) = (rows.sch.sigma(sr), rows.sch.dsigma(sr));
    let w = hsum(&sums.w);
    let k = dsg / sg;
    let xr = &rows.x[r * d..(r + 1) * d];
    let fr = &mut rows.out.f[r * d..(r + 1) * d];
    let (mut mm, mut res2) = (0.0, 0.0);
    for j in 0..d {
        let mj = msum(j) / w;
        let e = xr[j] - a * mj;
        fr[j] = da * mj + k * e;
        mm += mj * mj;
        res2 += e * e;
    }
    if let Some(lp) = rows.out.log_p.as_deref_mut() {
        lp[r] = rc.pi_ref.ln() + rows.log_norm - rc.d2r * rc.inv2 - d as f64 * sg.ln() + w.ln();
    }
    if let Some(dv) = rows.out.div.as_deref_mut() {
        let (q, n2) = (hsum(&sums.q), hsum(&sums.n2));
        // alpha tr Cov_w(y), centred where it cancels least (module docs)
        let a_trc = if q < a * a * n2 {
            (q / w - res2) / a
        } else {
            a * (n2 / w - mm)
        };
        dv[r] = d as f64 * k + (da - a * k) * (a_trc / (sg * sg));
    }
}

/// Velocity and `ln p` of row `r` from sums formed elsewhere (the product path of the
/// `gemm` module): reference `d2_ref`, weights relative to the largest `pi_i`,
/// `w = sum_i w_i` and `m[j] = sum_i w_i y_ij`.
pub(super) fn finish_sums(d: usize, r: usize, d2r: f64, w: f64, m: &[f64], rows: &mut GaussRows) {
    let mut rc = RowConst::new(rows.sch, rows.s[r], 1.0);
    rc.d2r = d2r;
    let mut sums = ZERO3;
    sums.w[0] = w;
    finish(d, r, &rc, &sums, |j| m[j], rows);
}

/// The kernel for `d <= 4`: all of a row's sums stay in registers.
#[inline(always)]
fn gauss_small<const D: usize, const W: bool, const DV: bool, const F: bool>(
    soa: &Soa,
    _d: usize,
    mut rows: GaussRows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let ys: [&[f64]; D] = std::array::from_fn(|j| &soa.coords[j * stride..(j + 1) * stride]);
    let m_full = m / LANES * LANES;
    let tile = (TILE_BYTES / (8 * D)) / LANES * LANES;
    let mut xs = [[0.0; D]; ROWS];
    let mut rc = [RowConst::default(); ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut sc = [ZERO3; ROWS];
    let mut ms = [[[0.0; LANES]; D]; ROWS];
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        for b in 0..nb {
            let r = r0 + b;
            xs[b].copy_from_slice(&rows.x[r * D..(r + 1) * D]);
            rc[b] = RowConst::new(rows.sch, rows.s[r], soa.pi[0]);
            best[b] = [f64::INFINITY; LANES];
            ib[b] = [0; LANES];
            sc[b] = ZERO3;
            ms[b] = [[0.0; LANES]; D];
        }
        // pass 1: the nearest data point of every row
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                let (mut bb, mut ii) = (best[b], ib[b]);
                for k in (t0..t1).step_by(LANES) {
                    let t = d2a_small::<D>(&xs[b], rc[b].a, &ys, k);
                    lane_min::<W>(&t, k, LANES, &mut bb, &mut ii);
                }
                best[b] = bb;
                ib[b] = ii;
            }
        }
        for b in 0..nb {
            if m_full < m {
                let t = d2a_small::<D>(&xs[b], rc[b].a, &ys, m_full);
                lane_min::<W>(&t, m_full, m - m_full, &mut best[b], &mut ib[b]);
            }
            rc[b].set_nearest::<W>(&best[b], &ib[b], &soa.pi);
        }
        // pass 2: the weighted sums (a macro, not a closure: closures do not inherit
        // the caller's target features, and this is the hot loop)
        macro_rules! chunk {
            ($b:expr, $k:expr, $valid:expr, $s:expr, $mj:expr) => {{
                let (b, k) = ($b, $k);
                let d2 = d2a_small::<D>(&xs[b], rc[b].a, &ys, k);
                let w = rc[b].weights::<W, F>(&d2, &soa.pi[k..k + LANES], $valid);
                $s.add::<DV>(&w, &d2, &soa.norm2[k..k + LANES]);
                for j in 0..D {
                    let y = &ys[j][k..k + LANES];
                    for l in 0..LANES {
                        $mj[j][l] += w[l] * y[l];
                    }
                }
            }};
        }
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                let (mut s, mut mj) = (sc[b], ms[b]);
                for k in (t0..t1).step_by(LANES) {
                    chunk!(b, k, LANES, s, mj);
                }
                (sc[b], ms[b]) = (s, mj);
            }
        }
        if m_full < m {
            for b in 0..nb {
                chunk!(b, m_full, m - m_full, sc[b], ms[b]);
            }
        }
        for b in 0..nb {
            let mj = &ms[b];
            finish(D, r0 + b, &rc[b], &sc[b], |j| hsum(&mj[j]), &mut rows);
        }
    }
}

/// The kernel for any `d`: the weights of a tile go to a buffer, then each
/// coordinate's weighted sum runs over it.
#[inline(always)]
fn gauss_general<const W: bool, const DV: bool, const F: bool>(
    soa: &Soa,
    d: usize,
    mut rows: GaussRows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let coords = &soa.coords[..];
    let m_full = m / LANES * LANES;
    let tile = ((4 * TILE_BYTES / (8 * d)) / LANES * LANES).max(LANES);
    let mut rc = [RowConst::default(); ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut sc = [ZERO3; ROWS];
    let mut ms = vec![[0.0; LANES]; ROWS * d];
    // the last tile takes the partial chunk too
    let mut wbuf = vec![0.0; tile + LANES];
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        let xb = &rows.x[r0 * d..(r0 + nb) * d];
        for b in 0..nb {
            rc[b] = RowConst::new(rows.sch, rows.s[r0 + b], soa.pi[0]);
            best[b] = [f64::INFINITY; LANES];
            ib[b] = [0; LANES];
            sc[b] = ZERO3;
        }
        ms.fill([0.0; LANES]);
        // pass 1
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                let xr = &xb[b * d..(b + 1) * d];
                let (mut bb, mut ii) = (best[b], ib[b]);
                for k in (t0..t1).step_by(LANES) {
                    let t = d2a_dyn(xr, rc[b].a, coords, stride, k);
                    lane_min::<W>(&t, k, LANES, &mut bb, &mut ii);
                }
                best[b] = bb;
                ib[b] = ii;
            }
        }
        for b in 0..nb {
            if m_full < m {
                let xr = &xb[b * d..(b + 1) * d];
                let t = d2a_dyn(xr, rc[b].a, coords, stride, m_full);
                lane_min::<W>(&t, m_full, m - m_full, &mut best[b], &mut ib[b]);
            }
            rc[b].set_nearest::<W>(&best[b], &ib[b], &soa.pi);
        }
        // pass 2, tile by tile (the last tile ends with the partial chunk)
        let mut t0 = 0;
        while t0 < m {
            let t1 = if t0 + tile < m_full {
                t0 + tile
            } else {
                m.div_ceil(LANES) * LANES
            };
            for b in 0..nb {
                let xr = &xb[b * d..(b + 1) * d];
                let s = &mut sc[b];
                for k in (t0..t1).step_by(LANES) {
                    let d2 = d2a_dyn(xr, rc[b].a, coords, stride, k);
                    let w = rc[b].weights::<W, F>(&d2, &soa.pi[k..k + LANES], m - k);
                    s.add::<DV>(&w, &d2, &soa.norm2[k..k + LANES]);
                    wbuf[k - t0..k - t0 + LANES].copy_from_slice(&w);
                }
                let len = t1 - t0;
                for j in 0..d {
                    let yj = &coords[j * stride + t0..j * stride + t1];
                    let v = dot4(&wbuf[..len], yj, |y| y);
                    let acc = &mut ms[b * d + j];
                    for l in 0..LANES {
                        acc[l] += v[l];
                    }
                }
            }
            t0 = t1;
        }
        for b in 0..nb {
            let mj = &ms[b * d..(b + 1) * d];
            finish(d, r0 + b, &rc[b], &sc[b], |j| hsum(&mj[j]), &mut rows);
        }
    }
}
