//! Tiled evaluation of the marginal field: velocity, log-density and divergence for a
//! block of particles against all components of a source.
//!
//! The posterior weights `w_k ∝ pi_k p_s(x | k)` are never formed as a particles x
//! data matrix. Three kernels share the work:
//!
//! * The vectorised power-law path, the hot loop of PFGM and PFGM++ sampling: an
//!   empirical source, the ray schedule (`alpha = 1`, `sigma = s`) and the law
//!   `(1 + |u|^2)^{-e}` with `2e` a whole number. The data are stored coordinate by
//!   coordinate ([`Soa`], built once with the source) and visited in chunks of
//!   [`LANES`] points, so that every operation of the pair loop is one SIMD
//!   instruction; `d <= 4` is specialised with every sum of a row in registers, any
//!   other `d` goes through a weight buffer per tile. With `t_i = s^2 + |x - y_i|^2`
//!   the weight of point `i` is `(pi_i / pi_ref) (c / t_i)^e`, `c` the row's
//!   reference: `c = s^2` (every term at most one, one pass over the data) when the
//!   first data point already has a kernel value above `e^{-600}`, which bounds the
//!   largest term from below; otherwise (far rows in high dimension) a first pass
//!   finds the nearest point and `c = t_min`. `q^e` is a square root (odd `2e`) and
//!   repeated squaring: no `exp` or `log` per pair. The code is compiled three times
//!   and chosen at run time: for AVX-512 (where `1/sqrt(t)` comes from the 14-bit
//!   hardware estimate and two Newton steps, so there is no division and no square
//!   root per pair), for AVX2 and portable (one division and one square root per
//!   pair, correctly rounded). The AVX-512 path also uses fused multiply-adds in the
//!   Newton steps, so it does not give the same bits as the other two. What holds:
//!   on one machine the results are bit-identical for any thread count and block
//!   size (a row's arithmetic never depends on the other rows). Between a CPU with
//!   AVX-512 and one without they differ by rounding amplified by the exponent: on the
//!   scale of the terms that cancel, at most 2.2e-14 (velocity), 6.8e-14 (`ln p`) and
//!   7e-15 (divergence) relative, measured for `d = 2, 16, 64` and `D` up to 2048
//!   (up to about 3e4 ulp of a velocity component where `x - m` cancels); the test
//!   `dispatched_and_portable_paths_agree_to_a_stated_bound` asserts 1e-13, 3e-13 and
//!   3e-14.
//!
//!   From `d = GEMM_MIN_D` (32) on, when the divergence is not asked for, the same
//!   weights are formed from matrix products instead (`gemm` submodule: distances as
//!   `|x|^2 + |y|^2 - 2 x.y`, weighted sums as a second product, rows whose distances
//!   may have lost digits to cancellation recomputed by the coordinate-wise code).
//! * [`eval_points`] otherwise, for an empirical source and a radially decreasing
//!   law (Gaussian, radial profiles, non-integer `2e`, the linear schedule). Pass one
//!   finds, for each row, the nearest data point (smallest `|x - alpha y_i|^2`; no
//!   transcendental function). Pass two sums the weights as exact ratios to that
//!   reference term, `(pi_i / pi_ref) nu(u_i) / nu(u_ref)`; for the power-law
//!   kernels the ratio is `((sigma^2 + d2_ref) / (sigma^2 + d2_i))^e`, a power of a
//!   number in `(0, 1]`, and for the Gaussian kernel it is
//!   `exp(-(d2_i - d2_ref) / (2 sigma^2))` with a non-positive argument. The kernel
//!   part of every ratio is at most one, so nothing overflows, and the reference
//!   term contributes exactly one, so the sum never underflows to zero.
//! * [`eval_components`], for mixtures with per-component scales (Gaussian and Cauchy
//!   sources) and the non-radial uniform box: log-space terms with a streaming
//!   (online) log-sum-exp that rescales the row's accumulators when its maximum grows.
//!
//! Data are visited in tiles (of [`TILE`] points in the scalar path, 32 KiB in the
//! vectorised one) and particles in sub-blocks of [`ROWS`] rows, so memory is
//! `O((N + M) d)` plus one tile of accumulators. The arithmetic of a row never
//! depends on the other rows (the determinism contract of
//! [`crate::ode::OdeSystem`]).
//!
//! With `alpha, sigma` the schedule at the row's `s`, `u_i = (x - alpha y_i)/sigma`
//! and `nu(u) ∝ exp(h(|u|^2))`:
//!
//! ```text
//! f      = alpha' m + (sigma'/sigma)(x - alpha m),       m = sum_i w_i y_i
//! ln p   = ln sum_i pi_i sigma^{-d} nu(u_i)
//! div f  = d sigma'/sigma + sum_i w_i f_i . g_i - f . sum_i w_i g_i,
//!          g_i = 2 h'(|u_i|^2) u_i / sigma,  f_i = alpha' y_i + sigma' u_i
//! ```

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose:
// that is the form the vectoriser turns into SIMD instructions.
#![allow(clippy::needless_range_loop)]

use super::noise::{Noise, NoiseKind};
use super::schedule::Schedule;
use super::source::{Source, SourceKind};

mod gemm;
pub use gemm::WEIGHT_RTOL;

/// Smallest `d` at which the power-law kernel takes the matrix-product path
/// (the `gemm` submodule) when the divergence is not requested (measured crossover, see
/// docs/FIELDS.md).
pub const GEMM_MIN_D: usize = 32;

/// Data points per tile.
pub const TILE: usize = 256;
/// Particles per sub-block.
pub const ROWS: usize = 32;

/// Output slices of a block evaluation (rows of length `d`, or one value per row).
pub struct Out<'a> {
    /// Velocity `f_s(x)`, `n x d`.
    pub f: &'a mut [f64],
    /// `ln p_s(x)` (computed with the kernel's normalisation).
    pub log_p: Option<&'a mut [f64]>,
    /// `div f_s(x)`.
    pub div: Option<&'a mut [f64]>,
}

