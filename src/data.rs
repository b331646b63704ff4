//! Toy data sets and Gaussian mixtures.
//!
//! The eight two-dimensional toy data sets are the ones popularised by FFJORD
//! (swissroll, circles, rings, moons, 8gaussians, pinwheel, 2spirals, checkerboard);
//! their definitions are listed in section 5 of the repository's `docs/REFERENCE-VALUES.md`. Unlike
//! the public versions, every random angle here is drawn i.i.d. uniform rather than
//! evenly spaced, so that the points are genuine random samples and statistical tests
//! on them are honest. Data sets made of several components (two circles, four rings,
//! two moons, five arms, two spirals) put a fixed number of points on each component,
//! as the reference code does, and then shuffle the rows so that any prefix of a
//! sample is mixed: with `k` components, each gets `n / k` points and the last
//! `n % k` components get one more (see [`Dataset::component_counts`]).
//!
//! [`GaussianMixture`] is a general isotropic Gaussian mixture in `d` dimensions whose
//! density and score are known in closed form, which makes it the standard test
//! problem with an exact answer; [`GaussianMixture::eight_gaussians`] has exactly the
//! distribution of the `8gaussians` data set, which is sampled through it.

pub mod digits;
pub mod standardize;

pub use digits::Digits;
pub use standardize::{Standardization, Standardize};

use crate::error::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::StandardNormal;
use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

/// One of the eight two-dimensional toy data sets.
///
/// Parse one from its name with [`str::parse`] (`"swissroll"`, `"circles"`, `"rings"`,
/// `"moons"`, `"8gaussians"`, `"pinwheel"`, `"2spirals"`, `"checkerboard"`); its
/// [`Display`](fmt::Display) gives the same name back.
///
/// ```
/// use fieldflow::data::Dataset;
/// let set: Dataset = "moons".parse().unwrap();
/// let points = set.sample(100, &mut fieldflow::rng::seeded(1));
/// assert_eq!(points.dim(), (100, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// `t ~ U[1.5 pi, 4.5 pi]`, `((t cos t, t sin t) + N(0, I)) / 5`.
    SwissRoll,
    /// Circles of radius 1 and 0.5 (half the points each, the inner one gets the odd
    /// point), uniform angle, `+ N(0, 0.08^2 I)`, all times 3.
    Circles,
    /// Circles of radius 3, 2.25, 1.5 and 0.75 (`n / 4` points each, the smallest
    /// rings get the remainder), uniform angle, `+ N(0, 0.08^2 I)`.
    Rings,
    /// Upper moon `(cos t, sin t)` and lower moon `(1 - cos t, 0.5 - sin t)`,
    /// `t ~ U[0, pi]` (half the points each, the lower one gets the odd point),
    /// `+ N(0, 0.1^2 I)`, then `x 2 + (-1, -0.2)`.
    Moons,
    /// Eight Gaussians of standard deviation 0.5 centred at radius 4 on the angles
    /// `k pi / 4`, all divided by 1.414; see [`GaussianMixture::eight_gaussians`].
    EightGaussians,
    /// Five arms: `r ~ N(1, 0.3^2)`, `t ~ N(0, 0.1^2)`, `a = 2 pi k / 5 + 0.25 e^r`,
    /// point `2 (r cos a + t sin a, -r sin a + t cos a)`; `n / 5` points per arm, the
    /// last arms get the remainder.
    Pinwheel,
    /// `theta = 3 pi sqrt(U)`, arm `(-theta cos theta, theta sin theta) + U[0, 0.5)^2`,
    /// the second arm is the negated first, all divided by 3, `+ N(0, 0.1^2 I)`; half
    /// the points per arm, the second arm gets the odd point.
    TwoSpirals,
    /// `x1 ~ U[-2, 2)`, `x2 = U[0, 1) - 2 B + (floor(x1) mod 2)` with `B ~ Bernoulli(1/2)`,
    /// all times 2: density 1/32 on eight 2 x 2 cells of `[-4, 4)^2`.
    Checkerboard,
}

