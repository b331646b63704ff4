//! The vectorised radial kernel: the Gaussian law (EDM / VE diffusion under the ray
//! schedule, the linear path with Gaussian noise, `alpha = 1 - s`) and, through the
//! same code monomorphised for each lane-wise law of the `laws` module, power laws
//! with any real exponent under either schedule and Su's radial profiles, for an
//! empirical source.
//!
//! The weight of data point `i` for a row at level `s` is
//! `(pi_i / pi_ref) nu(u_i) / nu(u_ref)` with `d2_i = |x - alpha y_i|^2`
//! (for the Gaussian `exp(-(d2_i - d2_ref) / (2 sigma^2))`): a ratio to a reference
//! term, so that every kernel ratio is at most one. As in the power-law kernel the
//! data are visited coordinate by coordinate ([`Soa`]) in chunks of [`LANES`] points,
//! and a first pass finds the nearest data point, whose term is then exactly one.
//! (The power-law kernel's one-pass shortcut, reference `d2_ref = 0` when the first
//! point's kernel value is above `e^{-600}`, was tried and dropped: when one point
//! dominates, its weight is then not exactly one, `m = (w y)/w` is off by an ulp of
//! `y`, and the velocity and the divergence `d/sigma` of a particle near a lone point
//! lose that ulp relative to `x - y`, 4.4e-10 absolute on a divergence of 2e3 at
//! `s = 1e-3`. A one-pass form that keeps every lane's running nearest point as its
//! reference and rescales the lane's sums when a nearer one arrives, as in a streaming
//! log-sum-exp, keeps that weight exact but measured slower at `d = 2`: 2.8e8 against
//! 3.3e8 pairs per second, interleaved runs on the shared machine.)
//! The exponential and logarithm are the lane-wise ones of the `vexp` and `vln`
//! modules (no call per pair). `d <= 4` keeps every sum of a row in registers; any
//! other `d` writes a tile's weights to a buffer and forms the weighted sums
//! coordinate by coordinate.
//!
//! For the Gaussian law the divergence needs only three more sums per row: with
//! `W = sum w_i`, `m = sum w_i y_i / W`, `Q = sum w_i d2_i` and `S = sum w_i |y_i|^2`,
//! the Gaussian score gives `div f = d sigma'/sigma + (alpha' - alpha sigma'/sigma)
//! (alpha/sigma^2) tr Cov_w(y)` (the gradient of the posterior mean is
//! `(alpha/sigma^2) Cov_w(y)`), and `tr Cov_w(y)` is formed in whichever of two ways
//! loses fewer digits: `(Q/W - |x - alpha m|^2) / alpha^2` (centred at `x / alpha`,
//! the form of the scalar path, good near the data) when `Q < alpha^2 S`, else
//! `S/W - |m|^2` (centred at the origin, good for far rows and `alpha -> 0`). Either
//! way the terms that cancel are at most `alpha^2 max |y_i|^2` times `W`.
//!
//! Any other law has a score coefficient per pair, `g_i = c_i u_i` with
//! `c_i = 2 h'(r2_i) / sigma`. Since `f_i - f = (alpha' - alpha sigma'/sigma)(y_i - m)`
//! for `f_i = alpha' y_i + sigma' u_i`,
//! `div f = d sigma'/sigma + (alpha' - alpha sigma'/sigma) T / (W sigma)` with
//! `T = sum w_i c_i (y_i - m).(x - alpha y_i)`, formed from the sums `C = sum w c`,
//! `Q = sum w c d2`, `S = sum w c |y|^2`, `G = sum w c y` and
//! `E = sum w c (x - alpha y)` (two more weighted sums per coordinate; `E` summed pair
//! by pair, as `x C - alpha G` would lose the digits of `x - alpha y` near a data
//! point) in the same two ways: `(e.E - Q) / alpha` with `e = x - alpha m`, when
//! `|Q| < alpha^2 |S|`, else
//! `e.(G - m C) - alpha (S - 2 m.G + |m|^2 C)`. With `c = -1/sigma` this is the
//! Gaussian formula above.
//!
//! The exponential and logarithm use fused multiply-adds on CPUs that have them
//! (AVX-512 and AVX2 with FMA give the same bits: a fused multiply-add is correctly
//! rounded); the portable code, for CPUs without FMA, evaluates the same expressions
//! unfused and differs by rounding (bound in the kernel tests). On one machine the
//! results are bit-identical for any thread count and block size: a row's arithmetic
//! never depends on the other rows.

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose.
#![allow(clippy::needless_range_loop)]

