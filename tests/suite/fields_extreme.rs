//! Extreme levels and weights: velocity, log-density and divergence down to
//! `s = 1e-300` against closed forms, and weights from `1e-300` to `1e300`
//! (`src/fields/tiny.rs`, `src/fields/source.rs`).
//!
//! * One data point: `f = (x - y)/s`, `ln p = ln nu((x - y)/s) - d ln s`,
//!   `div f = d/s` for every ray field, at particles on the point, at a few `s` and at
//!   distance 1 from it.
//! * Two points: the ray fields are scale-equivariant (data `lambda y_i`, particle
//!   `lambda x`, level `lambda s` give the same velocity, `ln p - d ln lambda` and
//!   `div / lambda`), so a tiny level is checked against the same configuration at
//!   level 1; with `lambda = 2^-k` the scaled inputs are exact.
//! * Weights: multiplying every weight by `1e-300` or `1e300` changes nothing;
//!   weights `1e-150` and `1e150` at a level where both points matter match the
//!   closed-form mixture; a span beyond 300 orders of magnitude is refused.
//!
//! No randomness; the tolerances are relative rounding bounds stated at each check.

#![allow(clippy::float_cmp)] // infinite values at the poles compare exactly

use fieldflow::fields::{FieldKind, LinearPrior, MarginalField, Profile, Source};
use ndarray::{array, Array2};

fn fields() -> Vec<(&'static str, FieldKind)> {
    vec![
        ("poisson", FieldKind::Poisson),
        ("pfgmpp D=2048", FieldKind::Pfgmpp { aug_dim: 2048.0 }),
        ("pfgmpp D=2.5", FieldKind::Pfgmpp { aug_dim: 2.5 }),
        ("gaussian", FieldKind::Gaussian),
        (
            "radial tanh",
            FieldKind::Radial {
                profile: Profile::Tanh,
            },
        ),
    ]
}

fn close(a: f64, b: f64, rel: f64, what: &str) {
    assert!(
        (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE),
        "{what}: {a:e} vs {b:e}"
    );
}

/// The exponent `e` of a power law (1 for the other laws).
fn expo(mf: &MarginalField) -> f64 {
    match mf.law().kind() {
        fieldflow::fields::NoiseKind::PowerLaw { exponent } => exponent,
        _ => 1.0,
    }
}

/// `ln nu(u)` for `|u| = r` without forming `r^2` (which overflows for `r > 1e154`).
fn ln_nu(mf: &MarginalField, r: f64) -> f64 {
    use fieldflow::fields::NoiseKind;
    let law = mf.law();
    let d = mf.dim() as f64;
    law.log_norm()
        + match law.kind() {
            NoiseKind::PowerLaw { exponent } => {
                if r > 1e100 {
                    -exponent * (2.0 * r.ln() + (1.0 / (r * r)).ln_1p())
                } else {
                    -exponent * (r * r).ln_1p()
                }
            }
            NoiseKind::Gaussian => -0.5 * r * r,
            NoiseKind::Radial(p) => p.ln_dcdf(r) - (d - 1.0) * r.ln(),
            _ => unreachable!(),
        }
}