impl Dataset {
    /// All data sets, in the order of `docs/REFERENCE-VALUES.md`, section 5.
    pub const ALL: [Dataset; 8] = [
        Dataset::SwissRoll,
        Dataset::Circles,
        Dataset::Rings,
        Dataset::Moons,
        Dataset::EightGaussians,
        Dataset::Pinwheel,
        Dataset::TwoSpirals,
        Dataset::Checkerboard,
    ];

    /// The data set's name, as accepted by [`str::parse`].
    pub fn name(&self) -> &'static str {
        match self {
            Dataset::SwissRoll => "swissroll",
            Dataset::Circles => "circles",
            Dataset::Rings => "rings",
            Dataset::Moons => "moons",
            Dataset::EightGaussians => "8gaussians",
            Dataset::Pinwheel => "pinwheel",
            Dataset::TwoSpirals => "2spirals",
            Dataset::Checkerboard => "checkerboard",
        }
    }

    /// Dimension of the points (always 2).
    pub fn dim(&self) -> usize {
        2
    }

    /// How many points each component receives in a sample of size `n`, in the order
    /// of the variant's documentation, or `None` for data sets whose points are all
    /// drawn i.i.d. (swissroll, 8gaussians, checkerboard).
    ///
    /// With `k` components each gets `n / k` points and the last `n % k` components
    /// one more.
    pub fn component_counts(&self, n: usize) -> Option<Vec<usize>> {
        let k = match self {
            Dataset::Circles | Dataset::Moons | Dataset::TwoSpirals => 2,
            Dataset::Rings => 4,
            Dataset::Pinwheel => 5,
            Dataset::SwissRoll | Dataset::EightGaussians | Dataset::Checkerboard => return None,
        };
        Some(balanced_counts(n, k))
    }

    /// Draws `n` points (an `n x 2` array). The same generator state gives the same
    /// bits; `n = 0` gives an empty `0 x 2` array.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Array2<f64> {
        if *self == Dataset::EightGaussians {
            return GaussianMixture::eight_gaussians().sample(n, rng);
        }
        let labels = match self.component_counts(n) {
            Some(counts) => shuffled_labels(&counts, rng),
            None => vec![0; n],
        };
        let mut out = Array2::zeros((n, 2));
        for (i, &k) in labels.iter().enumerate() {
            let [x, y] = self.point(k, rng);
            out[[i, 0]] = x;
            out[[i, 1]] = y;
        }
        out
    }

    /// Draws `n` points from a generator seeded with `seed`
    /// (see [`crate::rng::seeded`]).
    ///
    /// # Panics
    /// If `n x 2` numbers cannot be allocated; [`Dataset::try_sample_seeded`]
    /// returns an error instead.
    pub fn sample_seeded(&self, n: usize, seed: u64) -> Array2<f64> {
        self.sample(n, &mut crate::rng::seeded(seed))
    }

    /// [`Dataset::sample_seeded`] that checks the size first: an `n` whose array
    /// overflows or cannot be allocated is an error, not a panic or an abort.
    pub fn try_sample_seeded(&self, n: usize, seed: u64) -> Result<Array2<f64>> {
        ensure_allocatable("data set points", n, self.dim())?;
        Ok(self.sample_seeded(n, seed))
    }

    /// One point of component `k`.
    fn point<R: Rng + ?Sized>(&self, k: usize, rng: &mut R) -> [f64; 2] {
        match self {
            Dataset::SwissRoll => {
                let t = 1.5 * PI * (1.0 + 2.0 * rng.random::<f64>());
                let (zx, zy) = normal_pair(rng);
                [(t * t.cos() + zx) / 5.0, (t * t.sin() + zy) / 5.0]
            }
            Dataset::Circles => {
                let r = [1.0, 0.5][k];
                let a = 2.0 * PI * rng.random::<f64>();
                let (zx, zy) = normal_pair(rng);
                [
                    3.0 * (r * a.cos() + 0.08 * zx),
                    3.0 * (r * a.sin() + 0.08 * zy),
                ]
            }
            Dataset::Rings => {
                let r = 3.0 * [1.0, 0.75, 0.5, 0.25][k];
                let a = 2.0 * PI * rng.random::<f64>();
                let (zx, zy) = normal_pair(rng);
                [r * a.cos() + 0.08 * zx, r * a.sin() + 0.08 * zy]
            }
            Dataset::Moons => {
                let t = PI * rng.random::<f64>();
                let (x, y) = if k == 0 {
                    (t.cos(), t.sin())
                } else {
                    (1.0 - t.cos(), 0.5 - t.sin())
                };
                let (zx, zy) = normal_pair(rng);
                [2.0 * (x + 0.1 * zx) - 1.0, 2.0 * (y + 0.1 * zy) - 0.2]
            }
            Dataset::Pinwheel => {
                let (zr, zt) = normal_pair(rng);
                let r = 1.0 + 0.3 * zr;
                let t = 0.1 * zt;
                let a = 2.0 * PI * k as f64 / 5.0 + 0.25 * r.exp();
                let (s, c) = a.sin_cos();
                [2.0 * (r * c + t * s), 2.0 * (-r * s + t * c)]
            }
            Dataset::TwoSpirals => {
                let theta = 3.0 * PI * rng.random::<f64>().sqrt();
                let ux = 0.5 * rng.random::<f64>();
                let uy = 0.5 * rng.random::<f64>();
                let ax = -theta * theta.cos() + ux;
                let ay = theta * theta.sin() + uy;
                let sign = if k == 0 { 1.0 } else { -1.0 };
                let (zx, zy) = normal_pair(rng);
                [sign * ax / 3.0 + 0.1 * zx, sign * ay / 3.0 + 0.1 * zy]
            }
            Dataset::Checkerboard => {
                let x1 = 4.0 * rng.random::<f64>() - 2.0;
                let b = if rng.random_bool(0.5) { 2.0 } else { 0.0 };
                let x2 = rng.random::<f64>() - b + x1.floor().rem_euclid(2.0);
                [2.0 * x1, 2.0 * x2]
            }
            Dataset::EightGaussians => unreachable!("8gaussians is sampled as a mixture"),
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Dataset::ALL
            .iter()
            .copied()
            .find(|d| d.name() == s)
            .ok_or_else(|| Error::UnknownName {
                kind: "data set",
                name: s.to_string(),
                known: Dataset::ALL
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// `n / k` per component, the last `n % k` components one more.
fn balanced_counts(n: usize, k: usize) -> Vec<usize> {
    (0..k)
        .map(|j| n / k + usize::from(j >= k - n % k))
        .collect()
}

/// Component labels with the given counts, in random order.
fn shuffled_labels<R: Rng + ?Sized>(counts: &[usize], rng: &mut R) -> Vec<usize> {
    let mut labels: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(k, &c)| std::iter::repeat_n(k, c))
        .collect();
    labels.shuffle(rng);
    labels
}

fn normal_pair<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    (rng.sample(StandardNormal), rng.sample(StandardNormal))
}

/// A mixture of isotropic Gaussians `sum_k pi_k N(mu_k, c_k^2 I)` in `d` dimensions.
///
/// Weights are normalised on construction. A component may have `c_k = 0`: it is then
/// a point mass at `mu_k`, which can be sampled but has no density, so the density
/// methods return an error for such a mixture (see [`GaussianMixture::log_pdf`]).
///
/// ```
/// use fieldflow::data::GaussianMixture;
/// use ndarray::array;
/// let gm = GaussianMixture::new(vec![1.0, 3.0], array![[-1.0], [2.0]], vec![0.5, 1.0]).unwrap();
/// assert_eq!(gm.weights(), &[0.25, 0.75]);
/// let lp = gm.log_pdf(&[0.3]).unwrap();
/// assert!(lp.is_finite());
/// ```
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    log_weights: Vec<f64>,
    means: Array2<f64>,
    stds: Vec<f64>,
    index: WeightedIndex<f64>,
}

impl GaussianMixture {
    /// A mixture with (unnormalised) weights `weights` (`K` values, finite and > 0),
    /// means `means` (`K x d`, finite, `K, d >= 1`) and isotropic standard deviations
    /// `stds` (`K` values, finite and >= 0).
    pub fn new(weights: Vec<f64>, means: Array2<f64>, stds: Vec<f64>) -> Result<Self> {
        let (k, d) = means.dim();
        if k == 0 {
            return Err(Error::Empty {
                what: "mixture means",
            });
        }
        if d == 0 {
            return Err(Error::Invalid(
                "mixture means must have at least one column".into(),
            ));
        }
        if weights.len() != k {
            return Err(Error::DimensionMismatch {
                what: "mixture weights vs means rows",
                expected: k,
                got: weights.len(),
            });
        }
        if stds.len() != k {
            return Err(Error::DimensionMismatch {
                what: "mixture stds vs means rows",
                expected: k,
                got: stds.len(),
            });
        }
        for &w in &weights {
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::InvalidParameter {
                    name: "mixture weight",
                    value: w,
                    reason: "must be finite and > 0",
                });
            }
        }
        for &c in &stds {
            if !(c.is_finite() && c >= 0.0) {
                return Err(Error::InvalidParameter {
                    name: "mixture std",
                    value: c,
                    reason: "must be finite and >= 0",
                });
            }
        }
        crate::error::ensure_finite("mixture means", means.view())?;
        let total: f64 = weights.iter().sum();
        if !total.is_finite() {
            return Err(Error::Invalid(
                "mixture weights sum to infinity".to_string(),
            ));
        }
        let weights: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        let index = WeightedIndex::new(&weights)
            .map_err(|e| Error::Invalid(format!("mixture weights: {e}")))?;
        Ok(Self {
            weights,
            log_weights,
            means,
            stds,
            index,
        })
    }

    /// The distribution of the `8gaussians` data set: weights 1/8, means
    /// `4 u_k / 1.414` for the unit vectors `u_k` in the order (1, 0), (-1, 0), (0, 1),
    /// (0, -1), (s, s), (s, -s), (-s, s), (-s, -s) with `s = 1/sqrt 2`, and standard
    /// deviation `0.5 / 1.414` (the reference divides centre and noise by 1.414).
    pub fn eight_gaussians() -> Self {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let units = [
            (1.0, 0.0),
            (-1.0, 0.0),
            (0.0, 1.0),
            (0.0, -1.0),
            (s, s),
            (s, -s),
            (-s, s),
            (-s, -s),
        ];
        let mut means = Array2::zeros((8, 2));
        for (k, (x, y)) in units.iter().enumerate() {
            means[[k, 0]] = 4.0 * x / 1.414;
            means[[k, 1]] = 4.0 * y / 1.414;
        }
        Self::new(vec![1.0; 8], means, vec![0.5 / 1.414; 8])
            .expect("the 8gaussians mixture is valid")
    }

    /// Dimension `d` of the points.
    pub fn dim(&self) -> usize {
        self.means.ncols()
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.means.nrows()
    }

    /// Normalised weights `pi_k` (they sum to 1 up to rounding).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Means, one row per component (`K x d`).
    pub fn means(&self) -> ArrayView2<'_, f64> {
        self.means.view()
    }

    /// Standard deviations `c_k`.
    pub fn stds(&self) -> &[f64] {
        &self.stds
    }

    /// Whether some component has `c_k = 0` (then there is no density).
    pub fn has_point_masses(&self) -> bool {
        self.stds.contains(&0.0)
    }

    /// Draws `n` points (`n x d`).
    ///
    /// # Panics
    /// If `n x d` numbers cannot be allocated; [`GaussianMixture::try_sample`]
    /// returns an error instead.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Array2<f64> {
        self.sample_with_labels(n, rng).0
    }

    /// [`GaussianMixture::sample`] that checks the size first: an `n` whose array
    /// overflows or cannot be allocated is an error, not a panic or an abort.
    pub fn try_sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Array2<f64>> {
        ensure_allocatable("mixture draws", n, self.dim())?;
        Ok(self.sample(n, rng))
    }

    /// Draws `n` points (`n x d`) with the component each came from. For each point
    /// the generator yields the component first and then `d` standard normals (also
    /// for point masses), so the stream layout does not depend on the parameters.
    pub fn sample_with_labels<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (Array2<f64>, Vec<usize>) {
        let d = self.dim();
        let mut out = Array2::zeros((n, d));
        let mut labels = Vec::with_capacity(n);
        for mut row in out.rows_mut() {
            let k = self.index.sample(rng);
            labels.push(k);
            let c = self.stds[k];
            for (x, &m) in row.iter_mut().zip(self.means.row(k)) {
                let z: f64 = rng.sample(StandardNormal);
                *x = m + c * z;
            }
        }
        (out, labels)
    }

    fn check_point(&self, x: &[f64]) -> Result<()> {
        if x.len() != self.dim() {
            return Err(Error::DimensionMismatch {
                what: "mixture point",
                expected: self.dim(),
                got: x.len(),
            });
        }
        if let Some(k) = self.stds.iter().position(|&c| c == 0.0) {
            return Err(Error::Invalid(format!(
                "mixture density undefined: component {k} is a point mass (std 0)"
            )));
        }
        Ok(())
    }

    /// Log-density of component `k` at `x` plus `log pi_k`.
    fn log_joint(&self, k: usize, x: &[f64]) -> f64 {
        let c = self.stds[k];
        let d = self.dim() as f64;
        let r2: f64 = x
            .iter()
            .zip(self.means.row(k))
            .map(|(a, m)| (a - m) * (a - m))
            .sum();
        self.log_weights[k] - 0.5 * d * (2.0 * PI * c * c).ln() - 0.5 * r2 / (c * c)
    }

    /// Log-density `log sum_k pi_k N(x; mu_k, c_k^2 I)`, evaluated with the
    /// log-sum-exp trick so that it stays finite far from all components.
    ///
    /// Errors: `x.len() != dim()`, or a component with `c_k = 0` (a point mass has no
    /// density; check [`GaussianMixture::has_point_masses`]). Non-finite coordinates
    /// are not checked and give NaN.
    pub fn log_pdf(&self, x: &[f64]) -> Result<f64> {
        self.check_point(x)?;
        Ok(self.log_pdf_unchecked(x))
    }

    /// One-pass (streaming) log-sum-exp over the components, without allocating.
    fn log_pdf_unchecked(&self, x: &[f64]) -> f64 {
        let (mut m, mut s) = (f64::NEG_INFINITY, 0.0);
        for k in 0..self.n_components() {
            let t = self.log_joint(k, x);
            if t == f64::NEG_INFINITY {
                continue;
            }
            if t <= m {
                s += (t - m).exp();
            } else {
                s = s * (m - t).exp() + 1.0;
                m = t;
            }
        }
        if m == f64::NEG_INFINITY {
            m
        } else {
            m + s.ln()
        }
    }

    /// [`GaussianMixture::log_pdf`] of every row of `points` (`n x d`).
    pub fn log_pdf_rows(&self, points: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        if points.ncols() != self.dim() {
            return Err(Error::DimensionMismatch {
                what: "mixture points columns",
                expected: self.dim(),
                got: points.ncols(),
            });
        }
        let mut out = Array1::zeros(points.nrows());
        let mut buf = vec![0.0; self.dim()];
        for (o, row) in out.iter_mut().zip(points.rows()) {
            buf.iter_mut().zip(row).for_each(|(b, &v)| *b = v);
            *o = self.log_pdf(&buf)?;
        }
        Ok(out)
    }

    /// Score `grad_x log p(x) = sum_k r_k(x) (mu_k - x) / c_k^2`, with the
    /// responsibilities `r_k(x)` computed in log space. Same errors as
    /// [`GaussianMixture::log_pdf`].
    pub fn score(&self, x: &[f64]) -> Result<Vec<f64>> {
        let mut g = vec![0.0; self.dim()];
        self.score_into(x, &mut g)?;
        Ok(g)
    }

    /// [`GaussianMixture::score`] written into `out` (length `dim()`), without
    /// allocating: for use in hot loops.
    pub fn score_into(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        self.check_point(x)?;
        if out.len() != self.dim() {
            return Err(Error::DimensionMismatch {
                what: "mixture score output",
                expected: self.dim(),
                got: out.len(),
            });
        }
        let lse = self.log_pdf_unchecked(x);
        out.fill(0.0);
        for k in 0..self.n_components() {
            let r = (self.log_joint(k, x) - lse).exp();
            let c2 = self.stds[k] * self.stds[k];
            for (gj, (&xj, &mj)) in out.iter_mut().zip(x.iter().zip(self.means.row(k))) {
                *gj += r * (mj - xj) / c2;
            }
        }
        Ok(())
    }

    /// The mixture convolved with `N(0, sigma^2 I)`: the same weights and means, with
    /// standard deviations `sqrt(c_k^2 + sigma^2)`. This is the exact marginal of
    /// Gaussian diffusion at noise level `sigma`. Errors for `sigma` not finite or < 0.
    pub fn convolved(&self, sigma: f64) -> Result<Self> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "must be finite and >= 0",
            });
        }
        let stds = self.stds.iter().map(|c| c.hypot(sigma)).collect();
        Self::new(self.weights.clone(), self.means.clone(), stds)
    }
}

