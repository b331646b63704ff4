//! Sources: the data distribution at `s = 0` that a field transports.
//!
//! Every source is a finite mixture `sum_k pi_k q_k` of location-scale components
//! with means `mu_k` and scales `c_k`. An empirical data set is the case `c_k = 0`
//! (point masses, with optional weights); a Gaussian mixture `N(mu_k, c_k^2 I)` has a
//! closed-form marginal field under the Gaussian and linear kernels, and a mixture of
//! Poisson kernels (multivariate Cauchy laws) `P_{c_k}(. - mu_k)` has one under the
//! Poisson kernel by the semigroup property (docs/MATHEMATICS.md, section 7, item 4,
//! and section 8). Weights are normalised to sum to one when the source is built.

use super::noise::{sample_pfgmpp_beta, Noise};
use crate::rng::Rng;
use crate::{Error, Result};
use ndarray::ArrayView2;
use rand::Rng as _;
use rand_distr::StandardNormal;

/// Checks data weights as a user gives them, one per point: every weight finite and
/// `>= 0`, not all zero, and as many as there are points. A zero weight is allowed:
/// that point is simply not part of the data (see [`drop_zero_weights`]). The one
/// rule shared by everything that reads data weights (sampling, the landing test).
pub fn check_weights(weights: &[f64], n_points: usize) -> Result<()> {
    if weights.len() != n_points {
        return Err(Error::DimensionMismatch {
            what: "weights (one per data point)",
            expected: n_points,
            got: weights.len(),
        });
    }
    if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::Invalid(format!(
            "weight {} of row {} must be finite and >= 0",
            weights[i],
            i + 1
        )));
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(Error::Invalid("all weights are zero".into()));
    }
    Ok(())
}

/// The points with a positive weight, and those weights, after [`check_weights`]:
/// a zero-weight point carries no mass, so it is left out of the data.
pub fn drop_zero_weights(
    points: ArrayView2<f64>,
    weights: &[f64],
) -> Result<(ndarray::Array2<f64>, Vec<f64>)> {
    check_weights(weights, points.nrows())?;
    let keep: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0.0).collect();
    let pts = points.select(ndarray::Axis(0), &keep);
    Ok((pts, keep.iter().map(|&i| weights[i]).collect()))
}

/// What kind of component the source is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Point masses (an empirical data set).
    Points,
    /// Isotropic Gaussians `N(mu_k, c_k^2 I)`.
    Gaussian,
    /// Poisson kernels `P_{c_k}(x - mu_k)` (multivariate Cauchy, exponent `(d+1)/2`).
    Cauchy,
}

/// A weighted mixture source in `R^d`.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    kind: SourceKind,
    d: usize,
    /// Means, row-major `M x d`.
    means: Vec<f64>,
    /// Scales `c_k` (all zero for points).
    scales: Vec<f64>,
    /// Normalised weights.
    weights: Vec<f64>,
    /// Cumulative weights for sampling.
    cumulative: Vec<f64>,
    /// Coordinate-major copy of the means for the vectorised field kernel.
    soa: super::kernel::Soa,
    /// The largest absolute coordinate of the means.
    max_abs: f64,
    /// The pruning index of the product path, built on first use.
    projection: super::kernel::ProjectionCell,
}

