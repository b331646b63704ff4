//! Tiled evaluation of the marginal field: velocity, log-density and divergence for a
//! block of particles against all components of a source.
//!
//! The posterior weights `w_k ∝ pi_k p_s(x | k)` are never formed as a particles x
//! data matrix. Two kernels share the work:
//!
//! * [`eval_points`], the hot loop, for an empirical source (every component has the
//!   same scale `sigma(s)`) and a radially decreasing law. Pass one finds, for each
//!   row, the nearest data point (smallest `|x - alpha y_i|^2`; no transcendental
//!   function). Pass two sums the weights as exact ratios to that reference term,
//!   `(pi_i / pi_ref) nu(u_i) / nu(u_ref)`; for the power-law kernels the ratio is
//!   `((sigma^2 + d2_ref) / (sigma^2 + d2_i))^e`, a power of a number in `(0, 1]`
//!   (`powi` and `sqrt` for half-integer `e`, i.e. PFGM and integer `D`: no `exp` or
//!   `log` per pair; `powf` for other real exponents), and
//!   for the Gaussian kernel it is `exp(-(d2_i - d2_ref) / (2 sigma^2))` with a
//!   non-positive argument. The kernel part of every ratio is at most one, so nothing
//!   overflows, and the reference term contributes exactly one, so the sum never
//!   underflows to zero.
//! * [`eval_components`], for mixtures with per-component scales (Gaussian and Cauchy
//!   sources) and the non-radial uniform box: log-space terms with a streaming
//!   (online) log-sum-exp that rescales the row's accumulators when its maximum grows.
//!
//! Data are visited in tiles of [`TILE`] points and particles in sub-blocks of
//! [`ROWS`] rows, so memory is `O((N + M) d)` plus one tile of accumulators. The
//! arithmetic of a row never depends on the other rows (the determinism contract of
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

use super::noise::{Noise, NoiseKind};
use super::schedule::Schedule;
use super::source::{Source, SourceKind};

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
pub fn eval_points(kernel: &Noise, sch: Schedule, src: &Source, s: &[f64], x: &[f64], out: Out) {
    debug_assert_eq!(src.kind(), SourceKind::Points);
    debug_assert!(kernel.is_radial());
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
            let v = (a * a * c * c + sg * sg).sqrt();
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
