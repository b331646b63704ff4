//! The exact 2-Wasserstein distance between two equal-size point sets.
//!
//! For two sets of `n` points with equal weights `1/n`, an optimal transport plan is
//! a permutation (Birkhoff's theorem), so
//! `W2^2 = min over permutations sigma of (1/n) sum_i |x_i - y_sigma(i)|^2`. The
//! assignment is solved exactly in `O(n^3)` by the shortest-augmenting-path form of
//! the Hungarian method (Kuhn 1955, Munkres 1957; the potentials form of Jonker and
//! Volgenant 1987), in `f64` (the `pathfinding` crate's `kuhn_munkres` needs integer
//! weights). About a second for `n = 1000`; the bench keeps `n` at or below
//! [`MAX_POINTS`].

use crate::{Error, Result};
use ndarray::ArrayView2;

/// The largest set size [`w2`] accepts (time grows like `n^3`).
pub const MAX_POINTS: usize = 4000;

/// The optimal assignment for the square cost matrix `cost` (`n x n`, row-major):
/// `assign[i]` is the column of row `i`; minimises `sum_i cost[i][assign[i]]`.
pub fn assignment(cost: &[f64], n: usize) -> Vec<usize> {
    assert_eq!(cost.len(), n * n, "cost must be n x n");
    // 1-based potentials u (rows), v (columns); p[j] = row matched to column j
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    let mut minv = vec![inf; n + 1];
    let mut used = vec![false; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        minv.iter_mut().for_each(|m| *m = inf);
        used.iter_mut().for_each(|b| *b = false);
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            let row = &cost[(i0 - 1) * n..i0 * n];
            for j in 1..=n {
                if !used[j] {
                    let cur = row[j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assign = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            assign[p[j] - 1] = j - 1;
        }
    }
    assign
}

/// The exact `W2` distance between the empirical measures of the rows of `x` and `y`
/// (same number of rows, same columns, finite, at most [`MAX_POINTS`] rows).
///
/// # Errors
/// Different shapes, empty or too large sets, non-finite entries.
pub fn w2(x: ArrayView2<f64>, y: ArrayView2<f64>) -> Result<f64> {
    let (n, d) = x.dim();
    if y.dim() != (n, d) {
        return Err(Error::Invalid(format!(
            "W2 needs two sets of the same shape, got {n} x {d} and {} x {}",
            y.nrows(),
            y.ncols()
        )));
    }
    if n == 0 {
        return Err(Error::Empty { what: "point set" });
    }
    if n > MAX_POINTS {
        return Err(Error::InvalidParameter {
            name: "points",
            value: n as f64,
            reason: "exact W2 takes at most 4000 points (O(n^3))",
        });
    }
    crate::error::ensure_finite("points", x)?;
    crate::error::ensure_finite("points", y)?;
    let mut cost = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut c = 0.0;
            for k in 0..d {
                let e = x[[i, k]] - y[[j, k]];
                c += e * e;
            }
            cost[i * n + j] = c;
        }
    }
    let a = assignment(&cost, n);
    let total: f64 = a.iter().enumerate().map(|(i, &j)| cost[i * n + j]).sum();
    Ok((total / n as f64).sqrt())
}
