//! The one-sample prior tests of `checks` on the priors that `fields` draws for
//! generation: the far-field PFGM / PFGM++ prior passes `prior_radius` and
//! `prior_direction` with the right `D` and fails with a wrong one, and the
//! Gaussian (VE) far-field prior passes the whitening test.
//!
//! n = 3000 prior points per case, fixed seeds. Under the null the tests pass at
//! the 1e-3 level (false-failure rate 0.1% per assertion); the wrong-`D`
//! alternatives give p-values far below 1e-6.

use fieldflow::checks::one_sample::{GaussianTarget, PfgmPrior};
use fieldflow::fields::source::Source;
use fieldflow::fields::{FieldKind, MarginalField, PriorKind};
use ndarray::array;

const N: usize = 3000;

#[test]
fn pfgm_and_pfgmpp_far_field_priors_pass_and_a_wrong_d_fails() {
    let src2 = Source::points(array![[0.0, 1.0], [2.0, -1.0], [1.0, 3.0]].view(), None).unwrap();
    let src3 = Source::points(array![[0.0, 1.0, 2.0], [1.0, -1.0, 0.0]].view(), None).unwrap();
    for (src, aug_dim, wrong, s_max) in [(src2, 1.0, 2.0, 40.0), (src3, 2.5, 1.0, 30.0)] {
        let d = src.dim();
        let c = src.center();
        let mf = MarginalField::new(FieldKind::Pfgmpp { aug_dim }, src).unwrap();
        let x = mf.sample_prior(s_max, N, 11, PriorKind::FarField).unwrap();
        let right = PfgmPrior::new(d, aug_dim, s_max, Some(c.clone())).unwrap();
        for t in right.tests(x.view()).unwrap() {
            assert!(t.pvalue > 1e-3, "d={d} D={aug_dim}: {t:?}");
        }
        let bad = PfgmPrior::new(d, wrong, s_max, Some(c)).unwrap();
        let r = bad.tests(x.view()).unwrap();
        let radius = r.iter().find(|t| t.name == "prior_radius").unwrap();
        assert!(
            radius.pvalue < 1e-6,
            "d={d} D={aug_dim} tested as D={wrong}: {radius:?}"
        );
    }
}

#[test]
fn gaussian_far_field_prior_passes_whitening() {
    let src = Source::points(array![[0.5, -0.5], [1.5, 0.5]].view(), None).unwrap();
    let c = src.center();
    let mf = MarginalField::new(FieldKind::Gaussian, src).unwrap();
    let s_max = 20.0;
    let x = mf.sample_prior(s_max, N, 12, PriorKind::FarField).unwrap();
    let target = GaussianTarget::isotropic(c.clone(), s_max).unwrap();
    for t in target.tests(x.view()).unwrap() {
        assert!(t.pvalue > 1e-3, "{t:?}");
    }
    // a 10% wrong scale is rejected
    let wrong = GaussianTarget::isotropic(c, 1.1 * s_max).unwrap();
    let r = wrong.tests(x.view()).unwrap();
    assert!(r[0].pvalue < 1e-6, "{r:?}");
}
