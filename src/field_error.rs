//! How far a field is from the exact field of its training set, level by level.
//!
//! A learned field is trained to reproduce the exact marginal field `f_s` of its
//! training set (or an unbiased noisy version of it), which is known in closed form
//! ([`MarginalField`]). So the exact field is the measuring stick: at each level `s`
//! draw points `x ~ p_s` exactly (the marginal of the training set at that level, where
//! the sampler actually meets the field), evaluate both fields through the common
//! [`Field`] interface and report the relative root-mean-square error
//!
//! `e_f(s) = sqrt( sum_i |f(x_i) - f_exact(x_i)|^2 / sum_i |f_exact(x_i)|^2 )`
//!
//! and the error of the posterior mean `m = x - s f` that the network predicts
//! (`m_exact = x - s f_exact`; for the linear path too, since its velocity is
//! `(x - m)/s` as well): its RMS in data units, and that RMS divided by the RMS radius
//! of the training set, `r = sqrt(sum_k w_k |y_k - y_bar|^2 / sum_k w_k)` (`e_m(s)`;
//! a ratio to `|m_exact|` itself would depend on where the origin is, and at large `s`
//! `m_exact` is the data mean). A field that is the exact field scores 0, a velocity
//! scaled by `1 + eps` scores `e_f = |eps|` and a posterior mean shifted by a constant
//! `c` scores an RMS error `|c|` and `e_m = |c| / r`, whatever the draws (the tests
//! check these closed forms).
//!
//! At large `s` every field points at the data mean and errors are small; at small
//! `s` the exact field points at the nearest training point (it memorises), so a
//! network that generalises departs from it there: the error against the level shows
//! where the learned field stops copying.

use crate::fields::{Field, MarginalField, BATCH};
use crate::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;

/// The error at one level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelError {
    /// The level `s`.
    pub s: f64,
    /// Relative RMS error of the velocity, `e_f(s)`.
    pub velocity: f64,
    /// RMS error of the posterior mean over the RMS radius of the training set,
    /// `e_m(s)`.
    pub mean: f64,
    /// Absolute RMS error of the posterior mean, `sqrt(mean_i |m - m_exact|^2)`.
    pub mean_abs: f64,
    /// RMS of the exact posterior mean's displacement `|m_exact - x| = s |f_exact|`
    /// (the scale `mean_abs` is to be read against).
    pub displacement: f64,
}

/// The error of a field against the exact field over levels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// Points drawn from `p_s` per level.
    pub n: usize,
    /// Seed of the draws (level `k` uses seed `seed + k`).
    pub seed: u64,
    /// The RMS radius `r` of the training set (the unit of `e_m`).
    pub data_radius: f64,
    /// One row per level, from the largest level down.
    pub levels: Vec<LevelError>,
}

/// `k >= 2` levels from `s_max` down to `s_min` (`0 < s_min < s_max`), equally spaced
/// in `ln s`.
///
/// # Errors
/// `k < 2` or levels that are not `0 < s_min < s_max`, finite.
pub fn log_spaced(s_max: f64, s_min: f64, k: usize) -> Result<Vec<f64>> {
    if k < 2 {
        return Err(Error::InvalidParameter {
            name: "number of levels",
            value: k as f64,
            reason: "needs at least 2 (the two ends)",
        });
    }
    if !(s_min > 0.0 && s_min < s_max && s_max.is_finite()) {
        return Err(Error::Invalid(format!(
            "levels need 0 < s_min < s_max, got s_min = {s_min}, s_max = {s_max}"
        )));
    }
    let (a, b) = (s_max.ln(), s_min.ln());
    Ok((0..k)
        .map(|i| match i {
            0 => s_max,
            i if i == k - 1 => s_min,
            i => (a + (b - a) * i as f64 / (k - 1) as f64).exp(),
        })
        .collect())
}

/// Evaluates `field` at level `s` on the rows `x` (row-major), in parallel over fixed
/// blocks of [`BATCH`] rows (the result does not depend on the thread count).
fn velocities(field: &dyn Field, s: f64, x: &[f64]) -> Vec<f64> {
    let d = field.dim();
    let mut f = vec![0.0; x.len()];
    f.par_chunks_mut(BATCH * d)
        .zip(x.par_chunks(BATCH * d))
        .for_each(|(fb, xb)| field.eval_block(&vec![s; xb.len() / d], xb, fb, None));
    f
}

