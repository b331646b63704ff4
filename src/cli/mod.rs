//! Command-line parsing and dispatch (binary only: the library never prints or exits).
//!
//! Each subcommand lives in its own file with an `Args` struct (clap derive) and a
//! `run(args) -> anyhow::Result<ExitCode>` function. Errors end the process with a
//! one-line message on stderr and exit code 2.

pub mod check;
pub mod datasets;
pub mod encode;
pub mod field_args;
pub mod figures;
pub mod marginal;
pub mod output;
pub mod plot;
pub mod sample;
#[cfg(feature = "learn")]
pub mod sample_model;
#[cfg(feature = "learn")]
pub mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// fieldflow: generative ODEs that follow force fields.
#[derive(Debug, Parser)]
#[command(name = "fieldflow", version, about, long_about = None)]
#[command(after_help = "\
Start here:
  fieldflow demo                       # PFGM on 8gaussians: samples, checks, figures
  fieldflow datasets moons --n 1000 --out data.csv
  fieldflow sample --field poisson --data data.csv --n 2000 --out gen.csv
  fieldflow SUBCOMMAND --help          # options and examples of each subcommand

Exit codes: 0 success, 1 samples rejected (check, demo), 2 bad input or error.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// No progress bars (they are also hidden when stderr is not a terminal).
    #[arg(long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a data set, sample it with PFGM, check the result, draw it (under a minute).
    Demo(crate::demo::Args),
    /// Draw a toy data set and write it to a .csv or .npy file.
    Datasets(datasets::Args),
    /// Exact samples of the marginal p_s of a field.
    Marginal(marginal::Args),
    /// Generate samples by integrating a field from the prior to the data.
    Sample(sample::Args),
    /// Encode points forward to the prior level, with exact log-likelihoods.
    Encode(encode::Args),
    /// Test samples against a reference sample or a known target (exit 0 pass, 1 rejected).
    Check(check::Args),
    /// Train a network on a field (learned field) and write a model file.
    #[cfg(feature = "learn")]
    Train(train::Args),
    /// Make one figure (PNG + SVG) from a fresh run.
    Plot(plot::Args),
    /// Make every README figure (PNG + SVG) into a folder.
    Figures(figures::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => crate::demo::run(args, cli.quiet),
        Command::Datasets(args) => datasets::run(args),
        Command::Marginal(args) => marginal::run(args),
        Command::Sample(args) => sample::run(args, cli.quiet),
        Command::Encode(args) => encode::run(args, cli.quiet),
        Command::Check(args) => check::run(args, cli.quiet),
        #[cfg(feature = "learn")]
        Command::Train(args) => train::run(args, cli.quiet),
        Command::Plot(args) => plot::run(args),
        Command::Figures(args) => figures::run(args, cli.quiet),
    }
}
