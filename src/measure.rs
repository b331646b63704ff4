//! Measuring what a generative model learned: memorisation and generalisation.
//!
//! A sampler can match the data law by copying its training set. Two numbers tell
//! copying from generalising:
//!
//! * **The memorisation meter** of Gu et al. (2025, "On memorization in diffusion
//!   models"): a sample `x` is *memorised* when `d(x, nn1) / d(x, nn2) < t`, with
//!   `nn1`, `nn2` its nearest and second-nearest training points and `t = 1/3` by
//!   default. A sample at distance 0 from a training point is memorised (ratio 0, also
//!   when that training point is duplicated). The fraction is not 0 for fresh draws
//!   of the true law: around a point where the law is smooth, the training set looks
//!   like a Poisson process, for which `V1 / V2` (the volumes of the balls of radii
//!   `r1 <= r2`) is uniform on `(0, 1)`, so `P(r1 / r2 < t) = t^d` (1/9 in 2-D).
//!   The fraction of held-out points is therefore always reported beside it as the
//!   baseline. Distances are computed exactly, by brute force over the training set,
//!   in parallel over fixed chunks of samples: the result does not depend on the
//!   thread count.
//! * **Distances in law**: the exact `W2` ([`crate::samplers::wasserstein::w2`])
//!   between the samples and held-out points, against `W2` between the samples and
//!   a training subset of the same size, with the noise floor `W2` between two
//!   disjoint draws of the same law (two halves of the held-out set, or a second
//!   held-out draw). All three use `m` points, since `W2` between empirical measures
//!   shrinks with `m`. A copying sampler is much closer to the training set than to
//!   the held-out set; a generalising one is about equally far from both, and both
//!   are near the noise floor.

use crate::error::ensure_finite;
use crate::samplers::wasserstein::{self, MAX_POINTS};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use serde::Serialize;

/// The threshold of Gu et al. (2025): memorised when `d1 / d2 < 1/3`.
pub const DEFAULT_THRESHOLD: f64 = 1.0 / 3.0;

/// Samples per parallel chunk (fixed, so the work split never depends on the pool).
const CHUNK: usize = 64;

/// Nearest / second-nearest distance ratio of each row of `points` against the
/// rows of `train` (at least 2 rows, same columns, all finite).
///
/// The ratio is `d1 / d2` with `d1 <= d2` the two smallest Euclidean distances
/// (duplicated training points count twice), and `0` when `d1 = 0`.
///
/// # Errors
/// Empty `points`, fewer than 2 training points, different columns, non-finite
/// entries.
pub fn nearest_ratios(points: ArrayView2<f64>, train: ArrayView2<f64>) -> Result<Vec<f64>> {
    if points.nrows() == 0 {
        return Err(Error::Empty { what: "samples" });
    }
    if train.nrows() < 2 {
        return Err(Error::Invalid(format!(
            "the memorisation meter needs at least 2 training points, got {}",
            train.nrows()
        )));
    }
    crate::error::ensure_cols("training points", train, points.ncols())?;
    ensure_finite("samples", points)?;
    ensure_finite("training points", train)?;
    let train = train.as_standard_layout();
    let d = train.ncols();
    let flat = train.as_slice().expect("standard layout");
    let points = points.as_standard_layout();
    let rows: Vec<&[f64]> = points
        .axis_iter(Axis(0))
        .map(|r| r.to_slice().expect("standard layout"))
        .collect();
    let ratios = rows
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| chunk.iter().map(|x| ratio(x, flat, d)))
        .collect();
    Ok(ratios)
}

/// `d1 / d2` of one point against the training points stored row-major in `flat`.
fn ratio(x: &[f64], flat: &[f64], d: usize) -> f64 {
    let (mut d1, mut d2) = (f64::INFINITY, f64::INFINITY);
    for y in flat.chunks_exact(d.max(1)) {
        let mut s = 0.0;
        for (a, b) in x.iter().zip(y) {
            let e = a - b;
            s += e * e;
        }
        if s < d1 {
            d2 = d1;
            d1 = s;
        } else if s < d2 {
            d2 = s;
        }
    }
    if d1 == 0.0 {
        0.0
    } else {
        (d1 / d2).sqrt()
    }
}

/// A fraction `k / n` with its binomial standard error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fraction {
    /// Points counted.
    pub count: usize,
    /// Points in all.
    pub n: usize,
    /// `count / n`.
    pub fraction: f64,
    /// `sqrt(f (1 - f) / n)`.
    pub std_error: f64,
}

impl Fraction {
    /// `count / n` (`n > 0`).
    pub fn new(count: usize, n: usize) -> Self {
        let f = count as f64 / n as f64;
        Self {
            count,
            n,
            fraction: f,
            std_error: (f * (1.0 - f) / n as f64).sqrt(),
        }
    }
}

/// The memorisation meter applied to a point set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memorisation {
    /// The threshold `t`: memorised when `d1 / d2 < t`.
    pub threshold: f64,
    /// Memorised points among all.
    pub memorised: Fraction,
    /// The ratio `d1 / d2` of each point, in input order.
    #[serde(skip)]
    pub ratios: Vec<f64>,
}