fn check_means(means: ArrayView2<f64>) -> Result<()> {
    if means.nrows() == 0 {
        return Err(Error::Empty { what: "data" });
    }
    if means.ncols() == 0 {
        return Err(Error::InvalidParameter {
            name: "dimension",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    for ((r, c), v) in means.indexed_iter() {
        if !v.is_finite() {
            return Err(Error::NonFinite {
                what: "data",
                row: r,
                col: c,
            });
        }
    }
    Ok(())
}

/// The smallest accepted ratio of the smallest to the largest weight: with every
/// weight at least `1e-300` of the largest, the weight ratios of the field kernels
/// (at most `1e300`) and their products stay finite and normal.
pub const MIN_WEIGHT_RATIO: f64 = 1e-300;

fn normalise_weights(m: usize, weights: Option<&[f64]>) -> Result<Vec<f64>> {
    match weights {
        None => Ok(vec![1.0 / m as f64; m]),
        Some(w) => {
            if w.len() != m {
                return Err(Error::DimensionMismatch {
                    what: "weights",
                    expected: m,
                    got: w.len(),
                });
            }
            for &v in w {
                if !(v.is_finite() && v > 0.0) {
                    return Err(Error::InvalidParameter {
                        name: "weight",
                        value: v,
                        reason: "weights must be finite and > 0",
                    });
                }
            }
            // scale by the largest weight first: no overflow of the total
            let wmax = w.iter().fold(0.0f64, |a, &v| a.max(v));
            let wmin = w.iter().fold(f64::INFINITY, |a, &v| a.min(v));
            if wmin / wmax < MIN_WEIGHT_RATIO {
                return Err(Error::Invalid(format!(
                    "weights span more than 300 orders of magnitude (smallest {wmin:e}, largest \
                     {wmax:e}); the field of such a mixture cannot be evaluated in double \
                     precision: drop the negligible points or rescale"
                )));
            }
            let scaled: Vec<f64> = w.iter().map(|v| v / wmax).collect();
            let total: f64 = scaled.iter().sum();
            Ok(scaled.iter().map(|v| v / total).collect())
        }
    }
}

impl Source {
    fn build(
        kind: SourceKind,
        means: ArrayView2<f64>,
        scales: Vec<f64>,
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        check_means(means)?;
        let m = means.nrows();
        if scales.len() != m {
            return Err(Error::DimensionMismatch {
                what: "scales",
                expected: m,
                got: scales.len(),
            });
        }
        let weights = normalise_weights(m, weights)?;
        let mut cumulative = Vec::with_capacity(m);
        let mut acc = 0.0;
        for w in &weights {
            acc += w;
            cumulative.push(acc);
        }
        let d = means.ncols();
        let means: Vec<f64> = means.iter().copied().collect();
        let soa = super::kernel::Soa::new(&means, d, &weights);
        let max_abs = means.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        Ok(Self {
            kind,
            d,
            means,
            scales,
            weights,
            cumulative,
            soa,
            max_abs,
            projection: Default::default(),
        })
    }

    /// An empirical data set: one point per row, optional positive weights.
    pub fn points(points: ArrayView2<f64>, weights: Option<&[f64]>) -> Result<Self> {
        let m = points.nrows();
        Self::build(SourceKind::Points, points, vec![0.0; m], weights)
    }

    /// A Gaussian mixture `sum_k pi_k N(mu_k, c_k^2 I)` with `c_k >= 0`.
    pub fn gaussian_mixture(
        means: ArrayView2<f64>,
        scales: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        for &c in scales {
            if !(c.is_finite() && c >= 0.0) {
                return Err(Error::InvalidParameter {
                    name: "scale",
                    value: c,
                    reason: "Gaussian scales must be finite and >= 0",
                });
            }
        }
        Self::build(SourceKind::Gaussian, means, scales.to_vec(), weights)
    }

    /// A mixture of Poisson kernels `sum_k pi_k P_{c_k}(x - mu_k)` with `c_k > 0`.
    pub fn cauchy_mixture(
        means: ArrayView2<f64>,
        scales: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        for &c in scales {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::InvalidParameter {
                    name: "scale",
                    value: c,
                    reason: "Cauchy scales must be finite and > 0",
                });
            }
        }
        Self::build(SourceKind::Cauchy, means, scales.to_vec(), weights)
    }

    /// The closed-form source of a [`crate::data::GaussianMixture`].
    pub fn from_mixture(mix: &crate::data::GaussianMixture) -> Result<Self> {
        Self::gaussian_mixture(mix.means(), mix.stds(), Some(mix.weights()))
    }

    /// The component kind.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The number of components `M`.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Always false (a source has at least one component).
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Mean of component `k`.
    pub fn mean_of(&self, k: usize) -> &[f64] {
        &self.means[k * self.d..(k + 1) * self.d]
    }

    /// All means, row-major `M x d`.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// The scales `c_k`.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }

    /// The normalised weights `pi_k`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The largest absolute coordinate of the component means.
    pub fn max_abs(&self) -> f64 {
        self.max_abs
    }

    /// The coordinate-major copy of the means used by the vectorised kernel.
    pub(crate) fn soa(&self) -> &super::kernel::Soa {
        &self.soa
    }

    /// The pruning index of the product path (`kernel::prune`) for data points in
    /// `d >= 16`, built on first use; `None` for other sources and data sets too small
    /// or degenerate for one.
    pub(crate) fn projection(&self) -> Option<&super::kernel::Projection> {
        if self.kind != SourceKind::Points || self.d < super::kernel::GAUSS_GEMM_MIN_D {
            return None;
        }
        self.projection.get(&self.means, self.len(), self.d)
    }

    /// The weighted mean of the component means (the centre of the far-field prior).
    pub fn center(&self) -> Vec<f64> {
        let mut c = vec![0.0; self.d];
        for (k, w) in self.weights.iter().enumerate() {
            for (cj, mj) in c.iter_mut().zip(self.mean_of(k)) {
                *cj += w * mj;
            }
        }
        c
    }

    /// Picks a component index with probability `pi_k`.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        let v: f64 = rng.random();
        let k = self.cumulative.partition_point(|&c| c <= v);
        k.min(self.len() - 1)
    }

    /// Draws one point of the source distribution (the data law at `s = 0`).
    pub fn sample(&self, rng: &mut Rng, out: &mut [f64]) {
        let k = self.pick(rng);
        let c = self.scales[k];
        match self.kind {
            SourceKind::Points => out.copy_from_slice(self.mean_of(k)),
            SourceKind::Gaussian => {
                for (o, m) in out.iter_mut().zip(self.mean_of(k)) {
                    let z: f64 = rng.sample(StandardNormal);
                    *o = m + c * z;
                }
            }
            SourceKind::Cauchy => {
                sample_pfgmpp_beta(self.d, 1.0, rng, out);
                for (o, m) in out.iter_mut().zip(self.mean_of(k)) {
                    *o = m + c * *o;
                }
            }
        }
    }

    /// The log-density of the source at `s = 0` (only for Gaussian and Cauchy
    /// sources; `None` for point masses).
    #[allow(clippy::float_cmp)] // a point mass is hit only exactly
    pub fn log_density(&self, x: &[f64]) -> Option<f64> {
        let law = match self.kind {
            SourceKind::Points => return None,
            SourceKind::Gaussian => Noise::gaussian(self.d).ok()?,
            SourceKind::Cauchy => Noise::pfgmpp(self.d, 1.0).ok()?,
        };
        let mut terms = Vec::with_capacity(self.len());
        let mut u = vec![0.0; self.d];
        for k in 0..self.len() {
            let c = self.scales[k];
            if c == 0.0 {
                // a Gaussian component of zero width: a point mass
                let hit = self.mean_of(k).iter().zip(x).all(|(a, b)| a == b);
                terms.push(if hit {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                });
                continue;
            }
            for ((uj, xj), mj) in u.iter_mut().zip(x).zip(self.mean_of(k)) {
                *uj = (xj - mj) / c;
            }
            terms.push(self.weights[k].ln() - self.d as f64 * c.ln() + law.log_density(&u));
        }
        Some(log_sum_exp(&terms))
    }
}

/// `ln sum_k exp(a_k)`, stable.
pub(crate) fn log_sum_exp(a: &[f64]) -> f64 {
    let m = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn validation() {
        let empty = ndarray::Array2::<f64>::zeros((0, 2));
        assert!(matches!(
            Source::points(empty.view(), None),
            Err(Error::Empty { .. })
        ));
        let nan = array![[0.0, f64::NAN]];
        assert!(matches!(
            Source::points(nan.view(), None),
            Err(Error::NonFinite { row: 0, col: 1, .. })
        ));
        let p = array![[0.0, 1.0], [2.0, 3.0]];
        assert!(Source::points(p.view(), Some(&[1.0])).is_err());
        assert!(Source::points(p.view(), Some(&[1.0, 0.0])).is_err());
        assert!(Source::cauchy_mixture(p.view(), &[1.0, 0.0], None).is_err());
        let s = Source::points(p.view(), Some(&[1.0, 3.0])).unwrap();
        assert_eq!(s.weights(), &[0.25, 0.75]);
        assert_eq!(s.center(), vec![1.5, 2.5]);
    }
}
