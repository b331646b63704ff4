//! Two-sample tests on `n x d` samples, with one shared configuration.
//!
//! | name | statistic | p-value |
//! |---|---|---|
//! | `ks` | 1-D: scipy's two-sample `D`. d > 1: `D` of the most significant of the `d` coordinate marginals and [`TwoSampleConfig::projections`] random directions | 1-D: exact / asymptotic as scipy. d > 1: Bonferroni, `min(1, J min_j p_j)` over the `J` projections |
//! | `ad` | standardised midrank Anderson-Darling k-sample statistic; d > 1: the largest over the same projections as `ks` | permutation of that statistic (see below) |
//! | `energy` | V-statistic `2 E|X-Y| - E|X-X'| - E|Y-Y'|` | permutation |
//! | `mmd` | unbiased MMD^2 at the median bandwidth | permutation per bandwidth, min-p over the bandwidths |
//! | `sliced_w2` | `sqrt(mean_l W2^2(<x, u_l>, <y, u_l>))` over [`TwoSampleConfig::slices`] fixed random directions (one direction in 1-D) | permutation |
//! | `w1` (1-D) | exact W1 | permutation |
//! | `ks2d` (2-D) | Fasano-Franceschini `D` (average of the two origin sets, as in Press et al.'s `ks2d2s`) | permutation |
//!
//! Anderson-Darling in d > 1: each projection's statistic is standardised to null
//! mean 0 and variance 1, and their maximum is calibrated by permutation (the same
//! relabelling for every projection). This is a family-wise exact correction over
//! the projections, like Bonferroni, but it keeps the permutation resolution
//! `1/(B+1)`: Bonferroni on permutation p-values needs `B >= J / alpha` before it
//! can reject at all, and a min-p combination has many ties at small `B` (with
//! `J = 11` projections and `B = 99` it rejected 1.5% of null replicates at 5%).
//!
//! All permutation tests use the same relabellings for a given seed (permutation
//! `b` from `rng::stream(seed, b)`), so their statistics are computed on the same
//! permuted pairs. Random directions come from streams reserved for them
//! (`DIRECTION_STREAM`, `SLICE_STREAM`), fixed by the seed and shared by the
//! observed and every permuted labelling.

use super::pairwise::{energy_test_cancel, mmd_test_cancel, DEFAULT_BANDWIDTH_FACTORS};
use super::permutation::{permutation_stats, pvalue};
use super::univariate::{ks_2samp_pvalue, SortedPooled};
use super::{validate_pair, TestResult};
use crate::{Error, Result};
use ndarray::ArrayView2;
use rand_distr::{Distribution, StandardNormal};
use std::sync::atomic::AtomicBool;

/// Stream index of the random projection directions of `ks` and `ad`.
pub const DIRECTION_STREAM: u64 = 1 << 62;
/// Stream index of the sliced-Wasserstein directions.
pub const SLICE_STREAM: u64 = (1 << 62) + 1;

/// Settings shared by the two-sample tests.
///
/// The lifetime is that of the optional cancel flag, borrowed as the samplers and
/// [`crate::run::Hooks`] borrow theirs (`Option<&AtomicBool>`), so that each caller
/// can have its own flag.
#[derive(Debug, Clone)]
pub struct TwoSampleConfig<'a> {
    /// Number of permutations `B` of the permutation tests (default 999, so that
    /// p-values reach 0.001).
    pub permutations: usize,
    /// Seed of the permutations and random directions.
    pub seed: u64,
    /// Random directions added to the `d` coordinate marginals for `ks` and `ad`
    /// when d > 1 (default 8).
    pub projections: usize,
    /// Directions of the sliced Wasserstein test when d > 1 (default 64).
    pub slices: usize,
    /// MMD bandwidth factors (default `1/8, 1/4, 1/2, 1, 2` times the median).
    pub bandwidth_factors: Vec<f64>,
    /// A flag that stops the tests when set, from any thread: the permutation and
    /// Monte Carlo loops poll it between small batches of draws and then return
    /// [`Error::Cancelled`]. It is no setting of the tests: it changes no result
    /// and `==` ignores it. Default: none.
    pub cancel: Option<&'a AtomicBool>,
}