/// The error of `field` against `exact` at each of `levels`, on `n` exact draws of
/// `p_s` (from `exact`) per level; level `k` draws with seed `seed + k`.
///
/// # Errors
/// Fields of different dimensions or schedules, `n = 0`, an invalid level, or a
/// non-finite velocity of either field (named with its level).
pub fn field_error(
    field: &dyn Field,
    exact: &MarginalField,
    levels: &[f64],
    n: usize,
    seed: u64,
) -> Result<FieldError> {
    let d = exact.dim();
    if field.dim() != d {
        return Err(Error::DimensionMismatch {
            what: "field dimension (against the exact field of the training set)",
            expected: d,
            got: field.dim(),
        });
    }
    if field.schedule() != exact.schedule() {
        return Err(Error::Invalid(format!(
            "the field's schedule ({:?}) differs from the exact field's ({:?})",
            field.schedule(),
            exact.schedule()
        )));
    }
    if n == 0 {
        return Err(Error::Empty {
            what: "draws per level",
        });
    }
    if levels.is_empty() {
        return Err(Error::Empty { what: "levels" });
    }
    let radius = data_radius(exact);
    let mut rows = Vec::with_capacity(levels.len());
    for (k, &s) in levels.iter().enumerate() {
        field.check_level(s)?;
        let x = exact.sample_marginal(s, n, seed.wrapping_add(k as u64))?;
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let fl = velocities(field, s, xs);
        let fe = velocities(exact, s, xs);
        if let Some(i) = fl.iter().chain(&fe).position(|v| !v.is_finite()) {
            let which = if i < fl.len() { "field" } else { "exact field" };
            return Err(Error::Invalid(format!(
                "the {which} is not finite at s = {s} (row {})",
                (i % fl.len()) / d
            )));
        }
        let (mut df2, mut fe2) = (0.0, 0.0);
        for (a, b) in fl.iter().zip(&fe) {
            let e = a - b;
            df2 += e * e;
            fe2 += b * b;
        }
        // m - m_exact = -s (f - f_exact)
        let dm2 = s * s * df2;
        let ratio = |num: f64, den: f64| {
            if den > 0.0 {
                (num / den).sqrt()
            } else {
                f64::NAN
            }
        };
        rows.push(LevelError {
            s,
            velocity: ratio(df2, fe2),
            mean: (dm2 / n as f64).sqrt() / radius,
            mean_abs: (dm2 / n as f64).sqrt(),
            displacement: (s * s * fe2 / n as f64).sqrt(),
        });
    }
    Ok(FieldError {
        n,
        seed,
        data_radius: radius,
        levels: rows,
    })
}

/// The weighted RMS distance of the source's component means to their mean.
fn data_radius(exact: &MarginalField) -> f64 {
    let src = exact.source();
    let d = src.dim();
    let (w, means) = (src.weights(), src.means());
    let tot: f64 = w.iter().sum();
    let mut bar = vec![0.0; d];
    for (wk, mk) in w.iter().zip(means.chunks_exact(d)) {
        for (b, m) in bar.iter_mut().zip(mk) {
            *b += wk * m / tot;
        }
    }
    let mut v = 0.0;
    for (wk, mk) in w.iter().zip(means.chunks_exact(d)) {
        v += wk
            * mk.iter()
                .zip(&bar)
                .map(|(m, b)| (m - b) * (m - b))
                .sum::<f64>();
    }
    (v / tot).sqrt()
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "field error against the exact field of the training set ({} draws of p_s per level;\n  \
             rel. err f = RMS |f - f_exact| / RMS |f_exact|, rel. err m = RMS |m - m_exact| / {:.4},\n  \
             the RMS radius of the training set):",
            self.n, self.data_radius
        )?;
        writeln!(
            f,
            "  {:>10} {:>12} {:>12} {:>12} {:>14}",
            "s", "rel. err f", "rel. err m", "RMS err m", "RMS |m - x|"
        )?;
        for r in &self.levels {
            writeln!(
                f,
                "  {:>10.4e} {:>12.4} {:>12.4} {:>12.4e} {:>14.4e}",
                r.s, r.velocity, r.mean, r.mean_abs, r.displacement
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_spaced_ends_and_ratio() {
        let l = log_spaced(100.0, 1e-2, 5).unwrap();
        assert_eq!(l.len(), 5);
        assert_eq!((l[0], l[4]), (100.0, 1e-2));
        for w in l.windows(2) {
            assert!((w[0] / w[1] - 10.0).abs() < 1e-12);
        }
        assert!(log_spaced(1.0, 1.0, 3).is_err());
        assert!(log_spaced(1.0, 0.0, 3).is_err());
        assert!(log_spaced(1.0, 0.1, 1).is_err());
    }
}
