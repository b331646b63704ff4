//! The library in thirty lines: data set -> PFGM field -> samples -> a check.
//!
//! ```text
//! cargo run --release --example quickstart -- OUT_DIR
//! ```
use fieldflow::checks::{Battery, OneSampleTarget};
use fieldflow::data::Dataset;
use fieldflow::fields::{FieldKind, MarginalField, Source};
use fieldflow::sampling::{generate, SampleOptions};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or("quickstart-output".into());
    std::fs::create_dir_all(&out)?;
    // 1000 points of the moons data set act as charges: the PFGM (Poisson) field
    let data = Dataset::Moons.sample_seeded(1000, 0);
    let field = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    // far-field prior at s = 40, dopri5 down to s = 1e-3
    let opts = SampleOptions::new(&field);
    let samples = generate(&field, 1000, 1, &opts)?;
    println!(
        "{:.1} evaluations per sample, {} unconverged",
        samples.evals_per_particle(),
        samples.n_unconverged
    );
    // two-sample battery against fresh exact draws of p_s at s = 1e-3 ...
    let exact = field.sample_marginal(opts.s_min, 1000, 2)?;
    let battery = Battery::new(0.01)?;
    println!("{}", battery.two_sample(samples.x.view(), exact.view())?);
    // ... and the landing test: nearest data point of each sample vs the weights
    let landing = OneSampleTarget::Landing {
        data: data.clone(),
        weights: None,
    };
    println!("{}", battery.one_sample(samples.x.view(), &landing)?);
    fieldflow::io::write_points(out.join("samples.csv"), samples.x.view(), true)?;
    println!("wrote {}", out.join("samples.csv").display());
    Ok(())
}