/// The fast path: empirical source, radially decreasing kernel, shared scale.
///
/// Preconditions (checked by [`super::MarginalField`], which picks the path): `src`
/// is made of points and `kernel` is radial; `s` has one level per row of `x`.
///
/// Dispatches once on the kernel so that the per-pair ratio is a monomorphised
/// closure (no branch on the law, and for half-integer power-law exponents only
/// `powi` and `sqrt`).
///
/// Rows at extreme levels (far below the size of the coordinates, or below `1e-90`)
/// go to the careful path of `src/fields/tiny.rs`; the others, in runs of consecutive
/// rows, to the fast kernels (a row never depends on the other rows, so the split
/// changes no bits).
pub fn eval_points(kernel: &Noise, sch: Schedule, src: &Source, s: &[f64], x: &[f64], out: Out) {
    let d = src.dim();
    let n = s.len();
    let ymax = src.max_abs();
    let tiny = |r: usize| super::tiny::is_tiny(s[r], &x[r * d..(r + 1) * d], ymax);
    if !(0..n).any(tiny) {
        eval_points_fast(kernel, sch, src, s, x, out);
        return;
    }
    let Out {
        f,
        mut log_p,
        mut div,
    } = out;
    let mut r = 0;
    while r < n {
        if tiny(r) {
            let row = super::tiny::RowOut {
                f: &mut f[r * d..(r + 1) * d],
                log_p: log_p.as_deref_mut().map(|l| &mut l[r]),
                div: div.as_deref_mut().map(|v| &mut v[r]),
            };
            super::tiny::eval_row(kernel, sch, src, s[r], &x[r * d..(r + 1) * d], row);
            r += 1;
            continue;
        }
        let mut e = r + 1;
        while e < n && !tiny(e) {
            e += 1;
        }
        let part = Out {
            f: &mut f[r * d..e * d],
            log_p: log_p.as_deref_mut().map(|l| &mut l[r..e]),
            div: div.as_deref_mut().map(|v| &mut v[r..e]),
        };
        eval_points_fast(kernel, sch, src, &s[r..e], &x[r * d..e * d], part);
        r = e;
    }
}

/// [`eval_points`] for rows at ordinary levels.
fn eval_points_fast(kernel: &Noise, sch: Schedule, src: &Source, s: &[f64], x: &[f64], out: Out) {
    debug_assert_eq!(src.kind(), SourceKind::Points);
    debug_assert!(kernel.is_radial());
    if let Some(n2) = fast_power_exponent(kernel, sch) {
        let rows = Rows {
            s,
            x,
            f: out.f,
            log_p: out.log_p,
            div: out.div,
            log_norm: kernel.log_norm(),
        };
        eval_power(n2, src, rows);
        return;
    }
    match kernel.kind() {
        NoiseKind::Gaussian => eval_points_with(
            kernel,
            |r2: f64, r2_ref: f64| (-0.5 * (r2 - r2_ref)).exp(),
            sch,
            src,
            s,
            x,
            out,
        ),
        NoiseKind::PowerLaw { exponent } => {
            let two_e = 2.0 * exponent;
            let n = two_e.round();
            if (two_e - n).abs() == 0.0 && n <= 64.0 {
                let n = n as i32;
                let half = n / 2;
                if n % 2 == 0 {
                    eval_points_with(
                        kernel,
                        move |r2: f64, r2_ref: f64| ((1.0 + r2_ref) / (1.0 + r2)).powi(half),
                        sch,
                        src,
                        s,
                        x,
                        out,
                    )
                } else {
                    eval_points_with(
                        kernel,
                        move |r2: f64, r2_ref: f64| {
                            let q = (1.0 + r2_ref) / (1.0 + r2);
                            q.powi(half) * q.sqrt()
                        },
                        sch,
                        src,
                        s,
                        x,
                        out,
                    )
                }
            } else {
                eval_points_with(
                    kernel,
                    move |r2: f64, r2_ref: f64| ((1.0 + r2_ref) / (1.0 + r2)).powf(exponent),
                    sch,
                    src,
                    s,
                    x,
                    out,
                )
            }
        }
        _ => eval_points_with(
            kernel,
            |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref),
            sch,
            src,
            s,
            x,
            out,
        ),
    }
}

/// `|x - a y|^2` with four independent partial sums (breaks the add latency chain;
/// the order of operations is fixed, so results stay deterministic).
#[inline]
fn dist2(xr: &[f64], y: &[f64], a: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let xc = xr.chunks_exact(4);
    let yc = y.chunks_exact(4);
    let (xt, yt) = (xc.remainder(), yc.remainder());
    for (p, q) in xc.zip(yc) {
        for k in 0..4 {
            let e = p[k] - a * q[k];
            acc[k] += e * e;
        }
    }
    let mut tail = 0.0;
    for (p, q) in xt.iter().zip(yt) {
        let e = p - a * q;
        tail += e * e;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`eval_points`] with the kernel ratio `nu(u) / nu(u_ref)` as a function of the
/// squared radii (equal radii must give exactly 1).
fn eval_points_with<R: Fn(f64, f64) -> f64>(
    kernel: &Noise,
    ratio_of: R,
    sch: Schedule,
    src: &Source,
    s: &[f64],
    x: &[f64],
    out: Out,
) {
    let d = src.dim();
    let n = s.len();
    let m = src.len();
    let ys = src.means();
    let pis = src.weights();
    let want_div = out.div.is_some();
    let Out {
        f,
        mut log_p,
        mut div,
    } = out;

    let mut d2min = [0.0f64; ROWS];
    let mut iref = [0usize; ROWS];
    let mut wsum = [0.0f64; ROWS];
    let mut fg = [0.0f64; ROWS];
    let mut ysum = vec![0.0f64; ROWS * d];
    let mut gsum = vec![0.0f64; ROWS * d];

    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        // pass 1: nearest data point of every row
        d2min[..nb].fill(f64::INFINITY);
        iref[..nb].fill(0);
        for t0 in (0..m).step_by(TILE) {
            let t1 = (t0 + TILE).min(m);
            for b in 0..nb {
                let r = r0 + b;
                let a = sch.alpha(s[r]);
                let xr = &x[r * d..(r + 1) * d];
                let mut best = d2min[b];
                let mut ib = iref[b];
                for (i, y) in (t0..t1).zip(ys[t0 * d..t1 * d].chunks_exact(d)) {
                    let d2 = dist2(xr, y, a);
                    if d2 < best {
                        best = d2;
                        ib = i;
                    }
                }
                d2min[b] = best;
                iref[b] = ib;
            }
        }
        // pass 2: ratio-weighted sums
        wsum[..nb].fill(0.0);
        fg[..nb].fill(0.0);
        ysum[..nb * d].fill(0.0);
        gsum[..nb * d].fill(0.0);
        for t0 in (0..m).step_by(TILE) {
            let t1 = (t0 + TILE).min(m);
            for b in 0..nb {
                let r = r0 + b;
                let sr = s[r];
                let a = sch.alpha(sr);
                let da = sch.dalpha(sr);
                let sg = sch.sigma(sr);
                let dsg = sch.dsigma(sr);
                let inv_s2 = 1.0 / (sg * sg);
                let r2_ref = d2min[b] * inv_s2;
                let inv_pi_ref = 1.0 / pis[iref[b]];
                let xr = &x[r * d..(r + 1) * d];
                let yb = &mut ysum[b * d..(b + 1) * d];
                let gb = &mut gsum[b * d..(b + 1) * d];
                let mut w_acc = wsum[b];
                let mut fg_acc = fg[b];
                for (y, &pi) in ys[t0 * d..t1 * d].chunks_exact(d).zip(&pis[t0..t1]) {
                    let d2 = dist2(xr, y, a);
                    let r2 = d2 * inv_s2;
                    // the reference point itself (and exact ties) get ratio 1
                    #[allow(clippy::float_cmp)]
                    let kr = if r2 == r2_ref {
                        1.0
                    } else {
                        ratio_of(r2, r2_ref)
                    };
                    let ratio = pi * inv_pi_ref * kr;
                    if ratio == 0.0 {
                        continue;
                    }
                    w_acc += ratio;
                    for (acc, &yj) in yb.iter_mut().zip(y) {
                        *acc += ratio * yj;
                    }
                    if want_div {
                        // g_i = c u_i, u_i = (x - alpha y_i) / sigma
                        let c = 2.0 * kernel.dh(r2) / sg;
                        let rc = ratio * c / sg;
                        let mut yu = 0.0;
                        for ((g, &xj), &yj) in gb.iter_mut().zip(xr).zip(y) {
                            let e = xj - a * yj;
                            *g += rc * e;
                            yu += yj * e;
                        }
                        fg_acc += ratio * c * (da * yu / sg + dsg * r2);
                    }
                }
                wsum[b] = w_acc;
                fg[b] = fg_acc;
            }
        }
        // finish the rows
        for b in 0..nb {
            let r = r0 + b;
            let sr = s[r];
            let a = sch.alpha(sr);
            let da = sch.dalpha(sr);
            let sg = sch.sigma(sr);
            let dsg = sch.dsigma(sr);
            let w = wsum[b];
            let xr = &x[r * d..(r + 1) * d];
            let fr = &mut f[r * d..(r + 1) * d];
            let k = dsg / sg;
            for j in 0..d {
                let mj = ysum[b * d + j] / w;
                fr[j] = da * mj + k * (xr[j] - a * mj);
            }
            if let Some(lp) = log_p.as_deref_mut() {
                let r2_ref = d2min[b] / (sg * sg);
                lp[r] = pis[iref[b]].ln() + kernel.log_norm() + kernel.h(r2_ref)
                    - d as f64 * sg.ln()
                    + w.ln();
            }
            if let Some(dv) = div.as_deref_mut() {
                let mut fgbar = 0.0;
                for j in 0..d {
                    fgbar += fr[j] * gsum[b * d + j];
                }
                dv[r] = d as f64 * k + (fg[b] - fgbar) / w;
            }
        }
    }
}

