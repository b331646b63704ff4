//! The field-error meter against closed forms: a field that is the exact field scores
//! 0; a velocity scaled by `1 + eps` scores `e_f = eps`; a posterior mean scaled by
//! shifted by a constant `c` has the RMS error `|c|` and `e_m = |c| / r`, `r` the RMS
//! radius of the training set (computed here by hand). These hold whatever the draws (ratios of sums over the
//! same points), so the tolerances are rounding only.

use fieldflow::data::Dataset;
use fieldflow::field_error::{field_error, log_spaced};
use fieldflow::fields::{FieldKind, FnField, MarginalField, Source};

fn exact(kind: &str) -> MarginalField {
    let data = Dataset::Moons.sample_seeded(200, 1);
    MarginalField::new(
        kind.parse::<FieldKind>().unwrap(),
        Source::points(data.view(), None).unwrap(),
    )
    .unwrap()
}

/// A field whose posterior mean is `m_exact + c` and velocity then scaled by `g`.
fn perturbed<'a>(mf: &'a MarginalField, c: [f64; 2], g: f64) -> FnField<'a> {
    FnField::new(2, mf.schedule(), move |s: f64, x: &[f64], f: &mut [f64]| {
        mf.eval_block(&[s], x, f, None, None);
        for j in 0..2 {
            let m = (x[j] - s * f[j]) + c[j];
            f[j] = g * (x[j] - m) / s;
        }
    })
    .unwrap()
}

#[test]
fn closed_forms_on_every_learnable_schedule() {
    for kind in ["poisson", "gaussian", "linear", "pfgmpp:4"] {
        let mf = exact(kind);
        let hi = if kind == "linear" { 1.0 } else { 20.0 };
        let levels = log_spaced(hi, 1e-2, 4).unwrap();
        let same = field_error(&perturbed(&mf, [0.0, 0.0], 1.0), &mf, &levels, 300, 5).unwrap();
        for r in &same.levels {
            assert!(r.velocity < 1e-12 && r.mean < 1e-12, "{kind}: {r:?}");
            assert!(r.displacement > 0.0);
        }
        let eps = 0.07;
        let f_scaled =
            field_error(&perturbed(&mf, [0.0, 0.0], 1.0 + eps), &mf, &levels, 300, 5).unwrap();
        for r in &f_scaled.levels {
            assert!((r.velocity - eps).abs() < 1e-9, "{kind}: {r:?}");
        }
        let data = Dataset::Moons.sample_seeded(200, 1);
        let bar = data.mean_axis(ndarray::Axis(0)).unwrap();
        let radius = (data
            .rows()
            .into_iter()
            .map(|y| (y[0] - bar[0]).powi(2) + (y[1] - bar[1]).powi(2))
            .sum::<f64>()
            / 200.0)
            .sqrt();
        let c = [0.3, -0.4];
        let shifted = field_error(&perturbed(&mf, c, 1.0), &mf, &levels, 300, 5).unwrap();
        for r in &shifted.levels {
            assert!((r.mean_abs - 0.5).abs() < 1e-9, "{kind}: {r:?}");
            assert!((r.mean - 0.5 / radius).abs() < 1e-9, "{kind}: {r:?}");
        }
        assert!((shifted.data_radius - radius).abs() < 1e-12);
        // the same seed gives the same numbers
        let again = field_error(&perturbed(&mf, c, 1.0), &mf, &levels, 300, 5).unwrap();
        assert_eq!(shifted, again);
    }
}

#[test]
fn bad_input_is_an_error() {
    let mf = exact("poisson");
    let lin = exact("linear");
    let one_d = FnField::new(1, mf.schedule(), |_s: f64, _x: &[f64], f: &mut [f64]| {
        f[0] = 0.0
    })
    .unwrap();
    assert!(field_error(&one_d, &mf, &[1.0], 10, 0).is_err());
    assert!(
        field_error(&lin, &mf, &[0.5], 10, 0).is_err(),
        "schedule mismatch"
    );
    assert!(field_error(&mf, &mf, &[1.0], 0, 0).is_err());
    assert!(field_error(&mf, &mf, &[], 10, 0).is_err());
    assert!(field_error(&mf, &mf, &[-1.0], 10, 0).is_err());
    assert!(
        field_error(&lin, &lin, &[2.0], 10, 0).is_err(),
        "linear level above 1"
    );
    let nan = FnField::new(2, mf.schedule(), |_s: f64, _x: &[f64], f: &mut [f64]| {
        f.fill(f64::NAN)
    })
    .unwrap();
    let e = field_error(&nan, &mf, &[1.0], 10, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not finite") && e.contains("s = 1"), "{e}");
}