impl FromStr for GaussianMixture {
    type Err = Error;

    /// Parses a mixture spec: components separated by `/`, each written
    /// `WEIGHT@X1,...,XD~STD` (weight > 0, std >= 0, all components of the same
    /// dimension), e.g. `1@-2,0~0.5/3@2,0~0.25`; or the name `8gaussians` for
    /// [`GaussianMixture::eight_gaussians`]. Whitespace around numbers is ignored.
    fn from_str(spec: &str) -> Result<Self> {
        if spec.trim() == "8gaussians" {
            return Ok(Self::eight_gaussians());
        }
        let bad = |k: usize, what: String| {
            Error::Invalid(format!(
                "mixture spec '{spec}': component {}: {what} (expected WEIGHT@X1,...,XD~STD, components separated by '/')",
                k + 1
            ))
        };
        let num = |k: usize, t: &str, what: &str| -> Result<f64> {
            t.trim()
                .parse::<f64>()
                .map_err(|_| bad(k, format!("cannot parse {what} '{}'", t.trim())))
        };
        let (mut weights, mut stds, mut coords) = (Vec::new(), Vec::new(), Vec::new());
        let mut dim = None;
        for (k, comp) in spec.split('/').enumerate() {
            let (w, rest) = comp
                .split_once('@')
                .ok_or_else(|| bad(k, "missing '@'".into()))?;
            let (mu, c) = rest
                .split_once('~')
                .ok_or_else(|| bad(k, "missing '~'".into()))?;
            weights.push(num(k, w, "weight")?);
            stds.push(num(k, c, "std")?);
            let mean = mu
                .split(',')
                .map(|t| num(k, t, "mean coordinate"))
                .collect::<Result<Vec<f64>>>()?;
            match dim {
                Some(d) if d != mean.len() => {
                    return Err(bad(k, format!("{} coordinates, expected {d}", mean.len())))
                }
                _ => dim = Some(mean.len()),
            }
            coords.extend(mean);
        }
        let d = dim.unwrap_or(0);
        let means = Array2::from_shape_vec((weights.len(), d), coords)
            .map_err(|e| Error::Invalid(format!("mixture spec '{spec}': {e}")))?;
        Self::new(weights, means, stds)
    }
}