/// Scale `v_k(s)` and its derivative for component `k` (`c` its source scale).
#[inline]
fn comp_scale(kind: SourceKind, sch: Schedule, s: f64, c: f64) -> (f64, f64) {
    let sg = sch.sigma(s);
    let dsg = sch.dsigma(s);
    match kind {
        SourceKind::Points => (sg, dsg),
        SourceKind::Gaussian => {
            let a = sch.alpha(s);
            let da = sch.dalpha(s);
            // hypot: neither square underflows at tiny levels or scales
            let v = (a * c).hypot(sg);
            (v, (a * da * c * c + sg * dsg) / v)
        }
        SourceKind::Cauchy => (c + sg, dsg),
    }
}

/// The general path: per-component scales, any normalised law, streaming log-sum-exp.
///
/// Component `k` at level `s` is `v_k^{-d} nu((x - alpha mu_k)/v_k)` with
/// `v_k = sigma` (points), `sqrt(alpha^2 c_k^2 + sigma^2)` (Gaussian law and
/// Gaussian source) or `c_k + sigma` (Poisson law and Cauchy source); its velocity is
/// `f_k = alpha' mu_k + (v_k'/v_k)(x - alpha mu_k)` and its divergence `d v_k'/v_k`.
/// A row outside the support of every component (possible only for the uniform box)
/// follows the component whose support is nearest, with `ln p = -inf`.
pub fn eval_components(law: &Noise, sch: Schedule, src: &Source, s: &[f64], x: &[f64], out: Out) {
    let d = src.dim();
    let n = s.len();
    let m = src.len();
    let kind = src.kind();
    let want_div = out.div.is_some();
    let Out {
        f,
        mut log_p,
        mut div,
    } = out;
    let mut u = vec![0.0; d];
    let mut g = vec![0.0; d];
    let mut fk = vec![0.0; d];
    let mut facc = vec![0.0; d];
    let mut gacc = vec![0.0; d];
    let ln_pi: Vec<f64> = src.weights().iter().map(|w| w.ln()).collect();
    for r in 0..n {
        let sr = s[r];
        let a = sch.alpha(sr);
        let da = sch.dalpha(sr);
        let xr = &x[r * d..(r + 1) * d];
        let mut mx = f64::NEG_INFINITY;
        let mut w = 0.0;
        let mut fg = 0.0;
        let mut dv = 0.0;
        facc.fill(0.0);
        gacc.fill(0.0);
        for (k, &lpk) in ln_pi.iter().enumerate() {
            let mu = src.mean_of(k);
            let (v, dvk) = comp_scale(kind, sch, sr, src.scales()[k]);
            for j in 0..d {
                u[j] = (xr[j] - a * mu[j]) / v;
            }
            let lt = lpk - d as f64 * v.ln() + law.log_density(&u);
            if lt == f64::NEG_INFINITY {
                continue;
            }
            if lt > mx {
                let sc = (mx - lt).exp();
                w *= sc;
                fg *= sc;
                dv *= sc;
                for j in 0..d {
                    facc[j] *= sc;
                    gacc[j] *= sc;
                }
                mx = lt;
            }
            let ratio = (lt - mx).exp();
            for j in 0..d {
                fk[j] = da * mu[j] + dvk * u[j];
            }
            w += ratio;
            for j in 0..d {
                facc[j] += ratio * fk[j];
            }
            if want_div {
                law.grad_log_density(&u, &mut g);
                let mut dot = 0.0;
                for j in 0..d {
                    g[j] /= v;
                    gacc[j] += ratio * g[j];
                    dot += fk[j] * g[j];
                }
                fg += ratio * dot;
                dv += ratio * d as f64 * dvk / v;
            }
        }
        let fr = &mut f[r * d..(r + 1) * d];
        if mx == f64::NEG_INFINITY {
            // outside every support: follow the nearest component
            let mut best = f64::INFINITY;
            let mut kb = 0;
            for k in 0..m {
                let mu = src.mean_of(k);
                let (v, _) = comp_scale(kind, sch, sr, src.scales()[k]);
                for j in 0..d {
                    u[j] = (xr[j] - a * mu[j]) / v;
                }
                let e = law.dist2_to_support(&u) * v * v;
                if e < best {
                    best = e;
                    kb = k;
                }
            }
            let mu = src.mean_of(kb);
            let (v, dvk) = comp_scale(kind, sch, sr, src.scales()[kb]);
            for j in 0..d {
                fr[j] = da * mu[j] + dvk * (xr[j] - a * mu[j]) / v;
            }
            if let Some(lp) = log_p.as_deref_mut() {
                lp[r] = f64::NEG_INFINITY;
            }
            if let Some(dd) = div.as_deref_mut() {
                dd[r] = d as f64 * dvk / v;
            }
            continue;
        }
        let mut fgbar = 0.0;
        for j in 0..d {
            fr[j] = facc[j] / w;
            fgbar += fr[j] * gacc[j];
        }
        if let Some(lp) = log_p.as_deref_mut() {
            lp[r] = mx + w.ln();
        }
        if let Some(dd) = div.as_deref_mut() {
            dd[r] = (dv + fg - fgbar) / w;
        }
    }
}