/// Checks a memorisation threshold: in `(0, 1]`.
fn check_threshold(t: f64) -> Result<()> {
    if t.is_finite() && t > 0.0 && t <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "threshold",
            value: t,
            reason: "must be in (0, 1]",
        })
    }
}

/// The memorisation meter: the fraction of rows of `points` whose ratio
/// ([`nearest_ratios`]) is below `threshold` (in `(0, 1]`; a point at distance 0
/// from a training point always counts).
///
/// # Errors
/// As [`nearest_ratios`], and a threshold outside `(0, 1]`.
pub fn memorisation(
    points: ArrayView2<f64>,
    train: ArrayView2<f64>,
    threshold: f64,
) -> Result<Memorisation> {
    check_threshold(threshold)?;
    let ratios = nearest_ratios(points, train)?;
    let count = ratios.iter().filter(|&&r| r < threshold).count();
    Ok(Memorisation {
        threshold,
        memorised: Fraction::new(count, ratios.len()),
        ratios,
    })
}

/// Exact `W2` distances at a common size `m`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct W2Report {
    /// Points in each set.
    pub m: usize,
    /// `W2(samples, held-out)`.
    pub samples_test: f64,
    /// `W2(samples, training subset)`.
    pub samples_train: f64,
    /// `W2` between two disjoint draws of the data law (the noise floor).
    pub noise_floor: f64,
    /// Where the second draw of the noise floor came from.
    pub floor_from: &'static str,
}

/// What [`generalisation`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Memorisation threshold (default [`DEFAULT_THRESHOLD`]).
    pub threshold: f64,
    /// Points per set for `W2` (at most [`MAX_POINTS`]; fewer when the sets are
    /// smaller); `None` skips `W2`.
    pub w2_points: Option<usize>,
    /// Seed of the random subsets used for `W2`.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            w2_points: Some(1000),
            seed: 0,
        }
    }
}

/// The generalisation report: memorisation of samples and of held-out points, and
/// distances in law.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generalisation {
    /// Dimension of the points.
    pub dim: usize,
    /// Training points.
    pub n_train: usize,
    /// The meter on the samples.
    pub samples: Memorisation,
    /// The meter on the held-out points (the baseline), if given.
    pub test: Option<Memorisation>,
    /// The `W2` distances, when held-out points are given and `W2` is requested.
    pub w2: Option<W2Report>,
}

/// Rows `idx` of `a`.
fn rows(a: ArrayView2<f64>, idx: &[usize]) -> Array2<f64> {
    a.select(Axis(0), idx)
}

/// `m` distinct row indices out of `n` from the stream `(seed, k)`.
fn subset(seed: u64, k: u64, n: usize, m: usize) -> Vec<usize> {
    let mut rng = crate::rng::stream(seed, k);
    rand::seq::index::sample(&mut rng, n, m).into_vec()
}

/// Measures `samples` against the `train` set, with held-out points `test` (the
/// baseline of the meter and the reference of `W2`) and optionally a second
/// held-out draw `second` for the noise floor (else two disjoint halves of `test`).
///
/// # Errors
/// Empty sets, fewer than 2 training points, dimension mismatches, non-finite
/// entries, a threshold outside `(0, 1]`, `w2_points` of 0 or above [`MAX_POINTS`],
/// a held-out set with fewer than 2 points when `W2` needs its halves.
pub fn generalisation(
    samples: ArrayView2<f64>,
    train: ArrayView2<f64>,
    test: Option<ArrayView2<f64>>,
    second: Option<ArrayView2<f64>>,
    config: &Config,
) -> Result<Generalisation> {
    let dim = samples.ncols();
    crate::error::ensure_cols("training points", train, dim)?;
    if let Some(t) = test {
        crate::error::ensure_cols("held-out points", t, dim)?;
        if t.nrows() == 0 {
            return Err(Error::Empty {
                what: "held-out points",
            });
        }
        ensure_finite("held-out points", t)?;
    }
    if let Some(t) = second {
        crate::error::ensure_cols("second held-out draw", t, dim)?;
        if t.nrows() == 0 {
            return Err(Error::Empty {
                what: "second held-out draw",
            });
        }
        ensure_finite("second held-out draw", t)?;
        if test.is_none() {
            return Err(Error::Invalid(
                "a second held-out draw needs the held-out points too".into(),
            ));
        }
    }
    if let Some(k) = config.w2_points {
        if k == 0 || k > MAX_POINTS {
            return Err(Error::InvalidParameter {
                name: "W2 points",
                value: k as f64,
                reason: "exact W2 takes 1 to 4000 points (time grows like n^3)",
            });
        }
    }
    let s = memorisation(samples, train, config.threshold)?;
    let t = test
        .map(|t| memorisation(t, train, config.threshold))
        .transpose()?;
    let w2 = match (test, config.w2_points) {
        (Some(test), Some(k)) => Some(distances(samples, train, test, second, k, config.seed)?),
        _ => None,
    };
    Ok(Generalisation {
        dim,
        n_train: train.nrows(),
        samples: s,
        test: t,
        w2,
    })
}

