//! How wrong the far-field prior is, and the top level `s_max` that makes it right.
//!
//! For a ray field (`alpha = 1`, `sigma = s`) the exact law at the top level is the
//! mixture `p_{s_max} = sum_i pi_i q_{s_max}(x - y_i)` of the kernel
//! `q_s(x) = s^{-d} nu(x / s)` at the data; the far-field prior replaces it by
//! `q_{s_max}(x - c)`, one kernel at the weighted mean `c`. The ODE's flow map is a
//! bijection, so the total variation (TV) distance between the prior and
//! `p_{s_max}` is carried unchanged down to `s_min`: it is exactly the error the
//! prior adds to the samples, whatever the solver does. [`prior_error_bound`] bounds
//! that distance in closed form (derivation in `docs/MATHEMATICS.md`, section 5.3):
//! with `a_i = y_i - c`,
//!
//! ```text
//! TV <= min( 1, J1 M1 / (2 s), J2 M2 / (4 s^2) ) + S / s,
//! M1 = sum_i pi_i |a_i|,  M2 = sum_i pi_i |a_i|^2,
//! ```
//!
//! where `J1 = integral |d/de nu|` and `J2 >= integral |d^2/de^2 nu|` (any unit
//! direction `e`) depend only on the law: `J1 = 2 Gamma((D+1)/2) / (sqrt(pi)
//! Gamma(D/2))` and `J2 = 2 D` for PFGM++ (PFGM: `D = 1`), `J1 = sqrt(2/pi)` and
//! `J2 = 4 phi(1)` for the Gaussian. The first form is the mean-value theorem for a
//! translation; the second uses that `c` is the mean of the data, so the first-order
//! terms of the translations cancel. `S` is zero except for sources with their own
//! scales (Gaussian components enter `M1` and `M2` through their spread; Cauchy
//! components add a scale term). Radial profile laws are singular at the origin for
//! `d >= 2`; they get a first-order bound with the singular core cut out.
//! [`default_s_max`] is the smallest level where the bound meets a tolerance, but
//! never below PFGM's published 40.

use super::noise::NoiseKind;
use super::schedule::Schedule;
use super::source::SourceKind;
use super::MarginalField;
use crate::{Error, Result};
use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

/// The TV tolerance of [`crate::sampling::SampleOptions::new`]'s default `s_max`.
pub const DEFAULT_PRIOR_TV: f64 = 0.01;

/// The smallest default `s_max` of a ray field: PFGM's published setting.
pub const PUBLISHED_S_MAX: f64 = 40.0;

/// A bound of the far-field prior error at `s_max` (a TV distance, at most 1).
/// Zero for the linear path (its prior is exact at `s = 1`) and whenever the source
/// is a single point or component at its mean without a scale.
///
/// # Errors
/// `s_max` not an allowed level of the field.
pub fn prior_error_bound(mf: &MarginalField, s_max: f64) -> Result<f64> {
    mf.check_level(s_max)?;
    if mf.schedule() == Schedule::Linear {
        return Ok(0.0);
    }
    Ok(tv_bound(&Spread::of(mf), s_max))
}