/// One data point at `y = (0.75, -0.5)`: particles `x = y + s v` (representable
/// offsets) and `x = y + (1, 0)`, levels `1e-3` down to `1e-300`. Velocity to 1e-13
/// relative, divergence to `1e-14 (1 + c)` relative (`c` the size of the cancelling
/// terms `u . grad ln nu(u)`: `2e`, `r^2` or `2r`, capped at 1e4), `ln p` to 1e-13
/// relative (or 1e-12 absolute).
#[test]
fn one_point_closed_forms_down_to_1e_300() {
    let y = [0.75, -0.5];
    let data = array![[0.75, -0.5]];
    for (name, kind) in fields() {
        let mf = MarginalField::new(kind, Source::points(data.view(), None).unwrap()).unwrap();
        for k in [3, 10, 50, 100, 120, 154, 155, 200, 250, 300] {
            let s = 10f64.powi(-k);
            for v in [[0.3, -1.1], [2.0, 0.5], [1.0 / s, 0.0]] {
                let x = [y[0] + s * v[0], y[1] + s * v[1]];
                // the offsets the particle really has (x - y is exact here)
                let e = [x[0] - y[0], x[1] - y[1]];
                let u = [e[0] / s, e[1] / s];
                let r = u[0].hypot(u[1]);
                let ctx = format!("{name} s = 1e-{k} v = {v:?}");
                if name == "gaussian" && r > 30.0 {
                    continue; // ln p below the double range
                }
                let f = mf.velocity(s, &x);
                for j in 0..2 {
                    close(f[j], u[j], 1e-13, &format!("{ctx}: f[{j}]"));
                }
                let dv = mf.divergence(s, &x);
                assert!(dv.is_finite(), "{ctx}: div {dv}");
                // the terms of the divergence that cancel are of size u . grad ln nu(u)
                // over s: 2e (power laws), r^2 (Gaussian), 2r (radial), capped at 1e4
                let cancel = match mf.law().kind() {
                    fieldflow::fields::NoiseKind::Gaussian => r * r,
                    fieldflow::fields::NoiseKind::Radial(_) => 2.0 * r,
                    _ => 2.0 * expo(&mf),
                };
                close(
                    dv,
                    2.0 / s,
                    1e-14 * (1.0 + cancel.min(1e4)),
                    &format!("{ctx}: div"),
                );
                let lp = mf.log_density(s, &x);
                let want = ln_nu(&mf, r) - 2.0 * s.ln();
                if want.is_infinite() {
                    // the radial laws' pole at the data point
                    assert!(lp == want, "{ctx}: ln p {lp} vs {want}");
                    continue;
                }
                assert!(
                    (lp - want).abs() <= 1e-13 * want.abs() + 1e-12,
                    "{ctx}: ln p {lp} vs {want}"
                );
            }
        }
    }
}

/// Two points, scale-equivariance: level `2^-k` (k = 100, 400, 700, 996) against level
/// 1, for particles between, on and beyond the points. Relative 1e-12 on the velocity
/// and the divergence (on the scale of their largest terms), 1e-12 on `ln p`.
#[test]
fn two_points_scale_equivariance_down_to_1e_300() {
    let base = array![[0.0, 0.0], [1.0, 0.5]];
    let w = [0.7, 0.3];
    let xs = [[0.4, 0.3], [0.0, 0.0], [1.0, 0.5], [3.0, -2.0], [0.55, 0.2]];
    for (name, kind) in fields() {
        let mf1 = MarginalField::new(kind, Source::points(base.view(), Some(&w)).unwrap()).unwrap();
        for k in [100, 400, 700, 996] {
            let lam = 2f64.powi(-k);
            let data = base.mapv(|v| v * lam);
            let mf =
                MarginalField::new(kind, Source::points(data.view(), Some(&w)).unwrap()).unwrap();
            for s1 in [0.3, 1.0, 4.0] {
                let s = s1 * lam;
                for x1 in xs {
                    let x = [x1[0] * lam, x1[1] * lam];
                    let ctx = format!("{name} lambda = 2^-{k} s1 = {s1} x = {x1:?}");
                    let f1 = mf1.velocity(s1, &x1);
                    let f = mf.velocity(s, &x);
                    let scale = (x1[0].abs() + x1[1].abs() + 1.5) / s1;
                    for j in 0..2 {
                        assert!(
                            (f[j] - f1[j]).abs() <= 1e-12 * scale,
                            "{ctx}: f[{j}] {} vs {}",
                            f[j],
                            f1[j]
                        );
                    }
                    let d1 = mf1.divergence(s1, &x1);
                    let dv = mf.divergence(s, &x);
                    assert!(
                        (dv * lam - d1).abs() <= 1e-11 * (2.0 + 2100.0) / s1,
                        "{ctx}: div {dv:e} * lambda vs {d1:e}"
                    );
                    let l1 = mf1.log_density(s1, &x1);
                    let lp = mf.log_density(s, &x);
                    let want = l1 - 2.0 * lam.ln();
                    if want.is_infinite() {
                        assert!(lp == want, "{ctx}: ln p {lp} vs {want} (pole)");
                        continue;
                    }
                    assert!(
                        (lp - want).abs() <= 1e-12 * want.abs().max(1.0),
                        "{ctx}: ln p {lp} vs {want}"
                    );
                }
            }
        }
    }
}