impl PartialEq for TwoSampleConfig<'_> {
    /// Equal settings (the cancel flag is not compared).
    fn eq(&self, o: &Self) -> bool {
        self.permutations == o.permutations
            && self.seed == o.seed
            && self.projections == o.projections
            && self.slices == o.slices
            && self.bandwidth_factors == o.bandwidth_factors
    }
}

impl Default for TwoSampleConfig<'_> {
    fn default() -> Self {
        Self {
            permutations: 999,
            seed: 0,
            projections: 8,
            slices: 64,
            bandwidth_factors: DEFAULT_BANDWIDTH_FACTORS.to_vec(),
            cancel: None,
        }
    }
}

/// `k` uniformly random unit vectors in `R^d` from stream `(seed, stream)`.
pub fn random_directions(d: usize, k: usize, seed: u64, stream: u64) -> Vec<Vec<f64>> {
    let mut rng = crate::rng::stream(seed, stream);
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-12 {
            out.push(v.iter().map(|a| a / norm).collect());
        }
    }
    out
}

fn project(x: ArrayView2<f64>, u: &[f64]) -> Vec<f64> {
    x.outer_iter()
        .map(|r| r.iter().zip(u).map(|(a, b)| a * b).sum())
        .collect()
}

/// The `d` marginals followed by `extra` random directions (d > 1), or the single
/// coordinate (d = 1).
fn ks_ad_directions(d: usize, cfg: &TwoSampleConfig) -> Vec<Vec<f64>> {
    let mut dirs: Vec<Vec<f64>> = (0..d)
        .map(|c| (0..d).map(|k| if k == c { 1.0 } else { 0.0 }).collect())
        .collect();
    if d > 1 {
        dirs.extend(random_directions(
            d,
            cfg.projections,
            cfg.seed,
            DIRECTION_STREAM,
        ));
    }
    dirs
}

fn check_b(cfg: &TwoSampleConfig) -> Result<()> {
    super::pairwise::check_permutations(cfg.permutations)
}

/// Kolmogorov-Smirnov (`ks`): see the module table.
///
/// # Errors
/// Empty, non-finite or dimension-mismatched input.
pub fn ks(x: ArrayView2<f64>, y: ArrayView2<f64>, cfg: &TwoSampleConfig) -> Result<TestResult> {
    validate_pair(x, y)?;
    if x.ncols() == 1 {
        // exactly scipy's ks_2samp, lattice-rounded statistic included
        let r = super::univariate::ks_2samp(&project(x, &[1.0]), &project(y, &[1.0]))?;
        return Ok(TestResult::new("ks", r.statistic, r.pvalue));
    }
    let dirs = ks_ad_directions(x.ncols(), cfg);
    let j = dirs.len() as f64;
    let mut best = (f64::INFINITY, 0.0);
    for u in &dirs {
        let sp = SortedPooled::new(&project(x, u), &project(y, u));
        let d = sp.ks(&sp.identity_labels());
        let (p, _) = ks_2samp_pvalue(x.nrows(), y.nrows(), d);
        if p < best.0 {
            best = (p, d);
        }
    }
    Ok(TestResult::new("ks", best.1, (best.0 * j).min(1.0)))
}

/// Anderson-Darling k-sample (`ad`): see the module table.
///
/// # Errors
/// Bad input, `permutations == 0`, or fewer than 4 points in all.
pub fn ad(x: ArrayView2<f64>, y: ArrayView2<f64>, cfg: &TwoSampleConfig) -> Result<TestResult> {
    validate_pair(x, y)?;
    check_b(cfg)?;
    super::require_rows(
        x.nrows() + y.nrows(),
        4,
        "the Anderson-Darling k-sample test",
    )?;
    let pooled: Vec<SortedPooled> = ks_ad_directions(x.ncols(), cfg)
        .iter()
        .map(|u| SortedPooled::new(&project(x, u), &project(y, u)))
        .collect();
    let identity = pooled[0].identity_labels();
    let stats = permutation_stats(&identity, cfg.permutations, cfg.seed, cfg.cancel, |lab| {
        let max = pooled
            .iter()
            .map(|sp| sp.ad_standardised(lab))
            .fold(f64::NEG_INFINITY, f64::max);
        vec![max]
    })?;
    let col: Vec<f64> = stats.iter().map(|s| s[0]).collect();
    Ok(TestResult::new("ad", col[0], pvalue(&col)))
}

