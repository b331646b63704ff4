//! The divergence of a field that does not provide one, from velocities alone.
//!
//! Likelihoods integrate `div f_s(x)` along each path. A [`Field`] whose
//! [`Field::divergence`] is [`Divergence::None`] (a closure, a network without
//! automatic differentiation of its trace) gets it from extra velocity evaluations:
//!
//! * **Central finite differences** ([`TraceEstimator::FiniteDifference`]): the exact
//!   trace `sum_j (f_j(x + h_j e_j) - f_j(x - h_j e_j)) / (2 h_j)`, `2d` extra
//!   evaluations per row, deterministic. The step is `h_j = delta (|x_j| + s)` with
//!   `delta = eps^(1/3) ~ 6.06e-6` (`eps` the f64 machine epsilon), which balances the
//!   truncation error `h^2 |d^3 f| / 6` against the rounding error `eps |f| / h`: for a
//!   field that varies on a length scale `l` the relative error of the trace is of
//!   order `delta^2 (L / l)^2 ~ 4e-11 (L / l)^2`, `L = |x_j| + s` (the ray fields vary
//!   on the scale `l ~ s` near the data, so the error stays near `1e-10` relative,
//!   growing only for points far from the data at small `s`).
//!   The step actually used is the representable difference `(x + h) - (x - h)`.
//! * **Hutchinson's estimator** ([`TraceEstimator::Hutchinson`]):
//!   `div f ~ (1/k) sum_p v_p^T J v_p` with `k` Rademacher probes `v_p in {-1, 1}^d`,
//!   each Jacobian-vector product by a central difference along `v_p` (step
//!   `delta (max_j |x_j| + s)`), `2k` extra evaluations per row. It is unbiased (up to
//!   the difference error above) with variance `2 (||A||_F^2 - sum_i A_ii^2) / k`,
//!   `A = (J + J^T) / 2`: exact when the symmetric part of the Jacobian is diagonal.
//!   Inside an ODE the probes are drawn once from the seed and reused for every row
//!   and every evaluation, so the right-hand side stays a smooth deterministic
//!   function (the adaptive solvers need that) and runs are reproducible; the error
//!   of the integrated log-density is then one draw of the estimator's error, not an
//!   average over steps. [`estimate_divergence`] reports the sample variance of the
//!   probe terms divided by `k` for each row.
//!
//! [`TraceEstimator::Auto`] takes the finite-difference trace for `d <= 32` and
//! Hutchinson's estimator with 16 probes (seed 0) above.

use crate::fields::{Divergence, Field};
use crate::rng::stream;
use crate::{Error, Result};
use ndarray::{Array1, ArrayView2};
use rand::Rng as _;
use rayon::prelude::*;

/// The relative finite-difference step `eps^(1/3)`.
pub const FD_DELTA: f64 = 6.055_454_452_393_343e-6;

/// Largest dimension for which [`TraceEstimator::Auto`] takes the finite-difference
/// trace.
pub const AUTO_FD_MAX_DIM: usize = 32;

/// Probes of [`TraceEstimator::Auto`] above [`AUTO_FD_MAX_DIM`].
pub const AUTO_PROBES: usize = 16;

/// How the divergence of a field without one is obtained (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceEstimator {
    /// Finite differences for `d <= 32`, Hutchinson with 16 probes and seed 0 above.
    #[default]
    Auto,
    /// The exact trace by central differences (`2d` evaluations per row).
    FiniteDifference,
    /// Hutchinson's estimator with Rademacher probes (`2 probes` evaluations per row).
    Hutchinson {
        /// Number of probes `k >= 1`.
        probes: usize,
        /// Seed of the probes.
        seed: u64,
    },
}

impl TraceEstimator {
    /// Checks the parameters (`probes >= 1`).
    pub fn validate(&self) -> Result<()> {
        if let TraceEstimator::Hutchinson { probes: 0, .. } = self {
            return Err(Error::InvalidParameter {
                name: "probes",
                value: 0.0,
                reason: "Hutchinson's estimator needs at least one probe",
            });
        }
        Ok(())
    }
}

/// An estimator made concrete for one dimension (probes drawn).
#[derive(Debug, Clone)]
pub(crate) enum Trace {
    Fd,
    Hutchinson { k: usize, probes: Vec<f64> },
}

impl Trace {
    pub(crate) fn new(est: TraceEstimator, d: usize) -> Self {
        match est {
            TraceEstimator::Auto if d <= AUTO_FD_MAX_DIM => Trace::Fd,
            TraceEstimator::Auto => Self::hutchinson(d, AUTO_PROBES, 0),
            TraceEstimator::FiniteDifference => Trace::Fd,
            TraceEstimator::Hutchinson { probes, seed } => Self::hutchinson(d, probes, seed),
        }
    }

    fn hutchinson(d: usize, k: usize, seed: u64) -> Self {
        let mut rng = stream(seed, 0);
        let probes = (0..k * d)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        Trace::Hutchinson { k, probes }
    }

