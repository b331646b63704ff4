//! `fieldflow train`: train a network on a field and write it as a model file.
//!
//! ```text
//! fieldflow train --field F [--aug-dim D] --data FILE --out MODEL.safetensors
//!     [--steps N] [--batch B] [--hidden W] [--layers L] [--lr X] [--seed S]
//!     [--target conditional|exact] [--test-split P | --test FILE] [--loss CURVE.csv]
//! ```
//!
//! The network predicts the posterior mean of the field (see `fieldflow::learn`).
//! Outputs are checked before any work and written atomically; nothing is replaced
//! without `--force`. A progress bar shows the training loss (hidden with `--quiet`
//! or when stderr is not a terminal).

use super::output::{check_outputs, progress_bar, Kind, Outputs};
use anyhow::bail;
use clap::Parser;
use fieldflow::fields::{FieldKind, FieldParams};
use fieldflow::learn::{Target, TrainConfig};
use fieldflow::run::{check_train_sizes, test_every, train, HeldOut, TrainRun};
use ndarray::Array2;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `fieldflow train`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = "\
Examples:
  fieldflow datasets moons --n 10000 --out moons.csv
  fieldflow train --field linear --data moons.csv --out moons.safetensors --test-split 0.1
  fieldflow train --field pfgmpp --aug-dim 8 --data moons.csv --out m.safetensors \\
      --steps 5000 --target exact --loss loss.csv

The model file (safetensors) records the field, the architecture, the data
normalisation, the seed, the steps and a SHA-256 of the training data.
Exit code: 0 success, 2 bad input (nothing written).")]
pub struct Args {
    /// Field: poisson, pfgmpp, gaussian, linear (normal prior).
    #[arg(long)]
    pub field: String,
    /// Extra dimensions D > 0 of `pfgmpp`.
    #[arg(long = "aug-dim")]
    pub aug_dim: Option<f64>,
    /// Training data (`.csv`, `.npy`): one point per row.
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file (`.safetensors`).
    #[arg(long)]
    pub out: PathBuf,
    /// Optimiser steps.
    #[arg(long, default_value_t = 20_000, value_parser = super::memory::count)]
    pub steps: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 512, value_parser = super::memory::count)]
    pub batch: usize,
    /// Hidden width W.
    #[arg(long, default_value_t = 64, value_parser = super::memory::count)]
    pub hidden: usize,
    /// Hidden layers L.
    #[arg(long, default_value_t = 3, value_parser = super::memory::count)]
    pub layers: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of the weights, the split and every draw (same seed, same model, for
    /// any thread count).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Regression target: conditional (perturbed data points) or exact (the
    /// closed-form posterior mean of the training set).
    #[arg(long, default_value = "conditional")]
    pub target: String,
    /// Hold out this fraction of --data (in (0, 1)) for the test loss.
    #[arg(long = "test-split", conflicts_with = "test")]
    pub test_split: Option<f64>,
    /// Held-out points for the test loss (same dimension as --data).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Write the loss curve (step, train, test) to this `.csv` or `.npy` file.
    #[arg(long)]
    pub loss: Option<PathBuf>,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

/// Runs `fieldflow train`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    let kind = FieldKind::from_name(
        &args.field,
        &FieldParams {
            aug_dim: args.aug_dim,
            ..FieldParams::default()
        },
    )?;
    fieldflow::learn::sigma_scale(kind)?;
    let target: Target = args.target.parse()?;
    if args.steps == 0 || args.batch == 0 || args.hidden == 0 || args.layers == 0 {
        bail!("--steps, --batch, --hidden and --layers must be at least 1");
    }
    let cfg = TrainConfig {
        kind,
        steps: args.steps,
        batch: args.batch,
        hidden: args.hidden,
        layers: args.layers,
        lr: args.lr,
        seed: args.seed,
        target,
        test_every: test_every(args.steps),
        ..TrainConfig::default()
    };
    // the library's memory estimate (network and one batch), before reading any file
    check_train_sizes(&cfg)?;
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        bail!("--lr must be positive and finite, got {}", args.lr);
    }
    let mut outputs = vec![(args.out.as_path(), "--out", Kind::Model)];
    if let Some(l) = &args.loss {
        outputs.push((l.as_path(), "--loss", Kind::Points));
    }
    let mut inputs = vec![args.data.as_path()];
    if let Some(t) = &args.test {
        inputs.push(t.as_path());
    }
    check_outputs(&outputs, &inputs, args.force)?;

    let all = fieldflow::io::read_points(&args.data)?;
    let test_points = match (args.test_split, &args.test) {
        (None, Some(path)) => {
            let t = fieldflow::io::read_points(path)?;
            if t.ncols() != all.ncols() {
                bail!(
                    "--test {} has {} columns but --data has {}",
                    path.display(),
                    t.ncols(),
                    all.ncols()
                );
            }
            Some(t)
        }
        _ => None,
    };
    let held_out = match (args.test_split, &test_points) {
        (Some(p), _) => HeldOut::Split(p),
        (None, Some(t)) => HeldOut::Points(t.view()),
        (None, None) => HeldOut::None,
    };
    let bar = progress_bar(args.steps, quiet, "training");
    let start = Instant::now();
    let TrainRun {
        report,
        n_train,
        n_test,
    } = train(
        all.view(),
        held_out,
        &cfg,
        |step, loss| {
            bar.inc(1);
            if step % 20 == 0 {
                bar.set_message(format!("training, loss {loss:.4}"));
            }
        },
        None,
    )?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();

    // the model and the loss curve appear together at the end, or neither
    let mut files = Outputs::new(args.force);
    files.bytes(&args.out, &report.model.to_bytes()?)?;
    if let Some(path) = &args.loss {
        let curve = &report.curve;
        let table = Array2::from_shape_fn((curve.len(), 3), |(i, j)| match j {
            0 => curve[i].step as f64,
            1 => curve[i].train,
            _ => curve[i].test,
        });
        let cols = ["step", "train", "test"].map(String::from);
        files.table(path, &cols, table.view())?;
    }
    files.commit()?;

    let tail = report.curve.len().min(100);
    let last: f64 = report.curve[report.curve.len() - tail..]
        .iter()
        .map(|p| p.train)
        .sum::<f64>()
        / tail as f64;
    crate::say!(
        "trained {} on {} points (d = {}): {} steps of batch {} in {:.1} s ({:.3} ms/step, {})",
        kind,
        n_train,
        all.ncols(),
        args.steps,
        args.batch,
        secs,
        1e3 * secs / args.steps as f64,
        threads_note()
    );
    let held_out = match report.curve.last().map(|p| p.test) {
        Some(t) if t.is_finite() => format!(", held-out loss {t:.4} ({} points)", n_test),
        _ => String::new(),
    };
    crate::say!("training loss (mean of the last {tail} steps) {last:.4}{held_out}");
    crate::say!("wrote {}", args.out.display());
    if let Some(p) = &args.loss {
        crate::say!("wrote the loss curve to {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The worker threads of the run for the summary: `N threads` when candle's counts
/// are the rayon pool's (always so with `--threads`), else each of them.
fn threads_note() -> String {
    let pool = rayon::current_num_threads();
    let c = fieldflow::learn::candle_threads();
    if c.products == pool && c.elementwise == pool {
        format!("{pool} thread{}", if pool == 1 { "" } else { "s" })
    } else {
        format!(
            "{pool} worker thread{}; candle: {} for products, {} for elementwise operations",
            if pool == 1 { "" } else { "s" },
            c.products,
            c.elementwise
        )
    }
}