impl fmt::Display for GaussianMixture {
    /// The spec accepted by [`str::parse`] (normalised weights, shortest round-trip
    /// digits): `to_string().parse()` gives the same means and stds bit for bit and
    /// the same weights up to the rounding of renormalisation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for k in 0..self.n_components() {
            if k > 0 {
                f.write_str("/")?;
            }
            write!(f, "{:?}@", self.weights[k])?;
            for (j, m) in self.means.row(k).iter().enumerate() {
                if j > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{m:?}")?;
            }
            write!(f, "~{:?}", self.stds[k])?;
        }
        Ok(())
    }
}

/// Fails if an `n x d` array of `f64` (and the labels of its rows) overflows or
/// cannot be allocated: the check of the `try_` samplers, made before the draw.
fn ensure_allocatable(what: &str, n: usize, d: usize) -> Result<()> {
    // the array and one label per row
    let len = crate::limits::array_len(what, &[n, d + 1])?;
    crate::limits::check_alloc(what, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_counts_put_the_remainder_last() {
        assert_eq!(balanced_counts(10, 4), vec![2, 2, 3, 3]);
        assert_eq!(balanced_counts(7, 2), vec![3, 4]);
        assert_eq!(balanced_counts(8, 2), vec![4, 4]);
        assert_eq!(balanced_counts(3, 5), vec![0, 0, 1, 1, 1]);
        assert_eq!(balanced_counts(0, 5), vec![0; 5]);
    }
}
