//! Orders of the methods: order conditions from rooted trees (computed here, not
//! asserted by hand) and measured convergence slopes on a problem with a closed form.

use fieldflow::ode::problems::{Problem, SmoothLinear};
use fieldflow::ode::{solve, Method, SolverOptions, Tableau};

/// A rooted tree as the list of its subtrees (a leaf has none).
#[derive(Clone, Debug, PartialEq)]
struct Tree(Vec<Tree>);

impl Tree {
    fn order(&self) -> usize {
        1 + self.0.iter().map(Tree::order).sum::<usize>()
    }
    /// gamma(t) = |t| prod gamma(children).
    fn density(&self) -> f64 {
        self.order() as f64 * self.0.iter().map(Tree::density).product::<f64>()
    }
    /// Internal weights: Phi_i(t) = prod_children (A Phi(child))_i.
    fn phi(&self, a: &[Vec<f64>]) -> Vec<f64> {
        let s = a.len();
        let mut out = vec![1.0; s];
        for child in &self.0 {
            let pc = child.phi(a);
            for (i, o) in out.iter_mut().enumerate() {
                let aphi: f64 = a[i].iter().zip(&pc).map(|(x, y)| x * y).sum();
                *o *= aphi;
            }
        }
        out
    }
}

/// All rooted trees with `n` vertices: a root over a multiset of smaller trees.
fn trees(n: usize) -> Vec<Tree> {
    let by_order: Vec<Vec<Tree>> = (0..n)
        .map(|k| if k == 0 { vec![] } else { trees(k) })
        .collect();
    // Flatten the smaller trees into one ordered list so that multisets are
    // non-increasing index sequences.
    let pool: Vec<&Tree> = by_order.iter().flatten().collect();
    let mut out = Vec::new();
    fn rec(pool: &[&Tree], max_idx: usize, left: usize, cur: &mut Vec<Tree>, out: &mut Vec<Tree>) {
        if left == 0 {
            out.push(Tree(cur.clone()));
            return;
        }
        for idx in (0..=max_idx.min(pool.len().saturating_sub(1))).rev() {
            let t = pool[idx];
            if t.order() <= left {
                cur.push(t.clone());
                rec(pool, idx, left - t.order(), cur, out);
                cur.pop();
            }
        }
    }
    if n == 1 {
        return vec![Tree(vec![])];
    }
    let mut cur = Vec::new();
    rec(
        &pool,
        pool.len().saturating_sub(1),
        n - 1,
        &mut cur,
        &mut out,
    );
    out
}

/// Largest |b . Phi(t) - 1/gamma(t)| over the trees of order `n`, for weights `b`,
/// in units of its rounding-error bound 64 eps sum |b_i Phi_i(t)| (so a defect
/// below 1 is rounding; Tsit5's large coefficients make the raw sums differ from
/// 1/gamma by about 1e-14).
fn defect(a: &[Vec<f64>], b: &[f64], n: usize) -> f64 {
    trees(n)
        .iter()
        .map(|t| {
            let phi = t.phi(a);
            let lhs: f64 = b.iter().zip(&phi).map(|(x, y)| x * y).sum();
            let mag: f64 = b.iter().zip(&phi).map(|(x, y)| (x * y).abs()).sum();
            (lhs - 1.0 / t.density()).abs() / (64.0 * f64::EPSILON * mag)
        })
        .fold(0.0, f64::max)
}

/// The tableau's `a` as full square rows (zeros above the diagonal).
fn square(tab: &Tableau) -> Vec<Vec<f64>> {
    let s = tab.stages();
    tab.a
        .iter()
        .map(|row| {
            let mut r = row.clone();
            r.resize(s, 0.0);
            r
        })
        .collect()
}

#[test]
fn tree_counts_are_right() {
    // Number of rooted trees with n vertices (OEIS A000081).
    let counts: Vec<usize> = (1..=6).map(|n| trees(n).len()).collect();
    assert_eq!(counts, vec![1, 1, 2, 4, 9, 20]);
}

#[test]
fn every_method_satisfies_its_order_conditions_and_no_more() {
    for m in Method::ALL {
        let tab = m.tableau();
        let a = square(&tab);
        let p = tab.order as usize;
        for n in 1..=p {
            let d = defect(&a, &tab.b, n);
            assert!(
                d < 1.0,
                "{}: order-{n} conditions violated ({d:e} rounding bounds)",
                tab.name
            );
        }
        // The method is not of a higher order (else the stated order would be wrong).
        let d = defect(&a, &tab.b, p + 1);
        assert!(
            d > 1e6,
            "{}: also satisfies order {} ({d:e})",
            tab.name,
            p + 1
        );
        if let (Some(e), Some(q)) = (&tab.e, tab.error_order) {
            let bhat: Vec<f64> = tab.b.iter().zip(e).map(|(b, e)| b - e).collect();
            for n in 1..=q as usize {
                let d = defect(&a, &bhat, n);
                assert!(d < 1.0, "{} embedded: order-{n} defect {d:e}", tab.name);
            }
            let d = defect(&a, &bhat, q as usize + 1);
            assert!(d > 1e6, "{} embedded is of order > {q}", tab.name);
        }
    }
}