/// Energy distance (`energy`), permutation p-value.
///
/// # Errors
/// Bad input or `permutations == 0`.
pub fn energy(x: ArrayView2<f64>, y: ArrayView2<f64>, cfg: &TwoSampleConfig) -> Result<TestResult> {
    energy_test_cancel(x, y, cfg.permutations, cfg.seed, cfg.cancel)
}

/// MMD^2 at several bandwidths (`mmd`), min-p combined permutation p-value.
///
/// # Errors
/// Bad input, `permutations == 0`, bad factors, fewer than 2 points per sample.
pub fn mmd(x: ArrayView2<f64>, y: ArrayView2<f64>, cfg: &TwoSampleConfig) -> Result<TestResult> {
    let r = mmd_test_cancel(
        x,
        y,
        &cfg.bandwidth_factors,
        cfg.permutations,
        cfg.seed,
        cfg.cancel,
    )?;
    Ok(r.to_test_result(&cfg.bandwidth_factors))
}

/// Sliced Wasserstein-2 (`sliced_w2`), permutation p-value.
///
/// # Errors
/// Bad input, `permutations == 0`, or `slices == 0` when d > 1.
pub fn sliced_w2(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    cfg: &TwoSampleConfig,
) -> Result<TestResult> {
    validate_pair(x, y)?;
    check_b(cfg)?;
    let d = x.ncols();
    let dirs = if d == 1 {
        vec![vec![1.0]]
    } else {
        if cfg.slices == 0 {
            return Err(Error::InvalidParameter {
                name: "slices",
                value: 0.0,
                reason: "need at least one direction",
            });
        }
        random_directions(d, cfg.slices, cfg.seed, SLICE_STREAM)
    };
    let pooled: Vec<SortedPooled> = dirs
        .iter()
        .map(|u| SortedPooled::new(&project(x, u), &project(y, u)))
        .collect();
    let identity = pooled[0].identity_labels();
    let l = pooled.len() as f64;
    let stats = permutation_stats(&identity, cfg.permutations, cfg.seed, cfg.cancel, |lab| {
        vec![(pooled.iter().map(|sp| sp.w2_squared(lab)).sum::<f64>() / l).sqrt()]
    })?;
    let col: Vec<f64> = stats.iter().map(|s| s[0]).collect();
    Ok(TestResult::new("sliced_w2", col[0], pvalue(&col)))
}

/// Exact 1-D Wasserstein-1 (`w1`), permutation p-value. 1-D input only.
///
/// # Errors
/// Bad input, d != 1, or `permutations == 0`.
pub fn w1(x: ArrayView2<f64>, y: ArrayView2<f64>, cfg: &TwoSampleConfig) -> Result<TestResult> {
    validate_pair(x, y)?;
    check_b(cfg)?;
    if x.ncols() != 1 {
        return Err(Error::DimensionMismatch {
            what: "w1 (1-D only)",
            expected: 1,
            got: x.ncols(),
        });
    }
    let sp = SortedPooled::new(&project(x, &[1.0]), &project(y, &[1.0]));
    let stats = permutation_stats(
        &sp.identity_labels(),
        cfg.permutations,
        cfg.seed,
        cfg.cancel,
        |lab| vec![sp.w1(lab)],
    )?;
    let col: Vec<f64> = stats.iter().map(|s| s[0]).collect();
    Ok(TestResult::new("w1", col[0], pvalue(&col)))
}

/// 2-D Kolmogorov-Smirnov (`ks2d`, Fasano & Franceschini 1987), permutation
/// p-value. 2-D input only.
///
/// # Errors
/// Bad input, d != 2, or `permutations == 0`.
pub fn ks2d(x: ArrayView2<f64>, y: ArrayView2<f64>, cfg: &TwoSampleConfig) -> Result<TestResult> {
    validate_pair(x, y)?;
    check_b(cfg)?;
    if x.ncols() != 2 {
        return Err(Error::DimensionMismatch {
            what: "ks2d (2-D only)",
            expected: 2,
            got: x.ncols(),
        });
    }
    let k = Ks2d::new(x, y);
    let identity: Vec<bool> = (0..k.n + k.m).map(|i| i < k.n).collect();
    let stats = permutation_stats(&identity, cfg.permutations, cfg.seed, cfg.cancel, |lab| {
        vec![k.stat(lab)]
    })?;
    let col: Vec<f64> = stats.iter().map(|s| s[0]).collect();
    Ok(TestResult::new("ks2d", col[0], pvalue(&col)))
}

