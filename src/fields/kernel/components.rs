//! The log-sum-exp path for mixtures with per-component scales.
//!
//! Gaussian and Cauchy sources (every component has its own scale) and the non-radial
//! uniform box law cannot share one reference ratio; their terms are formed in log
//! space and summed with a streaming (online) log-sum-exp that rescales the row's
//! accumulators whenever its running maximum grows.

use super::Out;
use crate::fields::noise::Noise;
use crate::fields::schedule::Schedule;
use crate::fields::source::{Source, SourceKind};

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