#[test]
fn tsit5_satisfies_all_seventeen_conditions_up_to_order_five() {
    let tab = Method::Tsit5.tableau();
    let a = square(&tab);
    let mut count = 0;
    for n in 1..=5 {
        for t in trees(n) {
            let phi = t.phi(&a);
            let lhs: f64 = tab.b.iter().zip(&phi).map(|(x, y)| x * y).sum();
            let mag: f64 = tab.b.iter().zip(&phi).map(|(x, y)| (x * y).abs()).sum();
            let err = (lhs - 1.0 / t.density()).abs();
            // Rounding bound of the sum: 64 eps sum |b_i Phi_i| (about 1e-13 here).
            assert!(
                err < 64.0 * f64::EPSILON * mag,
                "tree {t:?}: defect {err:e}"
            );
            count += 1;
        }
    }
    assert_eq!(count, 17);
}

/// A continuous extension of order p* satisfies, for every theta,
/// sum_i b_i(theta) Phi_i(t) = theta^|t| / gamma(t) for all trees with |t| <= p*.
#[test]
fn dense_output_satisfies_the_continuous_order_conditions() {
    // (method, order of its continuous extension)
    for (m, pstar) in [(Method::Dopri5, 4), (Method::Tsit5, 4), (Method::Bs3, 3)] {
        let tab = m.tableau();
        assert_eq!(tab.interp.len(), tab.stages(), "{} is FSAL", tab.name);
        let a = square(&tab);
        let mut w = vec![0.0; tab.stages()];
        for &theta in &[0.1, 0.37, 0.5, 0.81] {
            tab.interp_weights(theta, &mut w);
            for n in 1..=pstar {
                for t in trees(n) {
                    let phi = t.phi(&a);
                    let lhs: f64 = w.iter().zip(&phi).map(|(x, y)| x * y).sum();
                    let rhs = theta.powi(n as i32) / t.density();
                    assert!(
                        (lhs - rhs).abs() < 1e-13,
                        "{} theta = {theta}, order {n}: {lhs} vs {rhs}",
                        tab.name
                    );
                }
            }
        }
    }
}

/// Least-squares slope of log(err) against log(h).
fn slope(h: &[f64], err: &[f64]) -> f64 {
    let x: Vec<f64> = h.iter().map(|v| v.ln()).collect();
    let y: Vec<f64> = err.iter().map(|v| v.ln()).collect();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Global error at t = 2 with n fixed steps, and the dense-output error at the
/// midpoints of the first steps.
fn errors(m: Method, n: usize) -> (f64, f64) {
    let p = SmoothLinear;
    let h = (p.t1() - p.t0()) / n as f64;
    let t_out: Vec<f64> = (0..4)
        .map(|k| (k as f64 + 0.5) * h * (n / 4) as f64)
        .collect();
    let opts = SolverOptions::new(m).fixed_steps(n);
    let sol = solve(&p, p.t0(), p.t1(), &p.y0(), &opts, &t_out).unwrap();
    let end = max_err(&sol.y, &p.exact(p.t1()).unwrap());
    let dense = t_out
        .iter()
        .enumerate()
        .map(|(j, &t)| max_err(sol.dense.row(j).as_slice().unwrap(), &p.exact(t).unwrap()))
        .fold(0.0, f64::max);
    (end, dense)
}

#[test]
fn measured_convergence_slopes_match_the_orders() {
    let cases = [
        (Method::Euler, [64, 128, 256, 512, 1024]),
        (Method::Heun, [32, 64, 128, 256, 512]),
        (Method::Rk4, [16, 32, 64, 128, 256]),
        (Method::Bs3, [16, 32, 64, 128, 256]),
        (Method::Dopri5, [12, 24, 48, 96, 192]),
        (Method::Tsit5, [12, 24, 48, 96, 192]),
    ];
    for (m, ns) in cases {
        let hs: Vec<f64> = ns.iter().map(|&n| 2.0 / n as f64).collect();
        let (end, dense): (Vec<f64>, Vec<f64>) = ns.iter().map(|&n| errors(m, n)).unzip();
        let s = slope(&hs, &end);
        let sd = slope(&hs, &dense);
        let p = m.tableau().order as f64;
        println!("{m}: slope {s:.3} (order {p}), dense-output slope {sd:.3}, errors {end:?}");
        assert!((s - p).abs() < 0.15, "{m}: slope {s} vs order {p}");
        // Dense output: Hermite (order 3) or the fourth-order extensions; the
        // error at mid-step is never worse than the interpolant's order.
        let p_dense = match m {
            Method::Euler | Method::Heun => p,
            Method::Rk4 | Method::Bs3 => 3.0,
            Method::Dopri5 | Method::Tsit5 => 4.0,
        };
        assert!(sd > p_dense - 0.15, "{m}: dense slope {sd} below {p_dense}");
    }
}
