//! Rows at extreme levels: the marginal field of an empirical source evaluated in an
//! order that neither overflows nor underflows, for levels `s` down to the smallest
//! normal double.
//!
//! The fast kernels work with `t_i = s^2 + |x - alpha y_i|^2` and the velocity
//! `(x - m)/s`: below `s` of about `1e-154` the square `s^2` underflows, the
//! divergence's factor `1/s^3` overflows below about `1e-103`, and once `s` is far
//! below the size of the coordinates, `x - m` has lost the digits that `1/s` then
//! magnifies. [`is_tiny`] picks such rows (`s < 1e-90`, or `s < 1e-8` times the
//! largest coordinate of the row or of the data) and [`eval_row`] computes them:
//!
//! * every difference `e_i = x - alpha y_i` is formed first (for the linear path as
//!   `(x - y_i) + s y_i`) and divided by a row scale `lambda = max(sigma, min_i
//!   |e_i|_inf)` before it is squared, so `T_i = (sigma/lambda)^2 + |e_i/lambda|^2` lies
//!   in `[1, 1 + d]` for the nearest point and only grows (to infinity, weight zero)
//!   for the others;
//! * the kernel enters through `ln nu(u_i)` as a function of `T_i` (power laws:
//!   `-e ln T_i` plus a row constant `-2e ln(lambda/sigma)`), weights through a
//!   log-sum-exp;
//! * the velocity is `alpha' m + sigma' (lambda/sigma) sum_i w_i (e_i/lambda) / W`
//!   (never `x - m`), and the divergence is formed as `sigma div f = d sigma' +
//!   sum_i w_i f_i . (g_i - gbar) sigma / W` (a covariance: no difference of large
//!   terms, and `1/sigma` applied last).
//!
//! It costs one logarithm or exponential per pair and is not vectorised; only rows
//! that need it take it, so the sampler's hot loop is unchanged.

use super::noise::{Noise, NoiseKind};
use super::schedule::Schedule;
use super::source::Source;

/// Levels below this always take the careful path.
pub const TINY_LEVEL: f64 = 1e-90;

/// Levels below this times the scale of the coordinates take the careful path.
pub const TINY_RELATIVE: f64 = 1e-8;

/// Whether a row at level `s` with coordinates `xr` needs [`eval_row`]; `ymax` is the
/// largest absolute coordinate of the data.
#[inline]
pub fn is_tiny(s: f64, xr: &[f64], ymax: f64) -> bool {
    if s < TINY_LEVEL {
        return true;
    }
    let xmax = xr.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    s < TINY_RELATIVE * xmax.max(ymax)
}

/// The outputs of one row.
pub struct RowOut<'a> {
    /// Velocity, length `d`.
    pub f: &'a mut [f64],
    /// `ln p_s(x)`.
    pub log_p: Option<&'a mut f64>,
    /// `div f_s(x)`.
    pub div: Option<&'a mut f64>,
}

/// The law's log-kernel and score in terms of `T_i` (see the module docs).
#[derive(Clone, Copy)]
enum Law {
    Power { e: f64 },
    Gaussian,
    Radial { p: super::noise::Profile, d: f64 },
}

impl Law {
    fn of(kernel: &Noise) -> Self {
        match kernel.kind() {
            NoiseKind::PowerLaw { exponent } => Law::Power { e: exponent },
            NoiseKind::Gaussian => Law::Gaussian,
            NoiseKind::Radial(p) => Law::Radial {
                p,
                d: kernel.dim() as f64,
            },
            NoiseKind::UniformBox { .. } => unreachable!("the box is not radial"),
        }
    }
}

