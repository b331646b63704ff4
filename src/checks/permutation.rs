//! Permutation machinery shared by the two-sample tests.
//!
//! Permutation `b` (1-based; 0 is the observed labelling) shuffles the observed
//! labels with its own generator `rng::stream(seed, b)`, so the set of permutations
//! depends only on the seed and the work can be split freely across threads.

use crate::{Error, Result};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Relative tolerance for `T_b >= T_obs`: permuted statistics that equal the
/// observed one up to rounding count as ties (as in scipy's `permutation_test`).
pub(crate) const TIE_RTOL: f64 = 1e-12;

/// The labels of permutation `b >= 1`: a uniform shuffle of `identity`.
pub(crate) fn permuted_labels(identity: &[bool], seed: u64, b: usize) -> Vec<bool> {
    let mut labels = identity.to_vec();
    let mut rng = crate::rng::stream(seed, b as u64);
    labels.shuffle(&mut rng);
    labels
}

/// [`Error::Cancelled`] when the flag is set.
pub(crate) fn poll(cancel: Option<&AtomicBool>) -> Result<()> {
    match cancel {
        Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
        _ => Ok(()),
    }
}

/// `f(k)` for every `k` in `range`, in parallel, in order; [`Error::Cancelled`]
/// when `cancel` is set before or during the run. Every item reads the flag before
/// its work and skips the work when it is set, so a cancel takes effect within one
/// item per thread. The flag is only read: the values never depend on it.
pub(crate) fn par_map_cancel<T, F>(
    range: std::ops::Range<usize>,
    cancel: Option<&AtomicBool>,
    f: F,
) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    poll(cancel)?;
    let out: Vec<Option<T>> = range
        .into_par_iter()
        .map(|k| poll(cancel).ok().map(|()| f(k)))
        .collect();
    out.into_iter()
        .collect::<Option<Vec<T>>>()
        .ok_or(Error::Cancelled)
}

/// Evaluates `stat` (a vector of statistics) on the observed labelling (index 0) and
/// on `b` permutations (indices 1..=b), in parallel; the output order is fixed.
/// Each permutation first polls `cancel` ([`par_map_cancel`]).
pub(crate) fn permutation_stats<F>(
    identity: &[bool],
    b: usize,
    seed: u64,
    cancel: Option<&AtomicBool>,
    stat: F,
) -> Result<Vec<Vec<f64>>>
where
    F: Fn(&[bool]) -> Vec<f64> + Sync,
{
    par_map_cancel(0..b + 1, cancel, |k| {
        if k == 0 {
            stat(identity)
        } else {
            stat(&permuted_labels(identity, seed, k))
        }
    })
}

fn ge_with_tol(t: f64, obs: f64) -> bool {
    t >= obs - TIE_RTOL * obs.abs()
}

/// `(1 + #{b >= 1 : T_b >= T_0}) / (1 + B)` for one statistic (index 0 observed).
pub(crate) fn pvalue(stats: &[f64]) -> f64 {
    let obs = stats[0];
    let count = stats.iter().filter(|&&t| ge_with_tol(t, obs)).count();
    count as f64 / stats.len() as f64
}

/// Westfall-Young single-step min-p combination of several statistics computed on
/// the same permutations. `stats[b][j]` is statistic `j` under permutation `b`
/// (`b = 0` observed). Each statistic's p-value under each permutation is its rank
/// among all `B + 1` values; the combined p-value is the rank of the observed
/// minimum p among the minima of all permutations. It controls the family-wise
/// error exactly, adapts to the dependence between the statistics and, unlike
/// Bonferroni, keeps the resolution `1/(B+1)`.
///
/// Returns `(combined p, per-statistic p of the observed labelling)`.
pub(crate) fn min_p(stats: &[Vec<f64>]) -> (f64, Vec<f64>) {
    let nb = stats.len();
    let nj = stats[0].len();
    // counts[b] = min over j of #{c : T_c,j >= T_b,j}
    let mut min_count = vec![usize::MAX; nb];
    let mut observed = Vec::with_capacity(nj);
    for j in 0..nj {
        let col: Vec<f64> = stats.iter().map(|s| s[j]).collect();
        let mut sorted = col.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        for (b, &t) in col.iter().enumerate() {
            // number of values >= t (with tolerance): nb - (first index with value >= t - tol)
            let thr = t - TIE_RTOL * t.abs();
            let first = sorted.partition_point(|&v| v < thr);
            let count = nb - first;
            min_count[b] = min_count[b].min(count);
            if b == 0 {
                observed.push(count as f64 / nb as f64);
            }
        }
    }
    let m0 = min_count[0];
    let count = min_count.iter().filter(|&&c| c <= m0).count();
    (count as f64 / nb as f64, observed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_cancel_keeps_order_and_stops_on_the_flag() {
        let square = |k: usize| (k * k) as f64;
        let want: Vec<f64> = (0..5000).map(square).collect();
        assert_eq!(par_map_cancel(0..5000, None, square).unwrap(), want);
        let unset = AtomicBool::new(false);
        assert_eq!(par_map_cancel(0..5000, Some(&unset), square).unwrap(), want);
        let set = AtomicBool::new(true);
        let r = par_map_cancel(0..5000, Some(&set), |_| panic!("no item may run"));
        assert_eq!(r.unwrap_err(), Error::Cancelled);
        // set during the run (by item 10): the items after it skip their work
        let flag = AtomicBool::new(false);
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let r = par_map_cancel(0..1_000_000, Some(&flag), |k| {
            ran.fetch_add(1, Ordering::Relaxed);
            if k == 10 {
                flag.store(true, Ordering::Relaxed);
            }
            k
        });
        assert_eq!(r.unwrap_err(), Error::Cancelled);
        assert!(ran.load(Ordering::Relaxed) < 1_000_000);
    }

    #[test]
    fn pvalue_counts_the_observed_itself() {
        assert!((pvalue(&[5.0, 1.0, 2.0, 3.0]) - 0.25).abs() < 1e-15);
        assert!((pvalue(&[0.0, 1.0, 2.0, 3.0]) - 1.0).abs() < 1e-15);
        assert!((pvalue(&[2.0, 1.0, 2.0, 3.0]) - 0.75).abs() < 1e-15);
    }

    #[test]
    fn min_p_with_one_statistic_is_the_plain_pvalue() {
        let stats: Vec<Vec<f64>> = [3.0, 1.0, 4.0, 2.0, 5.0].iter().map(|&t| vec![t]).collect();
        let (p, obs) = min_p(&stats);
        assert!((p - 0.6).abs() < 1e-15);
        assert!((obs[0] - 0.6).abs() < 1e-15);
    }

    #[test]
    fn shuffles_keep_the_label_counts() {
        let id: Vec<bool> = (0..10).map(|i| i < 4).collect();
        let l = permuted_labels(&id, 3, 1);
        assert_eq!(l.iter().filter(|&&v| v).count(), 4);
        assert_eq!(l, permuted_labels(&id, 3, 1));
    }
}