/// The three `W2` distances at a common size `m <= k`.
fn distances(
    samples: ArrayView2<f64>,
    train: ArrayView2<f64>,
    test: ArrayView2<f64>,
    second: Option<ArrayView2<f64>>,
    k: usize,
    seed: u64,
) -> Result<W2Report> {
    let (a, b, floor_from) = match second {
        Some(b) => (test.to_owned(), b.to_owned(), "second held-out draw"),
        None => {
            let n = test.nrows();
            if n < 2 {
                return Err(Error::Invalid(format!(
                    "the W2 noise floor needs at least 2 held-out points (two halves), got {n}"
                )));
            }
            let perm = subset(seed, 0, n, n);
            let half = n / 2;
            (
                rows(test, &perm[..half]),
                rows(test, &perm[half..2 * half]),
                "two halves of the held-out points",
            )
        }
    };
    let m = k
        .min(samples.nrows())
        .min(train.nrows())
        .min(a.nrows())
        .min(b.nrows());
    let xs = rows(samples, &subset(seed, 1, samples.nrows(), m));
    let tr = rows(train, &subset(seed, 2, train.nrows(), m));
    let ta = rows(a.view(), &subset(seed, 3, a.nrows(), m));
    let tb = rows(b.view(), &subset(seed, 4, b.nrows(), m));
    Ok(W2Report {
        m,
        samples_test: wasserstein::w2(xs.view(), ta.view())?,
        samples_train: wasserstein::w2(xs.view(), tr.view())?,
        noise_floor: wasserstein::w2(ta.view(), tb.view())?,
        floor_from,
    })
}

impl Generalisation {
    /// The report as pretty-printed JSON (without the per-point ratios).
    ///
    /// # Errors
    /// Serialisation failure (non-finite numbers are written as `null`).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(format!("json: {e}")))
    }
}

impl std::fmt::Display for Generalisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.samples.threshold;
        writeln!(
            f,
            "memorised (d1/d2 < {t:.3}, against {} training points, d = {}):",
            self.n_train, self.dim
        )?;
        let line = |f: &mut std::fmt::Formatter<'_>, what: &str, m: &Memorisation| {
            let q = &m.memorised;
            writeln!(
                f,
                "  {what:<22} {:.4} +- {:.4}  ({} of n = {})",
                q.fraction, q.std_error, q.count, q.n
            )
        };
        line(f, "samples", &self.samples)?;
        match &self.test {
            Some(m) => line(f, "held-out (baseline)", m)?,
            None => writeln!(
                f,
                "  held-out (baseline)    not measured (no held-out points)"
            )?,
        }
        if let Some(w) = &self.w2 {
            writeln!(f, "exact W2 (m = {} points per set):", w.m)?;
            writeln!(f, "  {:<22} {:.4}", "samples vs held-out", w.samples_test)?;
            writeln!(f, "  {:<22} {:.4}", "samples vs training", w.samples_train)?;
            writeln!(
                f,
                "  {:<22} {:.4}  ({})",
                "noise floor", w.noise_floor, w.floor_from
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ratio_by_hand_ties_and_duplicates() {
        let train = array![[0.0, 0.0], [3.0, 0.0], [3.0, 0.0]];
        let x = array![[1.0, 0.0], [3.0, 0.0], [2.0, 0.0], [1.5, 0.0]];
        let r = nearest_ratios(x.view(), train.view()).unwrap();
        // 1/2; 0 (on a duplicated point); 1/1 (two copies at distance 1); 1.5/1.5
        assert_eq!(r, vec![0.5, 0.0, 1.0, 1.0]);
        let m = memorisation(x.view(), train.view(), 0.6).unwrap();
        assert_eq!(m.memorised.count, 2);
    }

    #[test]
    fn bad_input() {
        let one = array![[0.0, 0.0]];
        let two = array![[0.0, 0.0], [1.0, 1.0]];
        let d3 = array![[0.0, 0.0, 0.0]];
        assert!(nearest_ratios(two.view(), one.view()).is_err());
        assert!(matches!(
            nearest_ratios(d3.view(), two.view()),
            Err(Error::DimensionMismatch { .. })
        ));
        let nan = array![[f64::NAN, 0.0]];
        assert!(matches!(
            nearest_ratios(nan.view(), two.view()),
            Err(Error::NonFinite { .. })
        ));
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(nearest_ratios(empty.view(), two.view()).is_err());
        for t in [0.0, -1.0, 1.5, f64::NAN] {
            assert!(memorisation(two.view(), two.view(), t).is_err());
        }
        let cfg = Config {
            w2_points: Some(MAX_POINTS + 1),
            ..Config::default()
        };
        assert!(generalisation(two.view(), two.view(), Some(two.view()), None, &cfg).is_err());
        let cfg = Config::default();
        assert!(generalisation(two.view(), two.view(), Some(one.view()), None, &cfg).is_err());
        assert!(generalisation(two.view(), two.view(), Some(d3.view()), None, &cfg).is_err());
    }
}