/// The default top level for `mf`: 1 for the linear path; for the ray fields the
/// smallest `s` with `prior_error_bound(mf, s) <= tol`, but at least
/// [`PUBLISHED_S_MAX`] (to within 1e-9 relative; the bound at the returned level is
/// at most `tol`).
///
/// # Errors
/// `tol` not in `(0, 1)`, or no finite level meets it.
pub fn default_s_max(mf: &MarginalField, tol: f64) -> Result<f64> {
    if !(tol > 0.0 && tol < 1.0) {
        return Err(Error::InvalidParameter {
            name: "prior tolerance",
            value: tol,
            reason: "must be in (0, 1)",
        });
    }
    if mf.schedule() == Schedule::Linear {
        return Ok(1.0);
    }
    let sp = Spread::of(mf);
    let mut hi = PUBLISHED_S_MAX;
    if tv_bound(&sp, hi) <= tol {
        return Ok(hi);
    }
    let mut lo = hi;
    while tv_bound(&sp, hi) > tol {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return Err(Error::Invalid(format!(
                "no finite s_max makes the far-field prior error below {tol}"
            )));
        }
    }
    // bisection in ln s; `hi` always meets the tolerance
    while hi / lo > 1.0 + 1e-9 {
        let mid = (lo * hi).sqrt();
        if tv_bound(&sp, mid) <= tol {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// What the bound needs from the field and the source.
struct Spread {
    /// `sum_i pi_i |a_i|` (or its bound for Gaussian components).
    m1: f64,
    /// `sum_i pi_i |a_i|^2`.
    m2: f64,
    /// Cauchy components: the scales `(pi_k, c_k)`, and `d`.
    cauchy: Vec<(f64, f64)>,
    d: f64,
    law: Law,
}

/// The law's constants.
enum Law {
    /// `J1` and `J2` (power laws and the Gaussian).
    Smooth { j1: f64, j2: f64 },
    /// A radial profile with `g' <= 1` and the given `g(1)` (tanh, exp).
    Radial { g1: f64 },
}

/// `E|omega_1|` for a uniform direction `omega` in `R^d`.
fn mean_abs_direction(d: f64) -> f64 {
    (ln_gamma(0.5 * d) - ln_gamma(0.5 * (d + 1.0))).exp() / PI.sqrt()
}

impl Spread {
    fn of(mf: &MarginalField) -> Self {
        let src = mf.source();
        let d = mf.dim();
        let c = src.center();
        let (mut m1, mut m2) = (0.0, 0.0);
        let mut cauchy = Vec::new();
        for (k, &pi) in src.weights().iter().enumerate() {
            let a2: f64 = src
                .mean_of(k)
                .iter()
                .zip(&c)
                .map(|(y, cj)| (y - cj) * (y - cj))
                .sum();
            let ck = src.scales()[k];
            match src.kind() {
                SourceKind::Points => {
                    m1 += pi * a2.sqrt();
                    m2 += pi * a2;
                }
                SourceKind::Gaussian => {
                    // component k is the kernel shifted by a_k + c_k Z, Z ~ N(0, I)
                    let e2 = a2 + d as f64 * ck * ck;
                    m1 += pi * e2.sqrt();
                    m2 += pi * e2;
                }
                SourceKind::Cauchy => {
                    m1 += pi * a2.sqrt();
                    m2 += pi * a2;
                    cauchy.push((pi, ck));
                }
            }
        }
        let law = match mf.law().kind() {
            NoiseKind::PowerLaw { exponent } => {
                let aug = 2.0 * exponent - d as f64;
                let j1 =
                    2.0 * (ln_gamma(0.5 * (aug + 1.0)) - ln_gamma(0.5 * aug)).exp() / PI.sqrt();
                Law::Smooth { j1, j2: 2.0 * aug }
            }
            NoiseKind::Gaussian => Law::Smooth {
                j1: (2.0 / PI).sqrt(),
                j2: 4.0 * (-0.5f64).exp() / (2.0 * PI).sqrt(),
            },
            NoiseKind::Radial(profile) => Law::Radial {
                g1: profile.cdf(1.0),
            },
            // only the linear path uses the box, and its prior is exact
            NoiseKind::UniformBox { .. } => Law::Smooth { j1: 0.0, j2: 0.0 },
        };
        Self {
            m1,
            m2,
            cauchy,
            d: d as f64,
            law,
        }
    }
}

/// The bound of the module docs at level `s`.
fn tv_bound(sp: &Spread, s: f64) -> f64 {
    let shift = match sp.law {
        Law::Smooth { j1, j2 } => {
            let first = j1 * sp.m1 / (2.0 * s);
            let second = j2 * sp.m2 / (4.0 * s * s);
            first.min(second)
        }
        Law::Radial { g1 } => radial_shift_bound(sp.d, g1, sp.m1 / s),
    };
    // Cauchy components: TV(P_{s + c}, P_s) <= (d/2) ln(1 + c/s)
    let scale: f64 = sp
        .cauchy
        .iter()
        .map(|&(pi, ck)| pi * 0.5 * sp.d * (ck / s).ln_1p())
        .sum();
    (shift.min(1.0) + scale).min(1.0)
}

/// TV of a translation by `a` (in kernel widths, averaged over the data: the bound is
/// concave in `a`) of a radial profile law with `g' <= 1`. In `d = 1` the law
/// `g'(|u|)/2` has total variation `g'(0) = 1`, so the bound is `a / 2`. For `d >= 2`
/// the density is singular at the origin; cutting out the ball of radius `eps` costs
/// at most `P(R < eps) <= eps` and leaves a law whose directional total variation is
/// at most `E|omega_1| (2 + (d - 1)(ln(1/eps) + 1 - g(1)))`; `eps` is then chosen
/// optimally, `eps = a E|omega_1| (d - 1) / 2`.
fn radial_shift_bound(d: f64, g1: f64, a: f64) -> f64 {
    if d < 1.5 {
        return 0.5 * a;
    }
    let w = mean_abs_direction(d);
    let eps = 0.5 * a * w * (d - 1.0);
    if eps >= 1.0 {
        return 1.0;
    }
    if eps == 0.0 {
        return 0.0;
    }
    eps + 0.5 * a * w * (2.0 + (d - 1.0) * (-eps.ln() + 1.0 - g1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `E|omega_1|` against `1/2 integral |cos t| dt / pi = 2/pi` (d = 2) and `1/2`
    /// (d = 3, `omega_1` uniform on [-1, 1]).
    #[test]
    fn mean_abs_direction_closed_forms() {
        assert!((mean_abs_direction(2.0) - 2.0 / PI).abs() < 1e-14);
        assert!((mean_abs_direction(3.0) - 0.5).abs() < 1e-14);
        assert!((mean_abs_direction(1.0) - 1.0).abs() < 1e-14);
    }
}
