//! `fieldflow demo`: the README's run command.
//!
//! In well under a minute on two cores: draw the 8gaussians data set, sample it with
//! PFGM (the Poisson field of the empirical data, far-field prior at `s = 40`, dopri5
//! down to `s = 1e-3`), check the pushforward against fresh exact draws of the
//! field's `p_{s_min}` (two-sample battery) and with the landing test (how often each
//! data point is the nearest, against the data weights), write the points and three
//! figures, and print a table. Every number printed is computed in the run.

use crate::cli::output::progress_bar;
use clap::Parser;
use fieldflow::checks::one_sample::landing_test;
use fieldflow::checks::Battery;
use fieldflow::data::Dataset;
use fieldflow::fields::{FieldKind, MarginalField, Source};
use fieldflow::plots::{category_color, save_figure, ColorScale, Figure, Scatter, Series};
use fieldflow::sampling::{generate_with_progress, trajectories, SampleOptions};
use ndarray::Array2;
use plotters::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `fieldflow demo`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = "\
Example:
  cargo run --release -- demo                 # writes demo-output/
  fieldflow demo --out /tmp/demo --n 500      # smaller and elsewhere

The folder is created if needed; the demo's own files in it (data.csv, generated.csv,
reference.csv, demo_samples.{png,svg}, demo_paths.{png,svg}, density.{png,svg},
demo_checks.json) are
replaced on every run. Exit code: 0 when the checks pass, 1 when they reject, 2 on an
error.")]
pub struct Args {
    /// Output folder.
    #[arg(long, default_value = "demo-output")]
    out: PathBuf,
    /// Number of generated samples (at least 50).
    #[arg(long, default_value_t = 2000, value_parser = crate::cli::memory::count)]
    n: usize,
    /// Number of data points (at least 8).
    #[arg(long = "data-n", default_value_t = 1000, value_parser = crate::cli::memory::count)]
    data_n: usize,
    /// Seed of everything (data, prior, reference, permutations).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Permutations (and Monte Carlo draws) per test.
    #[arg(long, default_value_t = 999, value_parser = crate::cli::memory::count)]
    permutations: usize,
}

/// Three panels: the data, the PFGM samples, and exact draws of `p_{s_min}`.
struct Panels<'a> {
    data: &'a Array2<f64>,
    generated: &'a Array2<f64>,
    reference: &'a Array2<f64>,
    s_min: f64,
}

impl Figure for Panels<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> fieldflow::Result<()> {
        let root = root.titled(
            "fieldflow demo: PFGM on 8gaussians (Poisson field of the data points)",
            ("sans-serif", 22),
        )?;
        let panels = root.split_evenly((1, 3));
        let r = (-4.5, 4.5);
        let titles = [
            format!("data ({} points)", self.data.nrows()),
            format!("PFGM samples ({})", self.generated.nrows()),
            format!("exact draws of p_s, s = {}", self.s_min),
        ];
        for (k, (pts, title)) in [self.data, self.generated, self.reference]
            .iter()
            .zip(titles)
            .enumerate()
        {
            Scatter::new(title)
                .ranges(r, r)
                .series(Series::new(pts.view())?.color(category_color(k)).radius(1))
                .draw_on(&panels[k])?;
        }
        Ok(())
    }
}

/// Paths of a few particles, coloured by `log10 s`, over the data.
struct Paths<'a> {
    data: &'a Array2<f64>,
    points: Array2<f64>,
    log_s: Vec<f64>,
    n_paths: usize,
}

impl Figure for Paths<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> fieldflow::Result<()> {
        let scale = ColorScale::spanning(&self.log_s)?;
        Scatter::new(format!(
            "{} PFGM paths, coloured by log10 s (s = 40 -> 1e-3; window [-6, 6]^2)",
            self.n_paths
        ))
        .ranges((-6.0, 6.0), (-6.0, 6.0))
        .series(
            Series::new(self.data.view())?
                .color(RGBColor(200, 200, 200))
                .radius(1)
                .label("data"),
        )
        .series(
            Series::new(self.points.view())?
                .color_by(self.log_s.clone(), Some(scale))?
                .radius(1)
                .label("path points"),
        )
        .draw_on(root)
    }
}

