//! Bad input gives a clear error, never a panic: empty samples, mismatched
//! dimensions, NaN and infinity, bad parameters.

use fieldflow::checks::battery::{Battery, OneSampleTarget, TwoSampleTest};
use fieldflow::checks::contingency::{chi2_contingency, chi2_gof};
use fieldflow::checks::one_sample::{ad_1samp, ks_1samp, landing_test, GaussianTarget, PfgmPrior};
use fieldflow::checks::pairwise::mmd2_unbiased;
use fieldflow::checks::TwoSampleConfig;
use fieldflow::Error;
use ndarray::{array, Array2};

fn grid(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| (i * d + j) as f64 * 0.37 % 1.9)
}

#[test]
fn every_two_sample_test_rejects_bad_samples() {
    let cfg = TwoSampleConfig {
        permutations: 9,
        ..TwoSampleConfig::default()
    };
    let good = grid(10, 2);
    let empty = Array2::<f64>::zeros((0, 2));
    let wrong_dim = grid(10, 3);
    let mut nan = grid(10, 2);
    nan[[4, 1]] = f64::NAN;
    let mut inf = grid(10, 2);
    inf[[0, 0]] = f64::INFINITY;
    for t in TwoSampleTest::ALL.iter().filter(|t| t.applies(2)) {
        let e = t.run(good.view(), empty.view(), &cfg).unwrap_err();
        assert!(matches!(e, Error::Empty { .. }), "{}: {e}", t.name());
        let e = t.run(empty.view(), good.view(), &cfg).unwrap_err();
        assert!(matches!(e, Error::Empty { .. }), "{}: {e}", t.name());
        let e = t.run(good.view(), wrong_dim.view(), &cfg).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DimensionMismatch {
                    expected: 2,
                    got: 3,
                    ..
                }
            ),
            "{}: {e}",
            t.name()
        );
        let e = t.run(good.view(), nan.view(), &cfg).unwrap_err();
        assert!(
            matches!(e, Error::NonFinite { row: 4, col: 1, .. }),
            "{}: {e}",
            t.name()
        );
        assert!(
            t.run(inf.view(), good.view(), &cfg).is_err(),
            "{}",
            t.name()
        );
    }
    // tests restricted to one dimension say so
    assert!(TwoSampleTest::W1
        .run(good.view(), good.view(), &cfg)
        .is_err());
    assert!(TwoSampleTest::Ks2d
        .run(wrong_dim.view(), wrong_dim.view(), &cfg)
        .is_err());
    // zero permutations
    let zero = TwoSampleConfig {
        permutations: 0,
        ..TwoSampleConfig::default()
    };
    assert!(TwoSampleTest::Energy
        .run(good.view(), good.view(), &zero)
        .is_err());
    // an unknown test name lists the known ones
    let e = TwoSampleTest::from_name("kss").unwrap_err().to_string();
    assert!(e.contains("ks, ad, energy"), "{e}");
}

#[test]
fn parameters_are_validated() {
    let x = grid(5, 1);
    assert!(mmd2_unbiased(x.view(), x.view(), 0.0).is_err());
    assert!(mmd2_unbiased(x.view(), x.view(), f64::NAN).is_err());
    assert!(mmd2_unbiased(x.view(), grid(1, 1).view(), 1.0).is_err());
    assert!(Battery::new(0.0).is_err());
    assert!(Battery::new(1.5).is_err());
    assert!(PfgmPrior::new(2, 0.0, 40.0, None).is_err());
    assert!(PfgmPrior::new(2, 1.0, -1.0, None).is_err());
    assert!(PfgmPrior::new(2, 1.0, 40.0, Some(vec![0.0])).is_err());
    assert!(GaussianTarget::isotropic(vec![0.0], 0.0).is_err());
    let not_pd = array![[1.0, 2.0], [2.0, 1.0]];
    assert!(GaussianTarget::new(vec![0.0, 0.0], not_pd.view()).is_err());
    // a CDF that returns values outside [0, 1] is caught
    assert!(ks_1samp(&[0.1, 0.2], |t| 2.0 * t + 1.0).is_err());
    assert!(ad_1samp(&[], |t| t).is_err());
    // counts
    assert!(chi2_gof("g", &[3, 4], &[0.5]).is_err());
    assert!(chi2_gof("g", &[3, 4], &[0.5, 0.0]).is_err());
    assert!(chi2_contingency(array![[1u64, 2], [0, 0]].view()).is_err());
    assert!(chi2_contingency(array![[1u64, 2]].view()).is_err());
    // landing: weights of the wrong length
    let data = grid(4, 2);
    assert!(landing_test(grid(6, 2).view(), data.view(), Some(&[1.0, 2.0]), 9, 0).is_err());
    // the prior of the wrong dimension
    let p = PfgmPrior::new(3, 1.0, 40.0, None).unwrap();
    assert!(p.tests(grid(5, 2).view()).is_err());
}

#[test]
fn target_specs_are_parsed_or_rejected_clearly() {
    assert!(matches!(
        OneSampleTarget::parse("normal:0,1", 1).unwrap(),
        OneSampleTarget::Gaussian(_)
    ));
    assert!(OneSampleTarget::parse("normal:mean=2,std=0.5", 1).is_ok());
    assert!(OneSampleTarget::parse("gaussian:std=2,mean=1;2;3", 3).is_ok());
    assert!(OneSampleTarget::parse("pfgm-prior:D=1,smax=40", 2).is_ok());
    assert!(OneSampleTarget::parse("pfgm-prior:d=2,D=3,smax=10,center=1;1", 2).is_ok());
    assert!(OneSampleTarget::parse("mixture:8gaussians", 2).is_ok());
    for (spec, d, needle) in [
        ("normal:0,1", 2, "dimension"),
        ("normal:0,x", 1, "not a number"),
        ("gaussian:std=1,mean=0;0", 3, "dimension"),
        ("gaussian:sd=1", 2, "unknown key 'sd'"),
        ("pfgm-prior:smax=40", 2, "needs D"),
        ("pfgm-prior:D=1,smax=40,d=3", 2, "dimension"),
        ("mixture:9gaussians", 2, "known mixtures"),
        ("landing", 2, "needs a data file"),
        ("landing:/nonexistent/file.csv", 2, "nonexistent"),
        ("bogus", 2, "unknown target 'bogus'"),
    ] {
        let e = OneSampleTarget::parse(spec, d).unwrap_err().to_string();
        assert!(e.contains(needle), "{spec}: {e}");
    }
}