/// Velocity, `ln p` and divergence of one row (empirical source, radial kernel).
#[allow(clippy::float_cmp)] // exact ties with the nearest point
pub fn eval_row(kernel: &Noise, sch: Schedule, src: &Source, s: f64, xr: &[f64], out: RowOut) {
    let d = src.dim();
    let ys = src.means();
    let pis = src.weights();
    let law = Law::of(kernel);
    let beta = sch.one_minus_alpha(s);
    let (sg, dsg, da) = (sch.sigma(s), sch.dsigma(s), sch.dalpha(s));
    let diff = |j: usize, y: f64| (xr[j] - y) + beta * y;
    // the row scale: sigma, or the L-infinity distance of the nearest point
    let mut dmin = f64::INFINITY;
    for y in ys.chunks_exact(d) {
        let mut dm = 0.0f64;
        for (j, &yj) in y.iter().enumerate() {
            dm = dm.max(diff(j, yj).abs());
        }
        dmin = dmin.min(dm);
    }
    let lam = sg.max(dmin);
    let rs = sg / lam; // sigma / lambda in (0, 1]
    let rs2 = rs * rs; // may underflow: sigma is then negligible against the distances
    let ls = lam / sg; // lambda / sigma >= 1 (may overflow for absurd ratios)
    let t: Vec<f64> = ys
        .chunks_exact(d)
        .map(|y| {
            let mut acc = rs2;
            for (j, &yj) in y.iter().enumerate() {
                let e = diff(j, yj) / lam;
                acc += e * e;
            }
            acc
        })
        .collect();
    let tmin = t.iter().fold(f64::INFINITY, |a, &v| a.min(v));
    // log-kernel per point, up to the row constant `c0`
    let (ell, c0): (Vec<f64>, f64) = match law {
        Law::Power { e } => (
            t.iter().map(|&ti| -e * ti.ln()).collect(),
            -2.0 * e
                * if ls.is_finite() {
                    ls.ln()
                } else {
                    lam.ln() - sg.ln()
                },
        ),
        Law::Gaussian => (
            t.iter()
                .map(|&ti| {
                    if ti == tmin {
                        0.0
                    } else {
                        -0.5 * ((ti - tmin) * ls) * ls
                    }
                })
                .collect(),
            -0.5 * ((tmin - rs2) * ls) * ls,
        ),
        Law::Radial { p, d } => (
            t.iter()
                .map(|&ti| {
                    let rho = (ti - rs2).max(0.0).sqrt() * ls;
                    if d > 1.5 {
                        p.ln_dcdf(rho) - (d - 1.0) * rho.ln()
                    } else {
                        p.ln_dcdf(rho)
                    }
                })
                .collect(),
            0.0,
        ),
    };
    let lw: Vec<f64> = ell.iter().zip(pis).map(|(l, p)| l + p.ln()).collect();
    let mx = lw.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v));
    let weight = |i: usize| -> f64 {
        if mx == f64::INFINITY {
            // a pole of the kernel (radial profiles at the data point itself)
            f64::from(u8::from(lw[i] == f64::INFINITY))
        } else if mx == f64::NEG_INFINITY {
            // every kernel value below the double range: the nearest point's limit
            f64::from(u8::from(t[i] == tmin))
        } else {
            (lw[i] - mx).exp()
        }
    };
    // score coefficient: 2 h'(|u_i|^2) u_i = gamma_i e_i / lambda
    let gamma = |i: usize| -> f64 {
        match law {
            Law::Power { e } => -2.0 * e * rs / t[i],
            Law::Gaussian => -ls,
            Law::Radial { p, d } => {
                let r = (t[i] - rs2).max(0.0).sqrt();
                let rho = r * ls;
                if rho > 0.0 {
                    (p.dln_dcdf(rho) - (d - 1.0) / rho) / r
                } else {
                    0.0
                }
            }
        }
    };
    let mut w_sum = 0.0;
    let mut ubar = vec![0.0; d];
    let mut ybar = vec![0.0; d];
    let mut gbar = vec![0.0; d];
    let want_div = out.div.is_some();
    for (i, y) in ys.chunks_exact(d).enumerate() {
        let w = weight(i);
        if w == 0.0 {
            continue;
        }
        w_sum += w;
        let g = if want_div { gamma(i) } else { 0.0 };
        for (j, &yj) in y.iter().enumerate() {
            let ev = diff(j, yj) / lam;
            ubar[j] += w * ev;
            ybar[j] += w * yj;
            if want_div {
                gbar[j] += w * g * ev;
            }
        }
    }
    for j in 0..d {
        ubar[j] /= w_sum;
        ybar[j] /= w_sum;
        gbar[j] /= w_sum;
        out.f[j] = da * ybar[j] + dsg * (ls * ubar[j]);
    }
    if let Some(lp) = out.log_p {
        *lp = kernel.log_norm() - d as f64 * sg.ln() + c0 + mx + w_sum.ln();
    }
    if let Some(dv) = out.div {
        // sigma div f = d sigma' + sum_i w_i f_i . (sigma g_i - sigma gbar) / W with
        // f_i = alpha' y_i + sigma' (lambda/sigma) e_i/lambda and
        // sigma g_i = gamma_i e_i/lambda
        let mut cov = 0.0;
        for (i, y) in ys.chunks_exact(d).enumerate() {
            let w = weight(i);
            if w == 0.0 {
                continue;
            }
            let g = gamma(i);
            let mut dot = 0.0;
            for (j, &yj) in y.iter().enumerate() {
                let ev = diff(j, yj) / lam;
                let fi = da * yj + dsg * (ls * ev);
                dot += fi * (g * ev - gbar[j]);
            }
            cov += w * dot;
        }
        *dv = (d as f64 * dsg + cov / w_sum) / sg;
    }
}