fn verdict(reject: bool) -> &'static str {
    if reject {
        "REJECTED"
    } else {
        "passed"
    }
}

/// Runs the demo.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.n < 50 {
        anyhow::bail!("--n must be at least 50, got {}", args.n);
    }
    if args.data_n < 8 {
        anyhow::bail!("--data-n must be at least 8, got {}", args.data_n);
    }
    if args.permutations < 99 {
        anyhow::bail!(
            "--permutations must be at least 99, got {}",
            args.permutations
        );
    }
    if args.permutations > fieldflow::limits::MAX_PERMUTATIONS {
        anyhow::bail!(
            "--permutations {} is more than the limit {}",
            args.permutations,
            fieldflow::limits::MAX_PERMUTATIONS
        );
    }
    // 2-D points: the samples and their copies (as in `sample`), the reference draws,
    // and the data with the field's copies
    use crate::cli::memory::{bytes, ensure_fits};
    ensure_fits(&format!("--n {} (the samples)", args.n), bytes(args.n, 400))?;
    ensure_fits(
        &format!("--data-n {} (the data points)", args.data_n),
        bytes(args.data_n, 6 * 8 * 3),
    )?;
    if args.out.exists() && !args.out.is_dir() {
        anyhow::bail!("--out {} exists and is not a directory", args.out.display());
    }
    std::fs::create_dir_all(&args.out)?;
    let total = Instant::now();
    let seed = args.seed;
    outln!(
        "fieldflow {} demo: PFGM on 8gaussians, {} threads",
        env!("CARGO_PKG_VERSION"),
        rayon::current_num_threads()
    );

    // 1. the data and the field
    let data = Dataset::EightGaussians.sample_seeded(args.data_n, seed);
    let mf = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    let opts = SampleOptions::new(&mf);

    // 2. sample: far-field prior at s_max, backward to s_min
    let bar = progress_bar(args.n, quiet, "sampling");
    let tick = |k: usize| bar.inc(k as u64);
    let t0 = Instant::now();
    let out = generate_with_progress(&mf, args.n, seed + 1, &opts, &tick)?;
    bar.finish_and_clear();
    let sample_secs = t0.elapsed().as_secs_f64();
    let failed = out.stats.iter().filter(|s| !s.status.is_success()).count();

    // 3. checks: two-sample against fresh exact draws of p_{s_min}, and landing
    let t1 = Instant::now();
    let spin = crate::cli::output::spinner(quiet, "checking (two-sample battery and landing test)");
    let reference = mf.sample_marginal(opts.s_min, args.n, seed + 2)?;
    let mut battery = Battery::new(0.01)?;
    battery.config.permutations = args.permutations;
    battery.config.seed = seed + 3;
    let keep: Vec<usize> = (0..out.x.nrows())
        .filter(|&i| out.x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    let gen = out.x.select(ndarray::Axis(0), &keep);
    let two = battery.two_sample(gen.view(), reference.view())?;
    let landing = landing_test(gen.view(), data.view(), None, args.permutations, seed + 3)?;
    let landing_reject = landing.result.pvalue <= battery.alpha();
    spin.finish_and_clear();
    let check_secs = t1.elapsed().as_secs_f64();

    // 4. files and figures
    let t2 = Instant::now();
    let spin = crate::cli::output::spinner(quiet, "writing files and figures");
    let dir = &args.out;
    fieldflow::io::write_points(dir.join("data.csv"), data.view(), true)?;
    fieldflow::io::write_points(dir.join("generated.csv"), gen.view(), true)?;
    fieldflow::io::write_points(dir.join("reference.csv"), reference.view(), true)?;
    let fig1 = save_figure(
        &Panels {
            data: &data,
            generated: &gen,
            reference: &reference,
            s_min: opts.s_min,
        },
        dir.join("demo_samples"),
        (1500, 540),
        true,
    )?;
    let n_paths = 150.min(args.n);
    let levels = crate::cli::sample::log_levels(opts.s_max, opts.s_min, 60);
    let starts = mf.sample_prior(opts.s_max, n_paths, seed + 4, opts.prior)?;
    let tr = trajectories(
        &mf,
        starts.view(),
        opts.s_max,
        opts.s_min,
        &levels,
        &opts.solver,
    )?;
    let mut pts = Vec::new();
    let mut log_s = Vec::new();
    for i in 0..n_paths {
        for (k, &s) in levels.iter().enumerate() {
            let (x, y) = (tr[[i, k, 0]], tr[[i, k, 1]]);
            if x.is_finite() && y.is_finite() && x.abs() <= 6.0 && y.abs() <= 6.0 {
                pts.extend([x, y]);
                log_s.push(s.log10());
            }
        }
    }
    let points = Array2::from_shape_vec((log_s.len(), 2), pts)?;
    let fig2 = save_figure(
        &Paths {
            data: &data,
            points,
            log_s,
            n_paths,
        },
        dir.join("demo_paths"),
        (800, 760),
        true,
    )?;
    // the figures module's density picture, for the demo's data: exact log10 p_s
    let density = fieldflow::plots::make_figure(
        fieldflow::plots::FigureKind::Density,
        dir,
        &fieldflow::plots::FigureOptions {
            size: fieldflow::plots::Size::Full,
            seed,
            overwrite: true,
            data: Some(fieldflow::plots::UserData::new("8gaussians", data.clone())?),
        },
    )?;
    let report = serde_json::json!({
        "two_sample": two,
        "landing": { "test": landing.result, "alpha": battery.alpha(), "reject": landing_reject },
        "sampling": {
            "n": args.n, "evaluations": out.totals.evals,
            "evaluations_per_particle": out.evals_per_particle(),
            "unconverged": out.n_unconverged, "failed": failed, "seconds": sample_secs,
        },
    });
    fieldflow::io::write_text(
        dir.join("demo_checks.json"),
        &(serde_json::to_string_pretty(&report)? + "\n"),
        true,
    )?;
    spin.finish_and_clear();
    let files_secs = t2.elapsed().as_secs_f64();

    // 5. the table
    let t = &out.totals;
    outln!();
    outln!("what                                    value");
    outln!("--------------------------------------  ------------------------------");
    outln!(
        "data                                    8gaussians, {} points (seed {seed})",
        args.data_n
    );
    outln!(
        "field / prior                           poisson (PFGM), far field at s = {}",
        opts.s_max
    );
    outln!(
        "solver                                  dopri5 rtol = atol = 1e-5, s {} -> {}",
        opts.s_max,
        opts.s_min
    );
    outln!("samples generated                       {}", args.n);
    outln!(
        "function evaluations                    {} ({:.1} per particle)",
        t.evals,
        out.evals_per_particle()
    );
    outln!(
        "steps accepted / rejected               {} / {}",
        t.accepted,
        t.rejected
    );
    outln!(
        "failed / unconverged particles          {failed} / {} (radius {:.3})",
        out.n_unconverged,
        out.unconverged_radius
    );
    outln!("sampling time                           {sample_secs:.2} s");
    outln!();
    outln!(
        "check 1: PFGM samples vs {} fresh exact draws of p_s at s = {} (two-sample, alpha 0.01, {} permutations)",
        reference.nrows(),
        opts.s_min,
        args.permutations
    );
    for r in &two.tests {
        outln!("  {:<14} p = {:.4}", r.name, r.pvalue);
    }
    outln!("  verdict: {}", verdict(two.reject));
    let hit = landing.counts.iter().filter(|&&c| c > 0).count();
    outln!(
        "check 2: landing test, nearest data point of each sample vs uniform weights ({} of {} data points hit)",
        hit, args.data_n
    );
    outln!(
        "  {:<14} p = {:.4}",
        landing.result.name,
        landing.result.pvalue
    );
    outln!("  verdict: {}", verdict(landing_reject));
    outln!("checks time                             {check_secs:.2} s");
    outln!();
    outln!(
        "wrote {}/{{data,generated,reference}}.csv, demo_checks.json,",
        dir.display()
    );
    outln!(
        "      {}, {}, {} and the .svg twins ({files_secs:.2} s)",
        fig1.png.display(),
        fig2.png.display(),
        density.files.png.display()
    );
    let reject = two.reject || landing_reject;
    outln!(
        "total {:.1} s; overall verdict: {}",
        total.elapsed().as_secs_f64(),
        if reject {
            "REJECTED (see above)"
        } else {
            "the PFGM samples are consistent with the field's p_s at s_min"
        }
    );
    Ok(if reject {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