/// Weights: scaling all weights by 1e-300 or 1e300 (or with 1e308 each, whose sum
/// overflows) gives the same field to 1e-14; weights 1e-150 and 1e150 at the level
/// where both points carry equal mass (PFGM, particle on the light point) match the
/// closed-form mixture; weights 1e-300 and 1e300 are refused with a clear error.
#[test]
fn weights_from_1e_minus_300_to_1e300() {
    let pts = array![[0.0, 0.0], [1.0, 0.5]];
    let x = [0.3, 0.1];
    let reference = |w: &[f64]| {
        let mf = MarginalField::new(
            FieldKind::Poisson,
            Source::points(pts.view(), Some(w)).unwrap(),
        )
        .unwrap();
        (
            mf.velocity(0.2, &x),
            mf.log_density(0.2, &x),
            mf.divergence(0.2, &x),
        )
    };
    let (f0, l0, d0) = reference(&[1.0, 3.0]);
    for w in [[1e-300, 3e-300], [1e300, 3e300], [1e308 / 3.0, 1e308]] {
        let (f, l, d) = reference(&w);
        for j in 0..2 {
            close(f[j], f0[j], 1e-14, &format!("weights {w:?}: f"));
        }
        close(l, l0, 1e-14, &format!("weights {w:?}: ln p"));
        close(d, d0, 1e-14, &format!("weights {w:?}: div"));
    }
    // 300 decades apart: equal mass where (|y2 - y1|^2 / s^2 + 1)^{3/2} = 1e300
    let w = [1e-150, 1e150];
    let src = Source::points(pts.view(), Some(&w)).unwrap();
    for kind in [FieldKind::Poisson, FieldKind::Pfgmpp { aug_dim: 1.0 }] {
        let mf = MarginalField::new(kind, src.clone()).unwrap();
        let dist2: f64 = 1.25;
        let s = (dist2 / (1e200f64 - 1.0)).sqrt();
        let xp = [0.0, 0.0];
        // both terms equal: the mean is the midpoint and f = (x - m)/s
        // the closed-form mixture in log space: terms pi_i s^-2 nu((x - y_i)/s)
        let l1 = (1e-150f64).ln() - (1e150f64).ln();
        let l2 = -1.5 * (dist2 / (s * s)).ln_1p();
        let w2 = 1.0 / (1.0 + (l1 - l2).exp());
        println!("balanced weights at s = {s:e}: posterior weight of the heavy point {w2}");
        assert!((w2 - 0.5).abs() < 1e-6);
        let f = mf.velocity(s, &xp);
        let want = [-w2 * 1.0 / s, -w2 * 0.5 / s];
        for j in 0..2 {
            close(f[j], want[j], 1e-12, "balanced weights: f");
        }
        let lse = l1.max(l2) + (-(l1 - l2).abs()).exp().ln_1p();
        let want = lse + mf.law().log_norm() - 2.0 * s.ln();
        let lp = mf.log_density(s, &xp);
        close(lp, want, 1e-13, "balanced weights: ln p");
        // divergence of the two-point mixture: d/s + sum_i w_i f_i . (g_i - gbar) with
        // f_1 = 0, f_2 = -y2/s, g_1 = 0, g_2 = 3 y2/(s^2 + |y2|^2): the covariance is
        // w2 (1 - w2) f_2 . g_2
        let t2 = s * s + dist2;
        let f2g2 = -(3.0 / s) * (1.0 + 0.25) / t2;
        let want = 2.0 / s + w2 * (1.0 - w2) * f2g2;
        let dv = mf.divergence(s, &xp);
        close(dv, want, 1e-12, "balanced weights: div");
    }
    let err = Source::points(pts.view(), Some(&[1e-300, 1e300])).unwrap_err();
    assert!(err.to_string().contains("300 orders of magnitude"), "{err}");
}

