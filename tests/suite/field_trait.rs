//! The field interface: sampling through `Field` and `Prior`.
//!
//! * `MarginalField` through the trait gives the same bits as before the interface
//!   existed (hashes of seeded runs recorded on the previous code), and a hand-built
//!   `Flow` gives the same bits as the short forms.
//! * An own closure field, the exact field of Gaussian data `N(mu, c^2 I)`, generates
//!   and encodes along the closed-form paths
//!   `x_s = mu + (x_1 - mu) sqrt((c^2 + s^2) / (c^2 + s_1^2))` (Gaussian path) and
//!   `x_s = (1 - s) mu + sqrt((1 - s)^2 c^2 + s^2) (x_0 - mu) / c` (linear path),
//!   docs/MATHEMATICS.md section 7 item 3, with exact likelihoods from the estimated
//!   divergence.
//! * The finite-difference trace against the closed-form divergence; Hutchinson's
//!   estimator: unbiased, with the stated variance, and its reported variance.
//! * A field that writes NaN gives `NonFinite` particles, never a panic.
//!
//! Statistical tests use fixed seeds; their tolerances are stated where they are made.

#![allow(clippy::needless_range_loop)] // index notation follows the formulas

use fieldflow::fields::{
    Divergence, Field, FieldKind, FnField, LinearPrior, MarginalField, Noise, PriorKind, Schedule,
    Source,
};
use fieldflow::ode::{Method, SolverOptions, Status};
use fieldflow::sampling::{
    encode, estimate_divergence, generate, generate_from, trajectories_in, transport, transport_in,
    ExactPrior, FarFieldPrior, Flow, OdeTime, Prior, SampleOptions, TraceEstimator,
};
use ndarray::{array, Array1, Array2, ArrayView2};

