//! The prior: the law the generation starts from at the top level `s_max`.
//!
//! A [`Prior`] is tied to one level: it draws `n` seeded points and gives their
//! log-density (for likelihoods). Two priors cover the fields of the project:
//! [`FarFieldPrior`], the data replaced by one point at its centre `c`,
//! `x = c + s_max U` with `U ~ nu` (the usual prior of PFGM, PFGM++ and EDM, and exact
//! for the linear path at `s = 1`, where `alpha = 0`), and [`ExactPrior`], the exact
//! marginal `p_{s_max}` of a [`MarginalField`] (isolates the solver error from the
//! prior error). [`MarginalField::prior`] picks one from a [`PriorKind`] as the
//! command line does. A learned field usually takes a `FarFieldPrior` around the
//! centre of its training data.

use crate::fields::{try_par_rows_range, MarginalField, Noise, PriorKind, Schedule};
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

/// The law of the start points of a generation at level [`level`](Prior::level).
pub trait Prior: Sync {
    /// The dimension `d`.
    fn dim(&self) -> usize;

    /// The level `s_max` the prior describes.
    fn level(&self) -> f64;

    /// `n` draws, bit-identical for a given `seed` whatever the thread count (an
    /// error only for an `n` too large to allocate).
    fn sample(&self, n: usize, seed: u64) -> Result<Array2<f64>>;

    /// Rows `start..start + n` of `sample(start + n, seed)`, bit for bit. The
    /// default draws all `start + n` rows and keeps the last `n`; the priors of this
    /// crate draw in fixed batches ([`crate::fields::BATCH`] rows, batch `b` from
    /// `rng::stream(seed, b)`) and draw only the batches that cover the range
    /// ([`crate::fields::try_par_rows_range`]).
    fn sample_range(&self, start: usize, n: usize, seed: u64) -> Result<Array2<f64>> {
        let end = start
            .checked_add(n)
            .ok_or_else(|| Error::Invalid(format!("offset {start} + {n} rows overflows")))?;
        let all = self.sample(end, seed)?;
        Ok(all.slice(ndarray::s![start.., ..]).to_owned())
    }

    /// `ln` of the density at each row of `x` (`n x d`, finite).
    fn log_density(&self, x: ArrayView2<f64>) -> Array1<f64>;

    /// A short description for reports.
    fn describe(&self) -> String;
}

/// The far-field prior `x = c + s_max U`, `U ~ nu`: the marginal of a single data
/// point at the centre `c`.
#[derive(Debug, Clone)]
pub struct FarFieldPrior {
    center: Vec<f64>,
    law: Noise,
    level: f64,
}

impl FarFieldPrior {
    /// The far field around `center` with noise law `law` (same dimension, samplable)
    /// at level `s_max > 0` (finite).
    pub fn new(center: Vec<f64>, law: Noise, s_max: f64) -> Result<Self> {
        if center.len() != law.dim() {
            return Err(Error::DimensionMismatch {
                what: "prior centre",
                expected: law.dim(),
                got: center.len(),
            });
        }
        if !center.iter().all(|c| c.is_finite()) {
            return Err(Error::Invalid("the prior centre must be finite".into()));
        }
        if !(s_max.is_finite() && s_max > 0.0) {
            return Err(Error::InvalidParameter {
                name: "s_max",
                value: s_max,
                reason: "must be finite and > 0",
            });
        }
        if !law.can_sample() {
            return Err(Error::Invalid(format!(
                "the {:?} law has no sampler (no far-field prior)",
                law.kind()
            )));
        }
        Ok(Self {
            center,
            law,
            level: s_max,
        })
    }

    /// The far-field log-density of one point: `ln nu((x - c)/s_max) - d ln s_max`.
    pub fn log_density_one(&self, x: &[f64]) -> f64 {
        let s = self.level;
        let u: Vec<f64> = x
            .iter()
            .zip(&self.center)
            .map(|(a, b)| (a - b) / s)
            .collect();
        self.law.log_density(&u) - self.center.len() as f64 * s.ln()
    }
}

impl Prior for FarFieldPrior {
    fn dim(&self) -> usize {
        self.center.len()
    }

    fn level(&self) -> f64 {
        self.level
    }

    fn sample(&self, n: usize, seed: u64) -> Result<Array2<f64>> {
        self.sample_range(0, n, seed)
    }

