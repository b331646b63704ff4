//! Your own field through all of sampling: a velocity closure, a prior, then
//! generation, encoding with likelihoods, and the velocity and trajectories figures.
//!
//! The closure is the exact Gaussian-path field of the data `N(mu, c^2 I)`,
//! `f_s(x) = s (x - mu) / (c^2 + s^2)`, so every number has an exact answer: the
//! samples at `s_min` follow `N(mu, (c^2 + s_min^2) I)` (up to the far-field prior's
//! variance factor `s_max^2 / (c^2 + s_max^2)`), and the encoder's log-likelihood,
//! computed with the finite-difference trace because the closure gives no
//! divergence, is the exact Gaussian log-density.
//!
//! ```text
//! cargo run --release --example own_field -- OUT_DIR
//! ```
use fieldflow::fields::{FnField, Noise, Schedule};
use fieldflow::ode::{Method, SolverOptions};
use fieldflow::plots::{save_figure, trajectories, velocity};
use fieldflow::sampling::{FarFieldPrior, Flow, Prior, SampleOptions};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or("own-field-output".into());
    std::fs::create_dir_all(&out)?;
    let (mu, c) = ([1.0, -0.5], 0.5);
    // 1. the field: one row at a time (x and f have length d = 2)
    let field = FnField::new(2, Schedule::Ray, move |s: f64, x: &[f64], f: &mut [f64]| {
        for j in 0..2 {
            f[j] = s * (x[j] - mu[j]) / (c * c + s * s);
        }
    })?
    .named("Gaussian-data field (closure)");
    // 2. the prior: the far field N(mu, s_max^2 I) at the options' s_max
    let mut opts = SampleOptions::for_schedule(Schedule::Ray); // s = 40 -> 1e-3, dopri5
    opts.solver = SolverOptions::new(Method::Dopri5).tol(1e-8);
    let prior = FarFieldPrior::new(mu.to_vec(), Noise::gaussian(2)?, opts.s_max)?;
    let flow = Flow::new(&field, &prior)?;
    // 3. generate
    let samples = flow.generate(5000, 1, &opts)?;
    let n = samples.x.nrows() as f64;
    let mean: Vec<f64> = (0..2).map(|j| samples.x.column(j).sum() / n).collect();
    let var = (0..2)
        .map(|j| samples.x.column(j).mapv(|v| (v - mean[j]).powi(2)).sum() / (n - 1.0))
        .sum::<f64>()
        / 2.0;
    let s2 = |s: f64| c * c + s * s;
    let want = s2(opts.s_min) * opts.s_max.powi(2) / s2(opts.s_max);
    println!(
        "generate: {:.1} evaluations per sample, {} failed; mean ({:.4}, {:.4}) (exact {:?}), \
         variance {:.5} (exact {:.5}, n = 5000)",
        samples.evals_per_particle(),
        samples.n_unconverged,
        mean[0],
        mean[1],
        mu,
        var,
        want
    );
    // 4. encode with the likelihood: the finite-difference trace (2d evaluations per
    //    step) against the exact log-density of N(mu, (c^2 + s_min^2) I)
    opts.likelihood = true;
    let x = samples.x.slice(ndarray::s![..200, ..]);
    let enc = flow.encode(x, &opts)?;
    let ln_normal = |r: ndarray::ArrayView1<f64>, v: f64| {
        let r2 = (r[0] - mu[0]).powi(2) + (r[1] - mu[1]).powi(2);
        -r2 / (2.0 * v) - (2.0 * std::f64::consts::PI * v).ln()
    };
    let (mut err_path, mut err_total) = (0.0f64, 0.0f64);
    for (i, (xr, zr)) in x.rows().into_iter().zip(enc.z.rows()).enumerate() {
        // along the path: ln p_{s_max}(z) - ln p_{s_min}(x), exact for this field
        let exact_delta = ln_normal(zr, s2(opts.s_max)) - ln_normal(xr, s2(opts.s_min));
        err_path =
            err_path.max((enc.delta_log_p.as_ref().expect("likelihood")[i] - exact_delta).abs());
        let lp = enc.log_p.as_ref().expect("likelihood")[i];
        err_total = err_total.max((lp - ln_normal(xr, s2(opts.s_min))).abs());
    }
    println!(
        "encode (200 samples): change of ln p along the paths, largest error {err_path:.2e}; \
         log-likelihood, largest error {err_total:.2e} (mostly the far-field prior's, \
         N(mu, s_max^2 I) instead of N(mu, (c^2 + s_max^2) I))"
    );
    // 5. figures: velocity at four levels, paths from the prior
    let window = ((-2.0, 4.0), (-3.5, 2.5));
    let empty = ndarray::Array2::<f64>::zeros((0, 2));
    let fig = velocity::compute_field(
        "N(mu, c^2 I)",
        &field,
        empty.clone(),
        window,
        &[3.0, 1.0, 0.3, 0.1],
        15,
    )?;
    let files = save_figure(&fig, out.join("own_velocity"), (1800, 520), true)?;
    println!("wrote {}", files.png.display());
    let x0 = prior.sample(100, 2)?;
    let levels = fieldflow::plots::log_levels(opts.s_max, opts.s_min, 60);
    let panel = trajectories::compute_panel_field(
        "N(mu, c^2 I)",
        &field,
        x0.view(),
        empty,
        window,
        levels,
        &opts.solver,
    )?;
    let fig = trajectories::Trajectories {
        label: "Own field trajectories".into(),
        start: "the far-field prior".into(),
        panels: vec![panel],
        s_max: opts.s_max,
        s_min: opts.s_min,
    };
    let files = save_figure(&fig, out.join("own_trajectories"), (1000, 760), true)?;
    println!("wrote {}", files.png.display());
    Ok(())
}