/// FNV-1a over the bit patterns.
fn h(a: impl IntoIterator<Item = f64>) -> u64 {
    a.into_iter().fold(0xcbf2_9ce4_8422_2325, |acc, v| {
        (acc ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn three_points() -> Source {
    let p = array![[-1.0, 0.0], [1.0, 0.5], [0.3, -1.2]];
    Source::points(p.view(), Some(&[0.5, 0.3, 0.2])).unwrap()
}

/// Hashes of seeded runs through the short forms, recorded before sampling was
/// generalised to `Field` (the code of commit a1ef395 on this branch, and again on
/// main at 30b450c, with the same bits; `s_max = 40`, or 1 for linear): per field,
/// generate (far field, denoise, likelihood), generate (exact prior), encode,
/// generate_from, transport with likelihood, trajectories. `linear(normal)` was
/// recorded again when the Gaussian kernel became vectorised (a lane-wise `exp`, with
/// fused multiply-adds on CPUs that have FMA): its rounding differs from the scalar
/// `f64::exp` loop, within the bounds of the kernel test
/// `vectorised_gaussian_path_matches_the_scalar_path` (1e-13 of the scale of the terms
/// that cancel). Like the PFGM bits (AVX-512 `1/sqrt` estimate), these pins hold on a
/// CPU with the same features as the project machine (AVX-512, FMA).
const PINNED: [(&str, [u64; 11]); 3] = [
    (
        "poisson",
        [
            0xf2fd3fe327c320e1,
            0x343e10f0c978219b,
            0xb6749297322e562b,
            0xb125099d7f258d44,
            0xc161bc7f212f86d6,
            0xe3661cc7b7db5878,
            0x0f0b71422a7c66ac,
            0x9098e05bc4e9ddd7,
            0xa0c51a7c815d9a77,
            0x4e320cfb55597468,
            0xa4e43aae93ebd7b1,
        ],
    ),
    (
        "pfgmpp(D=4)",
        [
            0x87d61baacbe3018b,
            0x498d455faaf0b5ab,
            0x9bfe2a6dfa49124b,
            0xc360a14c45ccb349,
            0xb24fe5abd7b13fce,
            0xe8ff7202d30fa36c,
            0xaf9cfba37350052c,
            0x8d1349261ed7e40f,
            0x07bd9e8d4ebd2ded,
            0x26267245fe7cc9b3,
            0x08e051e72c4f260d,
        ],
    ),
    (
        "linear(normal)",
        [
            0x419484d90ec60cd3,
            0xdc446cacb1054156,
            0x7407b1522ddb0e65,
            0x282fb4b86d39dbff,
            0xd06e7437d5e1a2c0,
            0x56f734b753733c35,
            0xecc534688ab066b6,
            0xe86f358e45f02542,
            0x714c7108c14c1677,
            0x6fad4332d83770a7,
            0xbb625bc9f21ec606,
        ],
    ),
];

fn pinned_runs(mf: &MarginalField) -> [u64; 11] {
    let kind = mf.kind();
    let mut o = SampleOptions::new(mf);
    // fixed here, not the default (which may change); the pins were recorded with
    // ray fields integrated in ln s (now OdeTime::LogLevel; the default is 1/s)
    o.s_max = if kind.is_ray() { 40.0 } else { 1.0 };
    let time = if kind.is_ray() {
        OdeTime::LogLevel
    } else {
        OdeTime::Level
    };
    o.time = Some(time);
    o.denoise = true;
    o.likelihood = true;
    let g = generate(mf, 300, 5, &o).unwrap();
    o.prior = PriorKind::Exact;
    o.denoise = false;
    let g2 = generate(mf, 200, 6, &o).unwrap();
    let x = mf.sample_marginal(o.s_min, 200, 9).unwrap();
    let e = encode(mf, x.view(), &o).unwrap();
    let s0 = if kind.is_ray() { 3.0 } else { 0.9 };
    let gf = generate_from(mf, x.view(), s0, &o).unwrap();
    let t = transport_in(mf, x.view(), (0.01, 0.5), &o.solver, time, true).unwrap();
    let levels = [0.5, 0.1, 0.01];
    let tr = trajectories_in(mf, x.view(), (0.5, 0.01), &levels, &o.solver, time).unwrap();
    [
        h(g.x.iter().copied()),
        h(g.log_p.unwrap().iter().copied()),
        h(g2.x.iter().copied()),
        h(g2.log_p.unwrap().iter().copied()),
        h(e.z.iter().copied()),
        h(e.log_p.unwrap().iter().copied()),
        h(gf.x.iter().copied()),
        h(gf.log_p.unwrap().iter().copied()),
        h(t.x.iter().copied()),
        h(t.delta_log_p.unwrap().iter().copied()),
        h(tr.iter().copied()),
    ]
}

/// The short forms (now running through `Field`, `Prior` and `Flow`) reproduce the
/// recorded bits for a ray field, PFGM++ and the linear path.
#[test]
fn marginal_field_results_are_bit_identical_to_the_previous_path() {
    let kinds = [
        FieldKind::Poisson,
        FieldKind::Pfgmpp { aug_dim: 4.0 },
        FieldKind::Linear {
            prior: LinearPrior::Normal,
        },
    ];
    for (kind, (name, want)) in kinds.into_iter().zip(PINNED) {
        assert_eq!(kind.to_string(), name);
        let mf = MarginalField::new(kind, three_points()).unwrap();
        let got = pinned_runs(&mf);
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(*g, w, "{name}: run {k} changed: {g:#x} != {w:#x}");
        }
    }
}

/// A hand-built `Flow` of a `MarginalField` (as `&dyn Field`) with its prior and
/// itself as reference gives the same bits as `generate` and `encode`.
#[test]
fn flow_equals_the_short_forms() {
    let mf = MarginalField::new(FieldKind::Pfgmpp { aug_dim: 2.5 }, three_points()).unwrap();
    let mut o = SampleOptions::new(&mf);
    o.likelihood = true;
    o.denoise = true;
    let prior = mf.prior(o.s_max, o.prior).unwrap();
    let field: &dyn Field = &mf;
    let flow = Flow::new(field, &prior).unwrap().reference(&mf).unwrap();
    let a = flow.generate(150, 3, &o).unwrap();
    let b = generate(&mf, 150, 3, &o).unwrap();
    assert_eq!(h(a.x.iter().copied()), h(b.x.iter().copied()));
    assert_eq!(
        h(a.log_p.unwrap().iter().copied()),
        h(b.log_p.unwrap().iter().copied())
    );
    assert_eq!(a.unconverged, b.unconverged);
    assert_eq!(a.totals.evals, b.totals.evals);
    assert_eq!(
        a.unconverged_radius.to_bits(),
        b.unconverged_radius.to_bits()
    );
    let x = mf.sample_marginal(o.s_min, 100, 4).unwrap();
    let ea = flow.encode(x.view(), &o).unwrap();
    let eb = encode(&mf, x.view(), &o).unwrap();
    assert_eq!(h(ea.z.iter().copied()), h(eb.z.iter().copied()));
    assert_eq!(
        h(ea.log_p.unwrap().iter().copied()),
        h(eb.log_p.unwrap().iter().copied())
    );
    // the prior draws are those of MarginalField::sample_prior
    let p = mf
        .sample_prior(o.s_max, 50, 8, PriorKind::FarField)
        .unwrap();
    assert_eq!(
        h(p.iter().copied()),
        h(prior.sample(50, 8).unwrap().iter().copied())
    );
    assert!(mf.divergence(0.5, &[0.1, 0.2]).is_finite());
    assert_eq!(Field::divergence(&mf), Divergence::Exact);
}

const MU: [f64; 2] = [1.0, -0.5];
const C: f64 = 0.5;

/// The exact Gaussian-path field of the data `N(MU, C^2 I)`:
/// `f_s(x) = s (x - mu) / (c^2 + s^2)`, as an own closure without divergence.
fn gaussian_closure() -> FnField<'static> {
    FnField::new(2, Schedule::Ray, |s: f64, x: &[f64], f: &mut [f64]| {
        for j in 0..2 {
            f[j] = s * (x[j] - MU[j]) / (C * C + s * s);
        }
    })
    .unwrap()
    .named("gaussian data, closed form")
}

/// `N(mu, v I)` in d = 2 at a level: a test prior (the exact marginal of the
/// Gaussian data).
struct Normal2 {
    var: f64,
    level: f64,
}

impl Prior for Normal2 {
    fn dim(&self) -> usize {
        2
    }
    fn level(&self) -> f64 {
        self.level
    }
    fn sample(&self, n: usize, seed: u64) -> fieldflow::Result<Array2<f64>> {
        let law = FarFieldPrior::new(MU.to_vec(), Noise::gaussian(2).unwrap(), self.var.sqrt());
        law.unwrap().sample(n, seed)
    }
    fn log_density(&self, x: ArrayView2<f64>) -> Array1<f64> {
        x.rows()
            .into_iter()
            .map(|r| log_normal(&[r[0], r[1]], self.var))
            .collect()
    }
    fn describe(&self) -> String {
        format!("N(mu, {} I)", self.var)
    }
}

fn log_normal(x: &[f64; 2], var: f64) -> f64 {
    let r2 = (x[0] - MU[0]).powi(2) + (x[1] - MU[1]).powi(2);
    -r2 / (2.0 * var) - (2.0 * std::f64::consts::PI * var).ln()
}

/// Generation with the own Gaussian closure from the exact prior `p_{s_max}` follows
/// the closed-form map to 1e-7 (rtol = atol = 1e-10) and its likelihood (finite-
/// difference trace) equals the exact `ln p_{s_min}` to 1e-6; encoding maps back along
/// the same closed form with the same likelihood. Hutchinson's estimator with one
/// probe is exact here (the Jacobian is a multiple of I): same likelihood to 1e-6.
#[test]
fn own_gaussian_field_generates_and_encodes_exactly() {
    let field = gaussian_closure();
    assert_eq!(field.divergence(), Divergence::None);
    let mut o = SampleOptions::for_schedule(Schedule::Ray);
    o.solver = SolverOptions::new(Method::Dopri5).tol(1e-10);
    o.s_max = 20.0;
    o.s_min = 1e-2;
    o.likelihood = true;
    let v = |s: f64| C * C + s * s;
    let prior = Normal2 {
        var: v(o.s_max),
        level: o.s_max,
    };
    let flow = Flow::new(&field, &prior).unwrap();
    let out = flow.generate(200, 11, &o).unwrap();
    let x1 = prior.sample(200, 11).unwrap();
    let k = (v(o.s_min) / v(o.s_max)).sqrt();
    let (mut err, mut ll) = (0.0f64, 0.0f64);
    for i in 0..200 {
        for j in 0..2 {
            let want = MU[j] + (x1[[i, j]] - MU[j]) * k;
            err = err.max((out.x[[i, j]] - want).abs());
        }
        let lp = log_normal(&[out.x[[i, 0]], out.x[[i, 1]]], v(o.s_min));
        ll = ll.max((out.log_p.as_ref().unwrap()[i] - lp).abs());
    }
    println!("own Gaussian field: path error {err:.2e}, likelihood error {ll:.2e}");
    assert!(err < 1e-7, "path error {err}");
    assert!(ll < 1e-6, "likelihood error {ll}");
    assert_eq!(out.n_unconverged, 0);
    assert!(out.unconverged_radius.is_nan(), "no reference: no radius");

    // encode: back along the closed form; the prior at s_max gives ln p_{s_min}(x)
    let enc = flow.encode(out.x.view(), &o).unwrap();
    let (mut ez, mut el) = (0.0f64, 0.0f64);
    for i in 0..200 {
        for j in 0..2 {
            let want = MU[j] + (out.x[[i, j]] - MU[j]) / k;
            ez = ez.max((enc.z[[i, j]] - want).abs() / want.abs().max(1.0));
        }
        let lp = log_normal(&[out.x[[i, 0]], out.x[[i, 1]]], v(o.s_min));
        el = el.max((enc.log_p.as_ref().unwrap()[i] - lp).abs());
    }
    assert!(ez < 1e-7, "encode error {ez}");
    assert!(el < 1e-6, "encode likelihood error {el}");

    let mut oh = o.clone();
    oh.trace = TraceEstimator::Hutchinson { probes: 1, seed: 3 };
    let eh = flow.encode(out.x.view(), &oh).unwrap();
    let dh = (&eh.log_p.unwrap() - enc.log_p.as_ref().unwrap())
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(dh < 1e-6, "Hutchinson on an isotropic Jacobian: {dh}");
}

/// The linear path with an own closure: data `N(MU, C^2 I)`, prior `N(0, I)` at s = 1
/// (the far-field prior is exact there). Samples at s_min follow
/// `x_s = (1 - s) mu + sqrt((1 - s)^2 c^2 + s^2) x_1` to 1e-7.
#[test]
fn own_linear_field_follows_the_closed_form() {
    let w = |s: f64| ((1.0 - s).powi(2) * C * C + s * s).sqrt();
    // f = d/ds x_s = -mu + (x - (1 - s) mu) w'(s) / w(s)
    let field = FnField::new(
        2,
        Schedule::Linear,
        move |s: f64, x: &[f64], f: &mut [f64]| {
            let dw = (s - (1.0 - s) * C * C) / w(s);
            for j in 0..2 {
                f[j] = -MU[j] + (x[j] - (1.0 - s) * MU[j]) * dw / w(s);
            }
        },
    )
    .unwrap();
    let mut o = SampleOptions::for_schedule(Schedule::Linear);
    o.solver = SolverOptions::new(Method::Dopri5).tol(1e-10);
    assert_eq!((o.s_max, o.s_min), (1.0, 1e-3));
    let prior = FarFieldPrior::new(vec![0.0; 2], Noise::gaussian(2).unwrap(), 1.0).unwrap();
    let out = Flow::new(&field, &prior)
        .unwrap()
        .generate(200, 2, &o)
        .unwrap();
    let x1 = prior.sample(200, 2).unwrap();
    let s = o.s_min;
    let mut err = 0.0f64;
    for i in 0..200 {
        for j in 0..2 {
            let want = (1.0 - s) * MU[j] + w(s) * x1[[i, j]];
            err = err.max((out.x[[i, j]] - want).abs());
        }
    }
    assert!(err < 1e-7, "linear path error {err}");
    // a level above 1 is refused by the linear schedule's default check
    assert!(field.check_level(1.5).is_err());
}

/// An own field wrapping a `MarginalField` without its divergence.
fn without_divergence(mf: &MarginalField) -> FnField<'_> {
    FnField::new(
        mf.dim(),
        mf.schedule(),
        move |s: f64, x: &[f64], f: &mut [f64]| mf.eval_block(&[s], x, f, None, None),
    )
    .unwrap()
}

fn pfgm_d3() -> MarginalField {
    let p = array![
        [-1.0, 0.0, 0.4],
        [1.0, 0.5, -0.3],
        [0.3, -1.2, 0.9],
        [0.0, 0.2, -1.0]
    ];
    MarginalField::new(
        FieldKind::Pfgmpp { aug_dim: 3.0 },
        Source::points(p.view(), None).unwrap(),
    )
    .unwrap()
}

/// The finite-difference trace against the closed-form divergence of a PFGM++ field
/// in d = 3: relative error below 1e-6 (the stated error is ~1e-10 relative; 1e-6
/// leaves room for points far from the data) on 300 exact draws of `p_s` at three
/// levels; the likelihood along paths agrees with the exact one to 1e-6.
#[test]
fn finite_difference_trace_matches_the_exact_divergence() {
    let mf = pfgm_d3();
    let own = without_divergence(&mf);
    let mut worst = 0.0f64;
    for s in [0.1, 0.5, 2.0] {
        let x = mf.sample_marginal(s, 300, 5).unwrap();
        let exact = mf.evaluate(s, x.view()).unwrap().div;
        let est = estimate_divergence(&own, s, x.view(), TraceEstimator::FiniteDifference).unwrap();
        assert!(est.variance.is_none());
        assert_eq!(est.evals_per_row, 6);
        for (a, b) in est.div.iter().zip(&exact) {
            worst = worst.max((a - b).abs() / b.abs().max(1.0 / s));
        }
        // a field with its own divergence returns it unchanged
        let same = estimate_divergence(&mf, s, x.view(), TraceEstimator::Auto).unwrap();
        assert_eq!(h(same.div.iter().copied()), h(exact.iter().copied()));
    }
    println!("finite-difference trace: worst relative error {worst:.2e}");
    assert!(worst < 1e-6, "relative error {worst}");

    // the likelihood along paths: Auto (= finite differences in d = 3) vs exact
    let x = mf.sample_marginal(1.0, 40, 6).unwrap();
    let solver = SolverOptions::new(Method::Dopri5).tol(1e-9);
    let a = transport(&own, x.view(), 1.0, 0.1, &solver, true).unwrap();
    let b = transport(&mf, x.view(), 1.0, 0.1, &solver, true).unwrap();
    let dl = (&a.delta_log_p.unwrap() - &b.delta_log_p.unwrap())
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(dl < 1e-6, "likelihood along paths differs by {dl}");
}

/// Hutchinson's estimator on the PFGM++ field in d = 3 at one point, with k = 4
/// probes and 4000 independent seeds: the mean is within 4 standard errors of the
/// exact divergence (false-failure rate ~6e-5), the empirical variance within 15% of
/// `2 (||A||_F^2 - sum A_ii^2) / k` (A the symmetric part of the Jacobian, by finite
/// differences; the relative standard error of a variance from 4000 draws of a
/// bounded quadratic form is below 4%), and the reported variance, averaged over the
/// seeds, within 10% of the same value.
#[test]
fn hutchinson_is_unbiased_with_the_stated_variance() {
    let mf = pfgm_d3();
    let own = without_divergence(&mf);
    let s = 0.6;
    let x = array![[0.2, -0.3, 0.1]];
    let exact = mf.divergence(s, &[0.2, -0.3, 0.1]);
    // the Jacobian by central differences
    let d = 3;
    let mut jac = [[0.0; 3]; 3];
    for j in 0..d {
        let e = 1e-6;
        let mut xp = [0.2, -0.3, 0.1];
        let mut xm = xp;
        xp[j] += e;
        xm[j] -= e;
        let (fp, fm) = (mf.velocity(s, &xp), mf.velocity(s, &xm));
        for i in 0..d {
            jac[i][j] = (fp[i] - fm[i]) / (2.0 * e);
        }
    }
    let mut off = 0.0;
    for i in 0..d {
        for j in 0..d {
            if i != j {
                let a = 0.5 * (jac[i][j] + jac[j][i]);
                off += a * a;
            }
        }
    }
    let k = 4;
    let var_theory = 2.0 * off / k as f64;
    let n = 4000;
    let (mut vals, mut reported) = (Vec::with_capacity(n), 0.0);
    for seed in 0..n as u64 {
        let est = estimate_divergence(
            &own,
            s,
            x.view(),
            TraceEstimator::Hutchinson { probes: k, seed },
        )
        .unwrap();
        vals.push(est.div[0]);
        reported += est.variance.unwrap()[0] / n as f64;
        assert_eq!(est.evals_per_row, 2 * k);
    }
    let mean = vals.iter().sum::<f64>() / n as f64;
    let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    println!(
        "Hutchinson k = {k}: mean {mean:.6} (exact {exact:.6}), variance {var:.4e} \
         (theory {var_theory:.4e}, reported {reported:.4e})"
    );
    assert!(
        var_theory > 1e-3,
        "the test point must have off-diagonal terms"
    );
    assert!((mean - exact).abs() < 4.0 * (var_theory / n as f64).sqrt());
    assert!((var / var_theory - 1.0).abs() < 0.15, "variance {var}");
    assert!(
        (reported / var_theory - 1.0).abs() < 0.10,
        "reported {reported}"
    );
}

/// A field that writes NaN: for rows with x_0 > 0 from the start, and for every row
/// below s = 0.1. No panic: the affected particles end `NonFinite` and count as
/// unconverged, the others are untouched.
#[test]
fn nan_fields_give_nonfinite_particles() {
    let mf = MarginalField::new(FieldKind::Poisson, three_points()).unwrap();
    let half = FnField::new(2, Schedule::Ray, |s: f64, x: &[f64], f: &mut [f64]| {
        if x[0] > 0.0 {
            f.fill(f64::NAN);
        } else {
            f.copy_from_slice(&mf.velocity(s, x));
        }
    })
    .unwrap();
    let mut o = SampleOptions::new(&mf);
    o.s_max = 5.0;
    o.likelihood = true;
    let prior = mf.prior(o.s_max, PriorKind::Exact).unwrap();
    let out = Flow::new(&half, &prior)
        .unwrap()
        .generate(100, 1, &o)
        .unwrap();
    let x0 = prior.sample(100, 1).unwrap();
    let mut n_bad = 0;
    for i in 0..100 {
        if x0[[i, 0]] > 0.0 {
            n_bad += 1;
            assert!(matches!(out.stats[i].status, Status::NonFinite { .. }));
            assert!(out.unconverged[i]);
        }
    }
    assert!(n_bad > 10 && n_bad < 90);
    assert!(out.n_unconverged >= n_bad);

    let late = FnField::new(2, Schedule::Ray, |s: f64, x: &[f64], f: &mut [f64]| {
        if s < 0.1 {
            f.fill(f64::NAN);
        } else {
            f.copy_from_slice(&mf.velocity(s, x));
        }
    })
    .unwrap();
    let out = Flow::new(&late, &prior)
        .unwrap()
        .reference(&mf)
        .unwrap()
        .generate(50, 2, &o)
        .unwrap();
    assert_eq!(out.n_unconverged, 50);
    assert!(out.stats.iter().all(|s| !s.status.is_success()));
}

/// Misuse of the interface: a prior at another level or of another dimension, a
/// reference of another schedule, a zero-dimensional closure, zero probes.
#[test]
fn flow_refuses_inconsistent_parts() {
    let mf = MarginalField::new(FieldKind::Gaussian, three_points()).unwrap();
    let o = SampleOptions::new(&mf);
    let prior = ExactPrior::new(&mf, 10.0).unwrap();
    let flow = Flow::new(&mf, &prior).unwrap();
    let e = flow.generate(5, 0, &o).unwrap_err().to_string();
    assert!(e.contains("prior is at level s = 10"), "{e}");
    let far3 = FarFieldPrior::new(vec![0.0; 3], Noise::gaussian(3).unwrap(), 40.0).unwrap();
    assert!(Flow::new(&mf, &far3).is_err());
    let lin = MarginalField::new(
        FieldKind::Linear {
            prior: LinearPrior::Normal,
        },
        three_points(),
    )
    .unwrap();
    let p40 = mf.prior(40.0, PriorKind::FarField).unwrap();
    assert!(Flow::new(&mf, &p40).unwrap().reference(&lin).is_err());
    assert!(FnField::new(0, Schedule::Ray, |_: f64, _: &[f64], _: &mut [f64]| {}).is_err());
    assert!(FarFieldPrior::new(vec![0.0; 2], Noise::gaussian(2).unwrap(), -1.0).is_err());
    let mut oz = o.clone();
    oz.trace = TraceEstimator::Hutchinson { probes: 0, seed: 0 };
    assert!(Flow::new(&mf, &p40).unwrap().generate(5, 0, &oz).is_err());
    let own = gaussian_closure();
    let x = array![[0.0, 0.0]];
    assert!(estimate_divergence(&own, -1.0, x.view(), TraceEstimator::Auto).is_err());
    assert!(estimate_divergence(&own, 1.0, array![[0.0]].view(), TraceEstimator::Auto).is_err());
    assert_eq!(own.describe(), "gaussian data, closed form");
    assert!(Field::describe(&mf).contains("gaussian"));
}