/// The Fasano-Franceschini statistic for any labelling in `O(N log N)`: a sweep in
/// x with a Fenwick tree over the ranks of y counts, for every pooled point taken
/// as origin, the points of each sample in the four quadrants
/// (`x' <= x` / `x' > x`, `y' <= y` / `y' > y`).
struct Ks2d {
    n: usize,
    m: usize,
    /// pooled indices sorted by x, and the ends of groups of equal x
    by_x: Vec<usize>,
    x_group_end: Vec<usize>,
    /// rank (1-based) of each point's y among the distinct y values
    yrank: Vec<usize>,
    nranks: usize,
    /// label-independent counts: points with x' <= x and y' <= y, and y' <= y
    ll_all: Vec<usize>,
    below_all: Vec<usize>,
}

fn fen_add(t: &mut [u32], mut i: usize) {
    while i < t.len() {
        t[i] += 1;
        i += i & i.wrapping_neg();
    }
}

fn fen_sum(t: &[u32], mut i: usize) -> usize {
    let mut s = 0usize;
    while i > 0 {
        s += t[i] as usize;
        i -= i & i.wrapping_neg();
    }
    s
}

impl Ks2d {
    fn new(x: ArrayView2<f64>, y: ArrayView2<f64>) -> Self {
        let pts: Vec<(f64, f64)> = x
            .outer_iter()
            .chain(y.outer_iter())
            .map(|r| (r[0], r[1]))
            .collect();
        let nn = pts.len();
        let mut by_x: Vec<usize> = (0..nn).collect();
        by_x.sort_by(|&a, &b| pts[a].0.total_cmp(&pts[b].0));
        let mut x_group_end = Vec::new();
        for k in 1..nn {
            #[allow(clippy::float_cmp)] // exact ties are what groups mean here
            if pts[by_x[k]].0 != pts[by_x[k - 1]].0 {
                x_group_end.push(k);
            }
        }
        x_group_end.push(nn);
        let mut ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        ys.sort_by(f64::total_cmp);
        ys.dedup();
        let yrank: Vec<usize> = pts
            .iter()
            .map(|p| ys.partition_point(|&v| v < p.1) + 1)
            .collect();
        let nranks = ys.len();
        let mut per_rank = vec![0usize; nranks + 1];
        for &r in &yrank {
            per_rank[r] += 1;
        }
        let mut below = vec![0usize; nranks + 1];
        for r in 1..=nranks {
            below[r] = below[r - 1] + per_rank[r];
        }
        let below_all = yrank.iter().map(|&r| below[r]).collect();
        let mut ll_all = vec![0usize; nn];
        let mut fen = vec![0u32; nranks + 1];
        let mut start = 0;
        for &end in &x_group_end {
            for &i in &by_x[start..end] {
                fen_add(&mut fen, yrank[i]);
            }
            for &i in &by_x[start..end] {
                ll_all[i] = fen_sum(&fen, yrank[i]);
            }
            start = end;
        }
        Self {
            n: x.nrows(),
            m: y.nrows(),
            by_x,
            x_group_end,
            yrank,
            nranks,
            ll_all,
            below_all,
        }
    }