// ---------------------------------------------------------------------------------
// The vectorised power-law path.

/// Lanes of the vectorised pair loops (one AVX-512 register of `f64`).
pub const LANES: usize = 8;

/// Bytes of data points per tile of the vectorised path (one L1 data cache).
const TILE_BYTES: usize = 32 * 1024;

type V = [f64; LANES];

/// The data points coordinate by coordinate (structure of arrays), for the vectorised
/// kernel: coordinate `j` of point `i` is `coords[j * stride + i]`; `stride` is `M`
/// rounded up to a multiple of [`LANES`] (the padding is zero and always masked out).
#[derive(Debug, Clone, PartialEq)]
pub struct Soa {
    m: usize,
    stride: usize,
    coords: Vec<f64>,
    /// The weights divided by the largest (in `[1e-300, 1]`: no subnormal ratios).
    pi: Vec<f64>,
    /// `ln` of the largest weight.
    ln_pi_max: f64,
    uniform: bool,
    /// `|y_i|^2` per point (zero in the padding).
    norm2: Vec<f64>,
    /// The largest `|y_i|^2`.
    norm2_max: f64,
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

/// `q^(n2/2)` as `q^half` by repeated squaring, times `sqrt(q)` when `n2` is odd.
#[derive(Debug, Clone, Copy)]
struct HalfPow {
    half: u32,
    odd: bool,
}

impl HalfPow {
    /// The exponent `e = n2 / 2`.
    fn exponent(self) -> f64 {
        0.5 * (2 * self.half + u32::from(self.odd)) as f64
    }

    /// `q^e` for one number (the same operations as [`half_pow`]).
    fn pow_scalar(self, q: f64) -> f64 {
        half_pow(self, [q; LANES], &[q.sqrt(); LANES])[0]
    }
}

/// What the rows of a vectorised evaluation need besides the data.
struct Rows<'a> {
    s: &'a [f64],
    x: &'a [f64],
    f: &'a mut [f64],
    log_p: Option<&'a mut [f64]>,
    div: Option<&'a mut [f64]>,
    /// `ln` of the kernel's normalising constant.
    log_norm: f64,
}

/// The exponent `2e` when the vectorised power-law path applies: an empirical
/// source under the ray schedule and the law `(1 + r^2)^{-e}` with `2e` a whole
/// number (PFGM, and PFGM++ with a whole `D`).
fn fast_power_exponent(kernel: &Noise, sch: Schedule) -> Option<u32> {
    if sch != Schedule::Ray {
        return None;
    }
    match kernel.kind() {
        NoiseKind::PowerLaw { exponent } => {
            let n2 = 2.0 * exponent;
            #[allow(clippy::float_cmp)] // exactly whole exponents only
            let whole = n2 == n2.round();
            (whole && (1.0..=4096.0).contains(&n2)).then_some(n2 as u32)
        }
        _ => None,
    }
}

