//! Same seed, same bits, for any thread count: every test of the battery, two-sample
//! (2-D and 1-D) and one-sample.

use fieldflow::checks::{Battery, BatteryReport, OneSampleTarget};
use fieldflow::data::{Dataset, GaussianMixture};

fn in_pool(threads: usize, f: impl FnOnce() -> BatteryReport + Send) -> BatteryReport {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn battery_reports_do_not_depend_on_the_thread_count() {
    let x = Dataset::EightGaussians.sample_seeded(230, 1);
    let y = Dataset::EightGaussians.sample_seeded(170, 2);
    let x1 = x.column(0).to_owned().insert_axis(ndarray::Axis(1));
    let y1 = y.column(1).to_owned().insert_axis(ndarray::Axis(1));
    let mut battery = Battery::new(0.01).unwrap();
    battery.config.permutations = 99;
    battery.config.seed = 5;
    let target = OneSampleTarget::Mixture(GaussianMixture::eight_gaussians());
    for threads in [2, 3] {
        let a = in_pool(1, || battery.two_sample(x.view(), y.view()).unwrap());
        let b = in_pool(threads, || battery.two_sample(x.view(), y.view()).unwrap());
        assert_eq!(a, b);
        let a = in_pool(1, || battery.two_sample(x1.view(), y1.view()).unwrap());
        let b = in_pool(threads, || {
            battery.two_sample(x1.view(), y1.view()).unwrap()
        });
        assert_eq!(a, b);
        let a = in_pool(1, || battery.one_sample(x.view(), &target).unwrap());
        let b = in_pool(threads, || battery.one_sample(x.view(), &target).unwrap());
        assert_eq!(a, b);
    }
    // and another seed gives other permutations
    let a = battery.two_sample(x.view(), y.view()).unwrap();
    battery.config.seed = 6;
    let b = battery.two_sample(x.view(), y.view()).unwrap();
    assert_ne!(a, b);
}