/// The linear path at tiny levels (its conditional paths end on the data at s = 0):
/// one point, `f = (x - y)/s`, `div f = d/s` (`f = -y + (x - (1 - s) y)/s`).
#[test]
fn linear_path_tiny_levels() {
    let data = array![[0.75, -0.5]];
    let mf = MarginalField::new(
        FieldKind::Linear {
            prior: LinearPrior::Normal,
        },
        Source::points(data.view(), None).unwrap(),
    )
    .unwrap();
    for k in [10, 100, 200, 300] {
        let s = 10f64.powi(-k);
        let x = [0.75 + s * 0.3, -0.5 - s * 1.2];
        // exact: f = (x - y)/s with x - y exact
        let want = [(x[0] - 0.75) / s, (x[1] + 0.5) / s];
        let f = mf.velocity(s, &x);
        for j in 0..2 {
            assert!(
                (f[j] - want[j]).abs() <= 1e-12 * (want[j].abs() + 1.0),
                "s = 1e-{k}: f[{j}] = {} vs {}",
                f[j],
                want[j]
            );
        }
        let dv = mf.divergence(s, &x);
        close(dv, 2.0 / s, 1e-13, "linear div");
    }
}

/// Levels below the smallest normal double are refused; 1e-300 is accepted.
#[test]
fn subnormal_levels_are_refused() {
    let data: Array2<f64> = array![[0.0, 1.0], [2.0, 0.0]];
    let mf = MarginalField::new(
        FieldKind::Poisson,
        Source::points(data.view(), None).unwrap(),
    )
    .unwrap();
    assert!(mf.check_level(1e-300).is_ok());
    let err = mf.check_level(1e-310).unwrap_err().to_string();
    assert!(err.contains("subnormal"), "{err}");
    assert!(mf.sample_marginal(1e-310, 3, 1).is_err());
}

/// Gaussian-mixture sources (the component path): a component of scale 0 is a point,
/// so at `s = 1e-200` the velocity is `(x - mu)/s` and the divergence `d/s`; a
/// component of scale `c = 1e-200` at `s = 1e-200` has `v = sqrt(c^2 + s^2)` and
/// velocity `s (x - mu)/v^2`.
#[test]
fn gaussian_sources_at_tiny_levels() {
    // the mean at a tiny offset from 0 so that x - mu is of the size of s
    let mu = array![[3e-200, -5e-200]];
    for c in [0.0, 1e-200] {
        let src = Source::gaussian_mixture(mu.view(), &[c], None).unwrap();
        let mf = MarginalField::new(FieldKind::Gaussian, src).unwrap();
        let s = 1e-200;
        let x = [3e-200 + 0.3 * s, -5e-200 - 1.2 * s];
        let e = [x[0] - 3e-200, x[1] + 5e-200];
        let v2 = (c / s).powi(2) + 1.0; // (v/s)^2
        let f = mf.velocity(s, &x);
        for j in 0..2 {
            close(f[j], e[j] / s / v2, 1e-13, &format!("c = {c}: f[{j}]"));
        }
        // div f = d v'/v = d s / v^2
        close(
            mf.divergence(s, &x),
            2.0 / s / v2,
            1e-13,
            &format!("c = {c}: div"),
        );
    }
}