/// The vectorised power-law path: dispatches at run time to code compiled for
/// AVX-512 or AVX2 when the CPU has them. The AVX2 and portable paths perform the
/// same IEEE operations in the same order (no fused multiply-add) and give the same
/// bits; the AVX-512 path computes `1/sqrt(t)` from a hardware estimate with Newton
/// steps and fused multiply-adds, and differs from them by rounding (bounds in the
/// module docs).
fn eval_power(n2: u32, src: &Source, rows: Rows) {
    let p = HalfPow {
        half: n2 / 2,
        odd: n2 % 2 == 1,
    };
    let soa = src.soa();
    let d = src.dim();
    // the stored weights are relative to the largest one
    let rows = Rows {
        log_norm: rows.log_norm + soa.ln_pi_max,
        ..rows
    };
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe { power_avx512(p, soa, src.means(), d, rows) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { power_avx2(p, soa, src.means(), d, rows) };
            return;
        }
    }
    power_rows::<false>(p, soa, src.means(), d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn power_avx512(p: HalfPow, soa: &Soa, ys: &[f64], d: usize, rows: Rows) {
    power_rows::<true>(p, soa, ys, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn power_avx2(p: HalfPow, soa: &Soa, ys: &[f64], d: usize, rows: Rows) {
    power_rows::<false>(p, soa, ys, d, rows);
}

#[inline(always)]
fn power_rows<const R: bool>(p: HalfPow, soa: &Soa, ys: &[f64], d: usize, rows: Rows) {
    let dv = rows.div.is_some();
    macro_rules! small {
        ($d:literal) => {
            match (soa.uniform, dv) {
                (true, false) => power_small::<$d, false, false, R>(p, soa, rows),
                (false, false) => power_small::<$d, true, false, R>(p, soa, rows),
                (true, true) => power_small::<$d, false, true, R>(p, soa, rows),
                (false, true) => power_small::<$d, true, true, R>(p, soa, rows),
            }
        };
    }
    match d {
        1 => small!(1),
        2 => small!(2),
        3 => small!(3),
        4 => small!(4),
        _ if d >= GEMM_MIN_D && !dv => {
            if soa.uniform {
                gemm::power_gemm::<false, R>(p, soa, ys, d, rows)
            } else {
                gemm::power_gemm::<true, R>(p, soa, ys, d, rows)
            }
        }
        _ => match (soa.uniform, dv) {
            (true, false) => power_general::<false, false, R>(p, soa, d, rows),
            (false, false) => power_general::<true, false, R>(p, soa, d, rows),
            (true, true) => power_general::<false, true, R>(p, soa, d, rows),
            (false, true) => power_general::<true, true, R>(p, soa, d, rows),
        },
    }
}

/// `q^(n2/2)` lane by lane (`sq = sqrt(q)`, used when `n2` is odd).
#[inline(always)]
fn half_pow(p: HalfPow, q: V, sq: &V) -> V {
    if p.half == 1 && p.odd {
        // PFGM in d = 2 (and PFGM++ with d + D = 3)
        let mut w = [0.0; LANES];
        for l in 0..LANES {
            w[l] = q[l] * sq[l];
        }
        return w;
    }
    let mut acc = if p.odd { *sq } else { [1.0; LANES] };
    let mut base = q;
    let mut e = p.half;
    while e > 0 {
        if e & 1 == 1 {
            for l in 0..LANES {
                acc[l] *= base[l];
            }
        }
        e >>= 1;
        if e > 0 {
            for l in 0..LANES {
                base[l] *= base[l];
            }
        }
    }
    acc
}

/// Sum of the lanes in a fixed order.
#[inline(always)]
fn hsum(v: &V) -> f64 {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
}

/// `|x - y_i|^2` for the `LANES` points starting at `k` (`ys[j]` is coordinate `j`
/// of the data).
#[inline(always)]
fn d2_small<const D: usize>(xr: &[f64; D], ys: &[&[f64]; D], k: usize) -> V {
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
fn d2_dyn(xr: &[f64], coords: &[f64], stride: usize, k: usize) -> V {
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
fn plus(s2: f64, d2: &V) -> V {
    let mut t = [0.0; LANES];
    for l in 0..LANES {
        t[l] = s2 + d2[l];
    }
    t
}

/// Running lane-wise minimum of `t` (and its index for weighted sources); lanes at or
/// past `valid` are padding.
#[inline(always)]
fn lane_min<const W: bool>(t: &V, k: usize, valid: usize, best: &mut V, ib: &mut [usize; LANES]) {
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
fn lane_argmin(best: &V, ib: &[usize; LANES]) -> (f64, usize) {
    let (mut c, mut i) = (best[0], ib[0]);
    for l in 1..LANES {
        if best[l] < c || (best[l] == c && ib[l] < i) {
            c = best[l];
            i = ib[l];
        }
    }
    (c, i)
}

/// The ratios `q_i = c / t_i` and weights `(pi_i / pi_ref) q_i^e` of one chunk;
/// lanes at or past `valid` get weight zero.
#[inline(always)]
fn chunk_weights<const W: bool, const R: bool>(
    p: HalfPow,
    t: &V,
    c: f64,
    pi: &[f64],
    inv_pi_ref: f64,
    valid: usize,
) -> (V, V) {
    let mut q = [0.0; LANES];
    let mut w = if R {
        // y = 1/sqrt(t): hardware estimate refined by two Newton steps, then
        // q = (c y) y and sqrt(q) = sqrt(c) y (no division, no square root per pair)
        let mut y = rsqrt_estimate(t);
        for _ in 0..2 {
            for l in 0..LANES {
                let h = t[l] * y[l];
                let r = (-h).mul_add(y[l], 1.0);
                y[l] = (0.5 * y[l]).mul_add(r, y[l]);
            }
        }
        let sc = c.sqrt();
        let mut sq = [0.0; LANES];
        for l in 0..LANES {
            q[l] = (c * y[l]) * y[l];
            sq[l] = sc * y[l];
        }
        half_pow(p, q, &sq)
    } else {
        let mut sq = [0.0; LANES];
        for l in 0..LANES {
            q[l] = c / t[l];
        }
        if p.odd {
            for l in 0..LANES {
                sq[l] = q[l].sqrt();
            }
        }
        half_pow(p, q, &sq)
    };
    if W {
        for l in 0..LANES {
            w[l] *= pi[l] * inv_pi_ref;
        }
    }
    if valid < LANES {
        for wl in &mut w[valid..] {
            *wl = 0.0;
        }
    }
    (q, w)
}

/// A 14-bit estimate of `1/sqrt(t)` lane by lane (AVX-512 `vrsqrt14pd`).
#[inline(always)]
fn rsqrt_estimate(t: &V) -> V {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm512_loadu_pd, _mm512_rsqrt14_pd, _mm512_storeu_pd};
        let mut out = [0.0; LANES];
        // SAFETY: instantiated only in the AVX-512 path (`R = true`, reached from
        // `power_avx512` after the CPU was checked for AVX-512F); the pointers are
        // those of two arrays of exactly 8 `f64`.
        unsafe {
            let r = _mm512_rsqrt14_pd(_mm512_loadu_pd(t.as_ptr()));
            _mm512_storeu_pd(out.as_mut_ptr(), r);
        }
        out
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut out = [0.0; LANES];
        for l in 0..LANES {
            out[l] = 1.0 / t[l].sqrt();
        }
        out
    }
}

/// Whether a row may use `c = s^2` as its reference (weights `(s^2 / t_i)^e <= 1`,
/// one pass): true when even the first data point, at `t_probe = s^2 + d2_0`, has a
/// kernel value `(s^2 / t_probe)^e >= e^{-600}`. The largest term is at least that
/// (the nearest point is at most as far), so the sum neither overflows (every term is
/// at most 1) nor loses its leading terms to underflow. Rows that fail (far rows in
/// high dimension) find their nearest data point first (pass 1).
#[inline(always)]
fn reference_is_level(p: HalfPow, s2: f64, t_probe: f64) -> bool {
    p.exponent() * (t_probe / s2).ln() < 600.0
}

/// Lane sums of one row.
struct RowSums<'a> {
    /// `sum w_i`.
    w: &'a V,
    /// `sum w_i y_i`, per coordinate.
    m: &'a [V],
    /// `sum w_i q_i (x - y_i)`, per coordinate (with the divergence).
    g: &'a [V],
    /// `sum w_i q_i |x - y_i|^2` (with the divergence).
    fg: &'a V,
}

/// Velocity, `ln p` and divergence of one row from its lane sums (ray schedule:
/// `f = (x - m) / s`). With `g_i = -2e (x - y_i) / t_i` the score of term `i` and
/// `1 / t_i = q_i / c`, the divergence is
/// `d / s + (sum w_i f_i . g_i - f . sum w_i g_i) / sum w_i` with `f_i = u_i`.
#[inline(always)]
fn finish_row(p: HalfPow, d: usize, r: usize, c: f64, pi_ref: f64, sums: RowSums, rows: &mut Rows) {
    let sr = rows.s[r];
    let w = hsum(sums.w);
    let k = 1.0 / sr;
    for j in 0..d {
        let mj = hsum(&sums.m[j]) / w;
        rows.f[r * d + j] = k * (rows.x[r * d + j] - mj);
    }
    let e = p.exponent();
    if let Some(lp) = rows.log_p.as_deref_mut() {
        lp[r] =
            pi_ref.ln() + rows.log_norm - e * (c / (sr * sr)).ln() - d as f64 * sr.ln() + w.ln();
    }
    if let Some(dv) = rows.div.as_deref_mut() {
        let cg = -2.0 * e / c;
        let mut fgbar = 0.0;
        for j in 0..d {
            fgbar += rows.f[r * d + j] * (cg * hsum(&sums.g[j]));
        }
        let fg = cg * k * hsum(sums.fg);
        dv[r] = d as f64 * k + (fg - fgbar) / w;
    }
}

/// Accumulators of one row in the small-`d` kernel (passed by value so that they
/// stay in registers).
#[derive(Clone, Copy)]
struct SmallAcc<const D: usize> {
    w: V,
    m: [V; D],
    g: [V; D],
    fg: V,
}

impl<const D: usize> SmallAcc<D> {
    const ZERO: Self = Self {
        w: [0.0; LANES],
        m: [[0.0; LANES]; D],
        g: [[0.0; LANES]; D],
        fg: [0.0; LANES],
    };
}

/// Pass two of the small-`d` kernel over the `LANES` points starting at `k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn small_chunk<const D: usize, const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    xr: &[f64; D],
    s2: f64,
    c: f64,
    inv_pi_ref: f64,
    ys: &[&[f64]; D],
    pi: &[f64],
    k: usize,
    valid: usize,
    mut acc: SmallAcc<D>,
) -> SmallAcc<D> {
    let d2 = d2_small::<D>(xr, ys, k);
    let t = plus(s2, &d2);
    let (q, w) = chunk_weights::<W, R>(p, &t, c, &pi[k..k + LANES], inv_pi_ref, valid);
    for l in 0..LANES {
        acc.w[l] += w[l];
    }
    for j in 0..D {
        let y = &ys[j][k..k + LANES];
        for l in 0..LANES {
            acc.m[j][l] += w[l] * y[l];
        }
    }
    if DV {
        let mut wq = [0.0; LANES];
        for l in 0..LANES {
            wq[l] = w[l] * q[l];
            acc.fg[l] += wq[l] * d2[l];
        }
        for j in 0..D {
            let y = &ys[j][k..k + LANES];
            for l in 0..LANES {
                acc.g[j][l] += wq[l] * (xr[j] - y[l]);
            }
        }
    }
    acc
}

/// The vectorised kernel for `d <= 4`: all of a row's sums stay in registers.
#[inline(always)]
fn power_small<const D: usize, const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    mut rows: Rows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let ys: [&[f64]; D] = std::array::from_fn(|j| &soa.coords[j * stride..(j + 1) * stride]);
    let m_full = m / LANES * LANES;
    let tile = (TILE_BYTES / (8 * D)) / LANES * LANES;
    let mut xs = [[0.0; D]; ROWS];
    let mut s2 = [0.0; ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut cref = [0.0; ROWS];
    let mut inv_pi_ref = [1.0; ROWS];
    let mut pi_ref = [0.0; ROWS];
    let mut accs = [SmallAcc::<D>::ZERO; ROWS];
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        for b in 0..nb {
            let r = r0 + b;
            xs[b].copy_from_slice(&rows.x[r * D..(r + 1) * D]);
            s2[b] = rows.s[r] * rows.s[r];
            best[b] = [f64::INFINITY; LANES];
            ib[b] = [0; LANES];
            accs[b] = SmallAcc::ZERO;
        }
        // the reference of every row: s^2 when that is safe, else pass 1
        let mut skip = [false; ROWS];
        for b in 0..nb {
            let t = plus(s2[b], &d2_small::<D>(&xs[b], &ys, 0));
            skip[b] = reference_is_level(p, s2[b], t[0]);
        }
        // pass 1: the nearest data point of the other rows (smallest t = s^2 + d2)
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                if skip[b] {
                    continue;
                }
                let (mut bb, mut ii) = (best[b], ib[b]);
                for k in (t0..t1).step_by(LANES) {
                    let t = plus(s2[b], &d2_small::<D>(&xs[b], &ys, k));
                    lane_min::<W>(&t, k, LANES, &mut bb, &mut ii);
                }
                best[b] = bb;
                ib[b] = ii;
            }
        }
        for b in 0..nb {
            if skip[b] {
                (cref[b], pi_ref[b], inv_pi_ref[b]) = (s2[b], soa.pi[0], 1.0 / soa.pi[0]);
                continue;
            }
            if m_full < m {
                let t = plus(s2[b], &d2_small::<D>(&xs[b], &ys, m_full));
                lane_min::<W>(&t, m_full, m - m_full, &mut best[b], &mut ib[b]);
            }
            let (c, i) = lane_argmin(&best[b], &ib[b]);
            cref[b] = c;
            pi_ref[b] = soa.pi[if W { i } else { 0 }];
            inv_pi_ref[b] = 1.0 / pi_ref[b];
        }
        // pass 2: the ratio-weighted sums
        macro_rules! run {
            ($b:expr, $k:expr, $valid:expr, $acc:expr) => {{
                let b = $b;
                small_chunk::<D, W, DV, R>(
                    p,
                    &xs[b],
                    s2[b],
                    cref[b],
                    inv_pi_ref[b],
                    &ys,
                    &soa.pi,
                    $k,
                    $valid,
                    $acc,
                )
            }};
        }
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                let mut acc = accs[b];
                for k in (t0..t1).step_by(LANES) {
                    acc = run!(b, k, LANES, acc);
                }
                accs[b] = acc;
            }
        }
        if m_full < m {
            for b in 0..nb {
                accs[b] = run!(b, m_full, m - m_full, accs[b]);
            }
        }
        for b in 0..nb {
            let sums = RowSums {
                w: &accs[b].w,
                m: &accs[b].m,
                g: &accs[b].g,
                fg: &accs[b].fg,
            };
            finish_row(p, D, r0 + b, cref[b], pi_ref[b], sums, &mut rows);
        }
    }
}

