//! Command-line parsing and dispatch (binary only: the library never prints or exits).
//!
//! Each subcommand lives in its own file with an `Args` struct (clap derive) and a
//! `run(args) -> anyhow::Result<ExitCode>` function. Errors end the process with a
//! one-line message on stderr and exit code 2.

pub mod check;
pub mod datasets;
pub mod field_args;
pub mod figures;
pub mod marginal;
pub mod plot;
pub mod sample;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// fieldflow: generative ODEs that follow force fields.
#[derive(Debug, Parser)]
#[command(name = "fieldflow", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A short demonstration of what is built so far.
    Demo,
    /// Draw a toy data set and write it to a .csv or .npy file.
    Datasets(datasets::Args),
    /// Exact samples of the marginal p_s of a field.
    Marginal(marginal::Args),
    /// Generate samples by integrating a field from the prior to the data.
    Sample(sample::Args),
    /// Test samples against a reference sample or a known target (exit 0 pass, 1 rejected).
    Check(check::Args),
    /// Make one figure (PNG + SVG) from a fresh run.
    Plot(plot::Args),
    /// Make every README figure (PNG + SVG) into a folder.
    Figures(figures::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo => crate::demo::run(),
        Command::Datasets(args) => datasets::run(args),
        Command::Marginal(args) => marginal::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Check(args) => check::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Figures(args) => figures::run(args),
    }
}