    fn stat(&self, labels: &[bool]) -> f64 {
        let (nf, mf) = (self.n as f64, self.m as f64);
        let mut per_rank = vec![0usize; self.nranks + 1];
        for (i, &l) in labels.iter().enumerate() {
            if l {
                per_rank[self.yrank[i]] += 1;
            }
        }
        let mut below_x = vec![0usize; self.nranks + 1];
        for r in 1..=self.nranks {
            below_x[r] = below_x[r - 1] + per_rank[r];
        }
        let mut fen = vec![0u32; self.nranks + 1];
        let (mut left_x, mut left_all) = (0usize, 0usize);
        let (mut d1, mut d2) = (0.0f64, 0.0f64);
        let mut start = 0;
        for &end in &self.x_group_end {
            for &i in &self.by_x[start..end] {
                left_all += 1;
                if labels[i] {
                    left_x += 1;
                    fen_add(&mut fen, self.yrank[i]);
                }
            }
            for &i in &self.by_x[start..end] {
                let r = self.yrank[i];
                let ll_x = fen_sum(&fen, r);
                let ll_y = self.ll_all[i] - ll_x;
                let bx = below_x[r];
                let by = self.below_all[i] - bx;
                let left_y = left_all - left_x;
                let qx = [ll_x, left_x - ll_x, bx - ll_x];
                let qy = [ll_y, left_y - ll_y, by - ll_y];
                let mut diff: f64 = 0.0;
                let (mut sx, mut sy) = (0.0, 0.0);
                for (a, b) in qx.iter().zip(&qy) {
                    let (fa, fb) = (*a as f64 / nf, *b as f64 / mf);
                    sx += fa;
                    sy += fb;
                    diff = diff.max((fa - fb).abs());
                }
                diff = diff.max(((1.0 - sx) - (1.0 - sy)).abs());
                if labels[i] {
                    d1 = d1.max(diff);
                } else {
                    d2 = d2.max(diff);
                }
            }
            start = end;
        }
        0.5 * (d1 + d2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng as _;

    /// Fasano-Franceschini by brute force: for each origin, the fraction of each
    /// sample in each quadrant (`x' <= x` / `x' > x`, `y' <= y` / `y' > y`).
    fn ks2d_naive(x: &Array2<f64>, y: &Array2<f64>) -> f64 {
        let frac = |s: &Array2<f64>, ox: f64, oy: f64| -> [f64; 4] {
            let mut q = [0.0; 4];
            for r in s.outer_iter() {
                let k = usize::from(r[0] > ox) * 2 + usize::from(r[1] > oy);
                q[k] += 1.0;
            }
            q.map(|c| c / s.nrows() as f64)
        };
        let side = |origins: &Array2<f64>| -> f64 {
            origins
                .outer_iter()
                .map(|o| {
                    let (a, b) = (frac(x, o[0], o[1]), frac(y, o[0], o[1]));
                    (0..4).map(|k| (a[k] - b[k]).abs()).fold(0.0, f64::max)
                })
                .fold(0.0, f64::max)
        };
        0.5 * (side(x) + side(y))
    }

    #[test]
    fn ks2d_sweep_matches_brute_force_with_ties() {
        let mut rng = crate::rng::seeded(4);
        // coordinates on a coarse grid, so that ties in x and in y are common
        let mut draw =
            |n: usize| Array2::from_shape_fn((n, 2), |_| f64::from(rng.random_range(0..7u8)) * 0.5);
        for (n, m) in [(13, 9), (30, 41), (5, 5)] {
            let (x, y) = (draw(n), draw(m));
            let k = Ks2d::new(x.view(), y.view());
            let identity: Vec<bool> = (0..n + m).map(|i| i < n).collect();
            let fast = k.stat(&identity);
            let slow = ks2d_naive(&x, &y);
            assert!((fast - slow).abs() < 1e-12, "{n} {m}: {fast} vs {slow}");
        }
    }

    #[test]
    fn marginal_ks_in_2d_is_bonferroni_of_the_scipy_pvalues() {
        // with no random projections, ks in 2-D is min(1, 2 min(p_1, p_2))
        let mut rng = crate::rng::seeded(5);
        let x = Array2::from_shape_fn((40, 2), |(_, j)| rng.random::<f64>() + 0.3 * j as f64);
        let y = Array2::from_shape_fn((50, 2), |_| rng.random::<f64>());
        let cfg = TwoSampleConfig {
            projections: 0,
            ..TwoSampleConfig::default()
        };
        let r = ks(x.view(), y.view(), &cfg).unwrap();
        let p: Vec<f64> = (0..2)
            .map(|c| {
                let a = x.column(c).to_vec();
                let b = y.column(c).to_vec();
                super::super::univariate::ks_2samp(&a, &b).unwrap().pvalue
            })
            .collect();
        let expected = (2.0 * p[0].min(p[1])).min(1.0);
        assert!(
            (r.pvalue - expected).abs() < 1e-15,
            "{} vs {expected}",
            r.pvalue
        );
    }
}