/// Accumulators of one row in the general kernel, with the tile's weight buffers.
struct GeneralAcc<'a> {
    w: &'a mut V,
    fg: &'a mut V,
    m: &'a mut [V],
    g: &'a mut [V],
    wbuf: &'a mut [f64],
    wqbuf: &'a mut [f64],
}

/// Pass two of the general kernel over the points `t0..t1` (the last chunk has
/// `valid_last` real points).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn general_tile<const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    xr: &[f64],
    s2: f64,
    c: f64,
    inv_pi_ref: f64,
    soa: &Soa,
    t0: usize,
    t1: usize,
    valid_last: usize,
    acc: GeneralAcc,
) {
    let (coords, stride) = (&soa.coords[..], soa.stride);
    let len = t1 - t0;
    for k in (t0..t1).step_by(LANES) {
        let valid = if k + LANES == t1 { valid_last } else { LANES };
        let d2 = d2_dyn(xr, coords, stride, k);
        let t = plus(s2, &d2);
        let (q, w) = chunk_weights::<W, R>(p, &t, c, &soa.pi[k..k + LANES], inv_pi_ref, valid);
        for l in 0..LANES {
            acc.w[l] += w[l];
        }
        acc.wbuf[k - t0..k - t0 + LANES].copy_from_slice(&w);
        if DV {
            let wq = &mut acc.wqbuf[k - t0..k - t0 + LANES];
            for l in 0..LANES {
                wq[l] = w[l] * q[l];
                acc.fg[l] += wq[l] * d2[l];
            }
        }
    }
    for (j, &xj) in xr.iter().enumerate() {
        let yj = &coords[j * stride + t0..j * stride + t1];
        let m = dot4(&acc.wbuf[..len], yj, |y| y);
        for l in 0..LANES {
            acc.m[j][l] += m[l];
        }
        if DV {
            let g = dot4(&acc.wqbuf[..len], yj, |y| xj - y);
            for l in 0..LANES {
                acc.g[j][l] += g[l];
            }
        }
    }
}