    fn sample_range(&self, start: usize, n: usize, seed: u64) -> Result<Array2<f64>> {
        let s_max = self.level;
        try_par_rows_range("prior draws", start, n, self.dim(), seed, |rng, row| {
            self.law.sample(rng, row);
            for (o, cj) in row.iter_mut().zip(&self.center) {
                *o = cj + s_max * *o;
            }
        })
    }

    fn log_density(&self, x: ArrayView2<f64>) -> Array1<f64> {
        rows_par(x, |r| self.log_density_one(r))
    }

    fn describe(&self) -> String {
        format!(
            "far-field {:?} prior at s = {}",
            self.law.kind(),
            self.level
        )
    }
}

/// The exact marginal `p_{s_max}` of a [`MarginalField`] as a prior.
#[derive(Debug, Clone, Copy)]
pub struct ExactPrior<'a> {
    mf: &'a MarginalField,
    level: f64,
}

impl<'a> ExactPrior<'a> {
    /// `p_{s_max}` of `mf` (`s_max` a valid level of `mf`).
    pub fn new(mf: &'a MarginalField, s_max: f64) -> Result<Self> {
        mf.check_level(s_max)?;
        Ok(Self { mf, level: s_max })
    }
}

impl Prior for ExactPrior<'_> {
    fn dim(&self) -> usize {
        self.mf.dim()
    }

    fn level(&self) -> f64 {
        self.level
    }

    fn sample(&self, n: usize, seed: u64) -> Result<Array2<f64>> {
        self.sample_range(0, n, seed)
    }

    fn sample_range(&self, start: usize, n: usize, seed: u64) -> Result<Array2<f64>> {
        let s = self.level;
        try_par_rows_range("draws of p_s", start, n, self.dim(), seed, |rng, row| {
            self.mf.sample_one(s, rng, row)
        })
    }

    fn log_density(&self, x: ArrayView2<f64>) -> Array1<f64> {
        rows_par(x, |r| self.mf.log_density(self.level, r))
    }

    fn describe(&self) -> String {
        format!("exact marginal prior at s = {}", self.level)
    }
}

/// The prior of a [`MarginalField`] chosen by a [`PriorKind`] (see
/// [`MarginalField::prior`]).
#[derive(Debug, Clone)]
pub enum MarginalPrior<'a> {
    /// The far field around the source centre.
    FarField(FarFieldPrior),
    /// The exact marginal.
    Exact(ExactPrior<'a>),
}

impl MarginalPrior<'_> {
    fn inner(&self) -> &dyn Prior {
        match self {
            MarginalPrior::FarField(p) => p,
            MarginalPrior::Exact(p) => p,
        }
    }
}

impl Prior for MarginalPrior<'_> {
    fn dim(&self) -> usize {
        self.inner().dim()
    }
    fn level(&self) -> f64 {
        self.inner().level()
    }
    fn sample(&self, n: usize, seed: u64) -> Result<Array2<f64>> {
        self.inner().sample(n, seed)
    }
    fn sample_range(&self, start: usize, n: usize, seed: u64) -> Result<Array2<f64>> {
        self.inner().sample_range(start, n, seed)
    }
    fn log_density(&self, x: ArrayView2<f64>) -> Array1<f64> {
        self.inner().log_density(x)
    }
    fn describe(&self) -> String {
        self.inner().describe()
    }
}

impl MarginalField {
    /// The prior at `s_max`: the exact marginal for [`PriorKind::Exact`] and for the
    /// linear path (whose prior `nu` is exact whatever `kind`), the far field around
    /// the source centre otherwise.
    pub fn prior(&self, s_max: f64, kind: PriorKind) -> Result<MarginalPrior<'_>> {
        self.check_level(s_max)?;
        if kind == PriorKind::Exact || self.schedule() == Schedule::Linear {
            return Ok(MarginalPrior::Exact(ExactPrior::new(self, s_max)?));
        }
        Ok(MarginalPrior::FarField(FarFieldPrior::new(
            self.source().center(),
            self.law().clone(),
            s_max,
        )?))
    }
}

/// `g` of each row of `x`, in parallel.
fn rows_par(x: ArrayView2<f64>, g: impl Fn(&[f64]) -> f64 + Sync) -> Array1<f64> {
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    Array1::from(rows.par_iter().map(|r| g(r)).collect::<Vec<f64>>())
}