    /// The per-row terms: `d` diagonal entries `J_jj` (finite differences) or `k`
    /// probe terms `v^T J v` (Hutchinson), `terms.len() = n * m`, `m` returned.
    fn terms(&self, field: &dyn Field, s: &[f64], x: &[f64], terms: &mut Vec<f64>) -> usize {
        let d = field.dim();
        let n = s.len();
        let (m, dirs): (usize, Option<&[f64]>) = match self {
            Trace::Fd => (d, None),
            Trace::Hutchinson { k, probes } => (*k, Some(probes)),
        };
        // rows (i, p, sign): x_i + sign h v_p
        let mut xs = vec![0.0; 2 * n * m * d];
        let mut ss = vec![0.0; 2 * n * m];
        let mut steps = vec![0.0; n * m];
        for i in 0..n {
            let xi = &x[i * d..(i + 1) * d];
            let hmax = FD_DELTA * (xi.iter().fold(0.0f64, |a, v| a.max(v.abs())) + s[i]);
            for p in 0..m {
                let r = 2 * (i * m + p);
                ss[r] = s[i];
                ss[r + 1] = s[i];
                let (plus, minus) = xs[r * d..(r + 2) * d].split_at_mut(d);
                plus.copy_from_slice(xi);
                minus.copy_from_slice(xi);
                match dirs {
                    None => {
                        let h = FD_DELTA * (xi[p].abs() + s[i]);
                        plus[p] = xi[p] + h;
                        minus[p] = xi[p] - h;
                        steps[i * m + p] = plus[p] - minus[p];
                    }
                    Some(v) => {
                        let vp = &v[p * d..(p + 1) * d];
                        for j in 0..d {
                            plus[j] = xi[j] + hmax * vp[j];
                            minus[j] = xi[j] - hmax * vp[j];
                        }
                        steps[i * m + p] = 2.0 * hmax;
                    }
                }
            }
        }
        let mut fs = vec![0.0; xs.len()];
        field.eval_block(&ss, &xs, &mut fs, None);
        terms.clear();
        terms.resize(n * m, 0.0);
        for i in 0..n {
            for p in 0..m {
                let r = 2 * (i * m + p);
                let (fp, fm) = fs[r * d..(r + 2) * d].split_at(d);
                let h2 = steps[i * m + p];
                terms[i * m + p] = match dirs {
                    None => (fp[p] - fm[p]) / h2,
                    Some(v) => {
                        let vp = &v[p * d..(p + 1) * d];
                        (0..d).map(|j| vp[j] * (fp[j] - fm[j])).sum::<f64>() / h2
                    }
                };
            }
        }
        m
    }

    /// The divergence estimate of each row into `div` (length `s.len()`).
    pub(crate) fn eval(&self, field: &dyn Field, s: &[f64], x: &[f64], div: &mut [f64]) {
        let mut terms = Vec::new();
        let m = self.terms(field, s, x, &mut terms);
        for (dv, t) in div.iter_mut().zip(terms.chunks_exact(m)) {
            *dv = match self {
                Trace::Fd => t.iter().sum(),
                Trace::Hutchinson { .. } => t.iter().sum::<f64>() / m as f64,
            };
        }
    }
}

/// Result of [`estimate_divergence`].
#[derive(Debug, Clone)]
pub struct DivergenceEstimate {
    /// `div f_s(x)` per row.
    pub div: Array1<f64>,
    /// The estimated variance of each row's value: the sample variance of the probe
    /// terms over `k` for Hutchinson's estimator (NaN for `k = 1`); `None` for the
    /// deterministic finite-difference trace and for a field's own divergence.
    pub variance: Option<Array1<f64>>,
    /// Field evaluations spent per row (1 for a field's own divergence).
    pub evals_per_row: usize,
}

/// `div f_s(x)` of the rows of `x` at level `s`: the field's own divergence when it
/// has one ([`Divergence::Exact`] or [`Divergence::Estimated`]), `est` otherwise.
/// In parallel over blocks of rows; each row's value depends only on that row.
pub fn estimate_divergence(
    field: &dyn Field,
    s: f64,
    x: ArrayView2<f64>,
    est: TraceEstimator,
) -> Result<DivergenceEstimate> {
    let d = field.dim();
    crate::error::ensure_cols("points", x, d)?;
    crate::error::ensure_finite("points", x)?;
    field.check_level(s)?;
    est.validate()?;
    let n = x.nrows();
    let xs: Vec<f64> = x.iter().copied().collect();
    const ROWS: usize = 256;
    let mut div = vec![0.0; n];
    if field.divergence() != Divergence::None {
        let mut f = vec![0.0; n * d];
        div.par_chunks_mut(ROWS)
            .zip(f.par_chunks_mut(ROWS * d))
            .zip(xs.par_chunks(ROWS * d))
            .for_each(|((db, fb), xb)| {
                field.eval_block(&vec![s; db.len()], xb, fb, Some(db));
            });
        return Ok(DivergenceEstimate {
            div: Array1::from(div),
            variance: None,
            evals_per_row: 1,
        });
    }
    let trace = Trace::new(est, d);
    let mut var = vec![f64::NAN; n];
    div.par_chunks_mut(ROWS)
        .zip(var.par_chunks_mut(ROWS))
        .zip(xs.par_chunks(ROWS * d))
        .for_each(|((db, vb), xb)| {
            let mut terms = Vec::new();
            let m = trace.terms(field, &vec![s; db.len()], xb, &mut terms);
            for ((dv, vv), t) in db.iter_mut().zip(vb.iter_mut()).zip(terms.chunks_exact(m)) {
                match trace {
                    Trace::Fd => *dv = t.iter().sum(),
                    Trace::Hutchinson { .. } => {
                        let k = m as f64;
                        let mean = t.iter().sum::<f64>() / k;
                        *dv = mean;
                        if m > 1 {
                            let ss: f64 = t.iter().map(|v| (v - mean) * (v - mean)).sum();
                            *vv = ss / (k - 1.0) / k;
                        }
                    }
                }
            }
        });
    let variance = matches!(trace, Trace::Hutchinson { .. }).then(|| Array1::from(var));
    let m = match trace {
        Trace::Fd => d,
        Trace::Hutchinson { k, .. } => k,
    };
    Ok(DivergenceEstimate {
        div: Array1::from(div),
        variance,
        evals_per_row: 2 * m,
    })
}