/// Lane sums `sum_i w_i map(y_i)` over a tile (length a multiple of [`LANES`]) with
/// four independent accumulators (they break the chain of dependent additions),
/// combined in a fixed order.
#[inline(always)]
fn dot4(w: &[f64], y: &[f64], map: impl Fn(f64) -> f64) -> V {
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

/// The vectorised kernel for any `d`: the weights of a tile go to a buffer, then
/// each coordinate's weighted sums run over it.
#[inline(always)]
fn power_general<const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    d: usize,
    mut rows: Rows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let coords = &soa.coords[..];
    let m_full = m / LANES * LANES;
    let tile = ((4 * TILE_BYTES / (8 * d)) / LANES * LANES).max(LANES);
    let mut s2 = [0.0; ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut cref = [0.0; ROWS];
    let mut inv_pi_ref = [1.0; ROWS];
    let mut pi_ref = [0.0; ROWS];
    let mut aw = [[0.0; LANES]; ROWS];
    let mut afg = [[0.0; LANES]; ROWS];
    let mut am = vec![[0.0; LANES]; ROWS * d];
    let mut ag = vec![[0.0; LANES]; if DV { ROWS * d } else { 0 }];
    let mut wbuf = vec![0.0; tile];
    let mut wqbuf = vec![0.0; tile];
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        let xb = &rows.x[r0 * d..(r0 + nb) * d];
        for b in 0..nb {
            let sr = rows.s[r0 + b];
            s2[b] = sr * sr;
            best[b] = [f64::INFINITY; LANES];
            ib[b] = [0; LANES];
            aw[b] = [0.0; LANES];
            afg[b] = [0.0; LANES];
        }
        am.fill([0.0; LANES]);
        ag.fill([0.0; LANES]);
        // the reference of every row: s^2 when that is safe, else pass 1
        let mut skip = [false; ROWS];
        for b in 0..nb {
            let t = plus(s2[b], &d2_dyn(&xb[b * d..(b + 1) * d], coords, stride, 0));
            skip[b] = reference_is_level(p, s2[b], t[0]);
        }
        // pass 1: the nearest data point of the other rows
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                if skip[b] {
                    continue;
                }
                let xr = &xb[b * d..(b + 1) * d];
                let (mut bb, mut ii) = (best[b], ib[b]);
                for k in (t0..t1).step_by(LANES) {
                    let t = plus(s2[b], &d2_dyn(xr, coords, stride, k));
                    lane_min::<W>(&t, k, LANES, &mut bb, &mut ii);
                }
                best[b] = bb;
                ib[b] = ii;
            }
        }
        for b in 0..nb {
            if skip[b] {
                (cref[b], pi_ref[b], inv_pi_ref[b]) = (s2[b], soa.pi[0], 1.0 / soa.pi[0]);
                continue;
            }
            if m_full < m {
                let xr = &xb[b * d..(b + 1) * d];
                let t = plus(s2[b], &d2_dyn(xr, coords, stride, m_full));
                lane_min::<W>(&t, m_full, m - m_full, &mut best[b], &mut ib[b]);
            }
            let (c, i) = lane_argmin(&best[b], &ib[b]);
            cref[b] = c;
            pi_ref[b] = soa.pi[if W { i } else { 0 }];
            inv_pi_ref[b] = 1.0 / pi_ref[b];
        }
        // pass 2
        macro_rules! tile_sums {
            ($b:expr, $t0:expr, $t1:expr, $valid_last:expr) => {{
                let b = $b;
                let acc = GeneralAcc {
                    w: &mut aw[b],
                    fg: &mut afg[b],
                    m: &mut am[b * d..(b + 1) * d],
                    g: if DV {
                        &mut ag[b * d..(b + 1) * d]
                    } else {
                        &mut []
                    },
                    wbuf: &mut wbuf,
                    wqbuf: &mut wqbuf,
                };
                let xr = &xb[b * d..(b + 1) * d];
                general_tile::<W, DV, R>(
                    p,
                    xr,
                    s2[b],
                    cref[b],
                    inv_pi_ref[b],
                    soa,
                    $t0,
                    $t1,
                    $valid_last,
                    acc,
                );
            }};
        }
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                tile_sums!(b, t0, t1, LANES);
            }
        }
        if m_full < m {
            for b in 0..nb {
                tile_sums!(b, m_full, m_full + LANES, m - m_full);
            }
        }
        for b in 0..nb {
            let sums = RowSums {
                w: &aw[b],
                m: &am[b * d..(b + 1) * d],
                g: if DV { &ag[b * d..(b + 1) * d] } else { &[] },
                fg: &afg[b],
            };
            finish_row(p, d, r0 + b, cref[b], pi_ref[b], sums, &mut rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng as _;
    use rand_distr::StandardNormal;

    struct Eval {
        f: Vec<f64>,
        lp: Vec<f64>,
        div: Vec<f64>,
    }

    /// `mode`: 0 the dispatched path, 1 the scalar reference path, 2 the portable
    /// vectorised path (what CPUs without AVX-512 run).
    fn run(kernel: &Noise, src: &Source, s: &[f64], x: &[f64], mode: u8) -> Eval {
        let (n, d) = (s.len(), src.dim());
        let mut e = Eval {
            f: vec![0.0; n * d],
            lp: vec![0.0; n],
            div: vec![0.0; n],
        };
        let out = Out {
            f: &mut e.f,
            log_p: Some(&mut e.lp),
            div: Some(&mut e.div),
        };
        match mode {
            0 => eval_points(kernel, Schedule::Ray, src, s, x, out),
            1 => {
                let ratio = |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref);
                eval_points_with(kernel, ratio, Schedule::Ray, src, s, x, out);
            }
            _ => {
                let n2 = fast_power_exponent(kernel, Schedule::Ray).unwrap();
                let p = HalfPow {
                    half: n2 / 2,
                    odd: n2 % 2 == 1,
                };
                let rows = Rows {
                    s,
                    x,
                    f: out.f,
                    log_p: out.log_p,
                    div: out.div,
                    log_norm: kernel.log_norm() + src.soa().ln_pi_max,
                };
                power_rows::<false>(p, src.soa(), src.means(), d, rows);
            }
        }
        e
    }

    fn kernel_exponent(k: &Noise) -> f64 {
        match k.kind() {
            NoiseKind::PowerLaw { exponent } => exponent,
            _ => unreachable!(),
        }
    }

    /// What differs between CPUs: the dispatched path (on a CPU with AVX-512 it takes
    /// `1/sqrt(t)` from the 14-bit estimate refined by two Newton steps with fused
    /// multiply-adds) against the portable path (correctly rounded division and square
    /// root, what a CPU without AVX-512 runs), for `d = 2, 16, 64`, PFGM++ with `D`
    /// from 1 to 2048, levels from 1e-3 to 1e3 and rows at 0 to 10 `s` from the data.
    /// Errors are measured on the scale of the terms that cancel: `s |df| / (|x| + |y|)`
    /// for the velocity `f = (x - m)/s` (so, the relative error of the weighted mean
    /// `m`), `|d ln p| / max(1, |ln p|)`, `s |d div| / (d + 4e)`. Measured on an
    /// AVX-512 machine (2026-11, printed by the test): at most 2.2e-14, 6.8e-14 and
    /// 7.0e-15 in that order, growing with the exponent `e = (d + D)/2` (the weights
    /// are `q^e`, so a relative error of one ulp in `q` becomes `e` ulp in a weight).
    /// Counted in ulp of a velocity component itself the difference reaches 3.3e4 ulp
    /// where `x - m` cancels. Asserted bounds: 1e-13, 3e-13 and 3e-14. On a CPU
    /// without AVX-512 the dispatched path is the portable one and they agree exactly.
    #[test]
    fn dispatched_and_portable_paths_agree_to_a_stated_bound() {
        let mut rng = crate::rng::seeded(29);
        let (mut ef, mut elp, mut ediv) = (0.0f64, 0.0f64, 0.0f64);
        for d in [2usize, 16, 64] {
            let m = 200;
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let src = Source::points(data.view(), None).unwrap();
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for aug in [1.0, 8.0, 64.0, 512.0, 2048.0] {
                let kernel = Noise::pfgmpp(d, aug).unwrap();
                let e = kernel_exponent(&kernel);
                let n = 64;
                let s: Vec<f64> = (0..n)
                    .map(|i| 1e-3 * 1e6f64.powf(i as f64 / (n - 1) as f64))
                    .collect();
                let mut x = vec![0.0; n * d];
                for r in 0..n {
                    let y = &data.as_slice().unwrap()[(r % m) * d..(r % m + 1) * d];
                    let far = 10.0 * (r % 5) as f64 / 4.0;
                    for j in 0..d {
                        let z: f64 = rng.sample(StandardNormal);
                        x[r * d + j] = y[j] + far * s[r] * z / (d as f64).sqrt();
                    }
                }
                let a = run(&kernel, &src, &s, &x, 0);
                let c = run(&kernel, &src, &s, &x, 2);
                let (mut cf, mut clp, mut cdiv, mut ulp) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
                for r in 0..n {
                    let xmax = x[r * d..(r + 1) * d]
                        .iter()
                        .fold(0.0f64, |a, v| a.max(v.abs()));
                    for j in 0..d {
                        let (u, v) = (a.f[r * d + j], c.f[r * d + j]);
                        cf = cf.max((u - v).abs() * s[r] / (xmax + ymax));
                        ulp = ulp.max((u - v).abs() / (v.abs() * f64::EPSILON));
                    }
                    let (u, v) = (a.lp[r], c.lp[r]);
                    clp = clp.max((u - v).abs() / v.abs().max(1.0));
                    let (u, v) = (a.div[r], c.div[r]);
                    cdiv = cdiv.max((u - v).abs() * s[r] / (d as f64 + 4.0 * e));
                }
                println!(
                    "d = {d}, D = {aug}: f {cf:.1e} ({ulp:.0} ulp), ln p {clp:.1e}, div {cdiv:.1e}"
                );
                (ef, elp, ediv) = (ef.max(cf), elp.max(clp), ediv.max(cdiv));
            }
        }
        println!("dispatched vs portable: velocity {ef:.2e}, ln p {elp:.2e}, div {ediv:.2e}");
        assert!(ef <= 1e-13, "velocity {ef:e}");
        assert!(elp <= 3e-13, "ln p {elp:e}");
        assert!(ediv <= 3e-14, "divergence {ediv:e}");
    }

    /// The vectorised power-law path agrees with the scalar reference path to rounding
    /// (1e-12 of the scale `(|x| + |y|)/s` of the terms that cancel in a velocity,
    /// 1e-11 of `(d + 4e)/s` in a divergence, relative 1e-12 on `ln p`) for
    /// every specialised dimension and the general one, odd and even `2e`, weighted
    /// and uniform sources, `M` not a multiple of the lane count, and levels from
    /// 1e-3 to 40; a velocity alone (no `ln p`, no divergence) has the same bits as
    /// with them.
    #[test]
    fn vectorised_power_path_matches_the_scalar_path() {
        let mut rng = crate::rng::seeded(11);
        for d in [1usize, 2, 3, 4, 5, 16] {
            for m in [1usize, 7, 8, 13, 301] {
                let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
                let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.5..2.0)).collect();
                for weighted in [false, true] {
                    let w = weighted.then_some(&wts[..]);
                    let src = Source::points(data.view(), w).unwrap();
                    // D = 200: high exponents make far rows take the two-pass reference
                    for aug in [1.0, 2.0, 5.0, 200.0] {
                        let kernel = Noise::pfgmpp(d, aug).unwrap();
                        let n = 45;
                        let s: Vec<f64> = (0..n)
                            .map(|i| 1e-3 * 40_000f64.powf(i as f64 / (n - 1) as f64))
                            .collect();
                        let mut x = vec![0.0; n * d];
                        for (i, v) in x.iter_mut().enumerate() {
                            let z: f64 = rng.sample(StandardNormal);
                            *v = z * (1.0 + s[i / d]);
                        }
                        // one row exactly on a data point
                        x[..d].copy_from_slice(&data.as_slice().unwrap()[..d]);
                        let a = run(&kernel, &src, &s, &x, 0);
                        let b = run(&kernel, &src, &s, &x, 1);
                        let c = run(&kernel, &src, &s, &x, 2);
                        let ctx = format!("d={d} m={m} weighted={weighted} D={aug}");
                        // tolerances on the scale of the terms that cancel:
                        // |x| + |y| over s for f, (d + 4e)/s for div f
                        let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                        let e = kernel_exponent(&kernel);
                        for r in 0..n {
                            let xmax = x[r * d..(r + 1) * d]
                                .iter()
                                .fold(0.0f64, |a, v| a.max(v.abs()));
                            let fs = (xmax + ymax) / s[r];
                            for j in 0..d {
                                let (u, v) = (a.f[r * d + j], b.f[r * d + j]);
                                assert!((u - v).abs() <= 1e-12 * fs, "{ctx} row {r}: f {u} vs {v}");
                            }
                            let ds = (d as f64 + 4.0 * e) / s[r];
                            let (u, v) = (a.div[r], b.div[r]);
                            assert!((u - v).abs() <= 1e-11 * ds, "{ctx} row {r}: div {u} vs {v}");
                            let (u, v) = (a.lp[r], b.lp[r]);
                            assert!(
                                (u - v).abs() <= 1e-12 * v.abs().max(1.0),
                                "{ctx} row {r}: ln p {u} vs {v}"
                            );
                            for j in 0..d {
                                let (u, v) = (c.f[r * d + j], b.f[r * d + j]);
                                assert!(
                                    (u - v).abs() <= 1e-12 * fs,
                                    "{ctx} row {r}: portable f {u} vs {v}"
                                );
                            }
                            let (u, v) = (c.div[r], b.div[r]);
                            assert!(
                                (u - v).abs() <= 1e-11 * ds,
                                "{ctx} row {r}: portable div {u} vs {v}"
                            );
                        }
                        let mut f = vec![0.0; n * d];
                        let out = Out {
                            f: &mut f,
                            log_p: None,
                            div: None,
                        };
                        eval_points(&kernel, Schedule::Ray, &src, &s, &x, out);
                        assert!(f.iter().zip(&a.f).all(|(u, v)| u.to_bits() == v.to_bits()));
                    }
                }
            }
        }
    }
}