use super::lanes::{
    d2a_dyn, d2a_small, dot4, hsum, lane_argmin, lane_min, Soa, LANES, TILE_BYTES, V,
};
use super::laws::{Gauss, GaussRow, LaneLaw};
use super::{Out, ROWS};
use crate::fields::noise::Noise;
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

impl<'a> GaussRows<'a> {
    /// The rows `s`, `x` of `kernel` over the source whose kernel layout is `soa`.
    pub(super) fn new(
        kernel: &Noise,
        soa: &Soa,
        sch: Schedule,
        s: &'a [f64],
        x: &'a [f64],
        out: Out<'a>,
    ) -> Self {
        Self {
            sch,
            s,
            x,
            out,
            log_norm: kernel.log_norm() + soa.ln_pi_max,
        }
    }
}

/// The Gaussian kernel over all rows, dispatched at run time to code compiled for
/// AVX-512 or AVX2 with FMA when the CPU has them (the two give the same bits; the
/// portable code, without fused multiply-adds in the exponential, differs by rounding).
pub(super) fn eval_gauss(soa: &Soa, d: usize, rows: GaussRows) {
    eval_radial(Gauss, soa, d, rows);
}

/// The same kernel for any lane-wise law (`laws` module), dispatched like
/// [`eval_gauss`].
pub(super) fn eval_radial<L: LaneLaw>(law: L, soa: &Soa, d: usize, rows: GaussRows) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU has AVX-512F and FMA (checked just above).
            unsafe { gauss_avx512(law, soa, d, rows) };
            return;
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { gauss_avx2(law, soa, d, rows) };
            return;
        }
    }
    gauss_rows::<L, false>(law, soa, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn gauss_avx512<L: LaneLaw>(law: L, soa: &Soa, d: usize, rows: GaussRows) {
    gauss_rows::<L, true>(law, soa, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gauss_avx2<L: LaneLaw>(law: L, soa: &Soa, d: usize, rows: GaussRows) {
    gauss_rows::<L, true>(law, soa, d, rows);
}

/// The kernel for any CPU (`F`: fused multiply-adds in the exponential; the
/// portable entry is `F = false`, what a CPU without FMA runs).
#[inline(always)]
pub(super) fn gauss_rows<L: LaneLaw, const F: bool>(law: L, soa: &Soa, d: usize, rows: GaussRows) {
    let dv = rows.out.div.is_some();
    macro_rules! pick {
        ($f:ident $(, $d:literal)?) => {
            match (soa.uniform, dv) {
                (true, false) => $f::<L, $($d,)? false, false, F>(law, soa, d, rows),
                (false, false) => $f::<L, $($d,)? true, false, F>(law, soa, d, rows),
                (true, true) => $f::<L, $($d,)? false, true, F>(law, soa, d, rows),
                (false, true) => $f::<L, $($d,)? true, true, F>(law, soa, d, rows),
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
pub(super) struct RowConst<R> {
    /// `alpha(s)`.
    pub(super) a: f64,
    /// `sigma(s)`.
    pub(super) sg: f64,
    /// `pi_ref` (relative to the largest weight) and its inverse.
    pi_ref: f64,
    inv_pi_ref: f64,
    /// The law's constants (set with the reference).
    pub(super) law: R,
}

impl<R: Copy + Default> RowConst<R> {
    pub(super) fn new(sch: Schedule, s: f64, pi0: f64) -> Self {
        Self {
            a: sch.alpha(s),
            sg: sch.sigma(s),
            pi_ref: pi0,
            inv_pi_ref: 1.0 / pi0,
            law: R::default(), // set by pass 1
        }
    }

    /// Sets the reference from the lane minima of pass 1.
    fn set_nearest<L: LaneLaw<Row = R>, const W: bool>(
        &mut self,
        law: &L,
        best: &V,
        ib: &[usize; LANES],
        pi: &[f64],
    ) {
        let (c, i) = lane_argmin(best, ib);
        self.law = law.row(self.sg, c);
        self.pi_ref = pi[if W { i } else { 0 }];
        self.inv_pi_ref = 1.0 / self.pi_ref;
    }

    /// The weights `w` of a chunk with squared distances `d2` and (with the
    /// divergence, not for the Gaussian law) `w c`; lanes at or past `valid` get
    /// weight zero.
    #[inline(always)]
    pub(super) fn weights<L: LaneLaw<Row = R>, const W: bool, const DV: bool, const F: bool>(
        &self,
        law: &L,
        d2: &V,
        pi: &[f64],
        valid: usize,
    ) -> (V, V) {
        let (mut w, mut c) = law.ratios::<DV, F>(&self.law, d2);
        if W {
            for l in 0..LANES {
                w[l] *= pi[l] * self.inv_pi_ref;
            }
        }
        for wl in &mut w[valid.min(LANES)..] {
            *wl = 0.0;
        }
        if DV && !L::GAUSS {
            for l in 0..LANES {
                // a zero weight contributes nothing, whatever its coefficient
                c[l] = if w[l] > 0.0 { w[l] * c[l] } else { 0.0 };
            }
        }
        (w, c)
    }
}

/// Lane sums of one row: `W`, and with the divergence `Q = sum w d2`,
/// `S = sum w |y|^2` (Gaussian law) or `C = sum w c`, `Q = sum w c d2`,
/// `S = sum w c |y|^2` (any other law).
#[derive(Clone, Copy)]
struct Scalars {
    w: V,
    q: V,
    n2: V,
    c: V,
}

const ZERO3: Scalars = Scalars {
    w: [0.0; LANES],
    q: [0.0; LANES],
    n2: [0.0; LANES],
    c: [0.0; LANES],
};

impl Scalars {
    #[inline(always)]
    fn add<L: LaneLaw, const DV: bool>(&mut self, w: &V, wc: &V, d2: &V, n2: &[f64]) {
        for l in 0..LANES {
            self.w[l] += w[l];
        }
        if DV && L::GAUSS {
            for l in 0..LANES {
                self.q[l] += w[l] * d2[l];
                self.n2[l] += w[l] * n2[l];
            }
        }
        if DV && !L::GAUSS {
            for l in 0..LANES {
                self.c[l] += wc[l];
                self.q[l] += wc[l] * d2[l];
                self.n2[l] += wc[l] * n2[l];
            }
        }
    }
}

/// [`finish`] from per-coordinate lane sums `[m, g, ge]` (`m[j]` the lanes of
/// `w_i y_ij`, `g` and `ge` those of the non-Gaussian laws' divergence sums, empty
/// when not needed).
#[inline(always)]
fn finish_lanes<L: LaneLaw>(
    law: &L,
    d: usize,
    r: usize,
    rc: &RowConst<L::Row>,
    sums: &Scalars,
    [mj, gj, ej]: [&[V]; 3],
    rows: &mut GaussRows,
) {
    let (msum, gsum) = (|j: usize| hsum(&mj[j]), |j: usize| hsum(&gj[j]));
    let gesum = |j: usize| hsum(&ej[j]);
    finish(law, d, r, rc, sums, msum, gsum, gesum, rows);
}

/// Velocity, `ln p` and divergence of row `r` from its sums (`msum(j)` the lane sum
/// of `w_i y_ij`; `gsum(j)` that of `w_i c_i y_ij` and `gesum(j)` that of
/// `w_i c_i (x_j - alpha y_ij)`, used by non-Gaussian laws only).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn finish<L: LaneLaw>(
    law: &L,
    d: usize,
    r: usize,
    rc: &RowConst<L::Row>,
    sums: &Scalars,
    msum: impl Fn(usize) -> f64,
    gsum: impl Fn(usize) -> f64,
    gesum: impl Fn(usize) -> f64,
    rows: &mut GaussRows,
) {
    let sr = rows.s[r];
    let (a, da) = (rc.a, rows.sch.dalpha(sr));
    let (sg, dsg) = (rows.sch.sigma(sr), rows.sch.dsigma(sr));
    let w = hsum(&sums.w);
    let k = dsg / sg;
    let want_div = rows.out.div.is_some();
    let c = hsum(&sums.c);
    let xr = &rows.x[r * d..(r + 1) * d];
    let fr = &mut rows.out.f[r * d..(r + 1) * d];
    let (mut mm, mut res2) = (0.0, 0.0);
    // e_m . E, e_m . (G - m C), m . G (non-Gaussian divergence)
    let (mut ege, mut eg, mut mg) = (0.0, 0.0, 0.0);
    for j in 0..d {
        let mj = msum(j) / w;
        let e = xr[j] - a * mj;
        fr[j] = da * mj + k * e;
        mm += mj * mj;
        res2 += e * e;
        if want_div && !L::GAUSS {
            let gj = gsum(j);
            ege += e * gesum(j);
            eg += e * (gj - mj * c);
            mg += mj * gj;
        }
    }
    if let Some(lp) = rows.out.log_p.as_deref_mut() {
        lp[r] = rc.pi_ref.ln() + rows.log_norm + law.h_ref(&rc.law) - d as f64 * sg.ln() + w.ln();
    }
    if let Some(dv) = rows.out.div.as_deref_mut() {
        let (q, n2) = (hsum(&sums.q), hsum(&sums.n2));
        if L::GAUSS {
            // alpha tr Cov_w(y), centred where it cancels least (module docs)
            let a_trc = if q < a * a * n2 {
                (q / w - res2) / a
            } else {
                a * (n2 / w - mm)
            };
            dv[r] = d as f64 * k + (da - a * k) * (a_trc / (sg * sg));
        } else {
            // T = sum w c (y - m).(x - alpha y), centred where it cancels least
            let t = if q.abs() < a * a * n2.abs() {
                (ege - q) / a
            } else {
                eg - a * (n2 - 2.0 * mg + mm * c)
            };
            dv[r] = d as f64 * k + (da - a * k) * (t / (w * sg));
        }
    }
}

/// Velocity and `ln p` of row `r` of the Gaussian law from sums formed elsewhere (the
/// product path of the `gemm` module): reference `d2_ref`, weights relative to the
/// largest `pi_i`, `w = sum_i w_i` and `m[j] = sum_i w_i y_ij`.
pub(super) fn finish_sums(d: usize, r: usize, d2r: f64, w: f64, m: &[f64], rows: &mut GaussRows) {
    let mut rc = RowConst::<GaussRow>::new(rows.sch, rows.s[r], 1.0);
    rc.law = Gauss.row(rc.sg, d2r);
    let mut sums = ZERO3;
    sums.w[0] = w;
    finish(&Gauss, d, r, &rc, &sums, |j| m[j], |_| 0.0, |_| 0.0, rows);
}

/// The kernel for `d <= 4`: all of a row's sums stay in registers.
#[inline(always)]
fn gauss_small<L: LaneLaw, const D: usize, const W: bool, const DV: bool, const F: bool>(
    law: L,
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
    let mut rc = [RowConst::<L::Row>::default(); ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut sc = [ZERO3; ROWS];
    let mut ms = [[[0.0; LANES]; D]; ROWS];
    let mut gs = [[[0.0; LANES]; D]; ROWS];
    let mut ges = [[[0.0; LANES]; D]; ROWS];
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
            gs[b] = [[0.0; LANES]; D];
            ges[b] = [[0.0; LANES]; D];
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
            rc[b].set_nearest::<L, W>(&law, &best[b], &ib[b], &soa.pi);
        }
        // pass 2: the weighted sums (a macro, not a closure: closures do not inherit
        // the caller's target features, and this is the hot loop)
        macro_rules! chunk {
            ($b:expr, $k:expr, $valid:expr, $s:expr, $mj:expr, $gj:expr, $ej:expr) => {{
                let (b, k) = ($b, $k);
                let d2 = d2a_small::<D>(&xs[b], rc[b].a, &ys, k);
                let (w, wc) =
                    rc[b].weights::<L, W, DV, F>(&law, &d2, &soa.pi[k..k + LANES], $valid);
                $s.add::<L, DV>(&w, &wc, &d2, &soa.norm2[k..k + LANES]);
                for j in 0..D {
                    let y = &ys[j][k..k + LANES];
                    for l in 0..LANES {
                        $mj[j][l] += w[l] * y[l];
                    }
                    if DV && !L::GAUSS {
                        let (xj, a) = (xs[b][j], rc[b].a);
                        for l in 0..LANES {
                            $gj[j][l] += wc[l] * y[l];
                            $ej[j][l] += wc[l] * (xj - a * y[l]);
                        }
                    }
                }
            }};
        }
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                let (mut s, mut mj, mut gj, mut ej) = (sc[b], ms[b], gs[b], ges[b]);
                for k in (t0..t1).step_by(LANES) {
                    chunk!(b, k, LANES, s, mj, gj, ej);
                }
                (sc[b], ms[b], gs[b], ges[b]) = (s, mj, gj, ej);
            }
        }
        if m_full < m {
            for b in 0..nb {
                chunk!(b, m_full, m - m_full, sc[b], ms[b], gs[b], ges[b]);
            }
        }
        for b in 0..nb {
            let lanes = [&ms[b][..], &gs[b][..], &ges[b][..]];
            finish_lanes(&law, D, r0 + b, &rc[b], &sc[b], lanes, &mut rows);
        }
    }
}

/// The kernel for any `d`: the weights of a tile go to a buffer, then each
/// coordinate's weighted sum runs over it.
#[inline(always)]
fn gauss_general<L: LaneLaw, const W: bool, const DV: bool, const F: bool>(
    law: L,
    soa: &Soa,
    d: usize,
    mut rows: GaussRows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let coords = &soa.coords[..];
    let m_full = m / LANES * LANES;
    let tile = ((4 * TILE_BYTES / (8 * d)) / LANES * LANES).max(LANES);
    let mut rc = [RowConst::<L::Row>::default(); ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut sc = [ZERO3; ROWS];
    let mut ms = vec![[0.0; LANES]; ROWS * d];
    let gdv = DV && !L::GAUSS;
    let mut gs = vec![[0.0; LANES]; if gdv { ROWS * d } else { 0 }];
    let mut ges = vec![[0.0; LANES]; if gdv { ROWS * d } else { 0 }];
    // the last tile takes the partial chunk too
    let mut wbuf = vec![0.0; tile + LANES];
    let mut gbuf = vec![0.0; if gdv { tile + LANES } else { 0 }];
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
        gs.fill([0.0; LANES]);
        ges.fill([0.0; LANES]);
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
            rc[b].set_nearest::<L, W>(&law, &best[b], &ib[b], &soa.pi);
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
                    let (w, wc) =
                        rc[b].weights::<L, W, DV, F>(&law, &d2, &soa.pi[k..k + LANES], m - k);
                    s.add::<L, DV>(&w, &wc, &d2, &soa.norm2[k..k + LANES]);
                    wbuf[k - t0..k - t0 + LANES].copy_from_slice(&w);
                    if gdv {
                        gbuf[k - t0..k - t0 + LANES].copy_from_slice(&wc);
                    }
                }
                let len = t1 - t0;
                for j in 0..d {
                    let yj = &coords[j * stride + t0..j * stride + t1];
                    let v = dot4(&wbuf[..len], yj, |y| y);
                    let acc = &mut ms[b * d + j];
                    for l in 0..LANES {
                        acc[l] += v[l];
                    }
                    if gdv {
                        let v = dot4(&gbuf[..len], yj, |y| y);
                        let acc = &mut gs[b * d + j];
                        for l in 0..LANES {
                            acc[l] += v[l];
                        }
                        let (xj, a) = (xr[j], rc[b].a);
                        let v = dot4(&gbuf[..len], yj, |y| xj - a * y);
                        let acc = &mut ges[b * d + j];
                        for l in 0..LANES {
                            acc[l] += v[l];
                        }
                    }
                }
            }
            t0 = t1;
        }
        for b in 0..nb {
            let mj = &ms[b * d..(b + 1) * d];
            let gj = if gdv { &gs[b * d..(b + 1) * d] } else { &[] };
            let ej = if gdv { &ges[b * d..(b + 1) * d] } else { &[] };
            finish_lanes(&law, d, r0 + b, &rc[b], &sc[b], [mj, gj, ej], &mut rows);
        }
    }
}
