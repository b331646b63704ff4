//! Command-line parsing and dispatch (binary only: the library never prints or exits).
//!
//! Each subcommand lives in its own file with an `Args` struct (clap derive) and a
//! `run(args) -> anyhow::Result<ExitCode>` function. Errors end the process with a
//! one-line message on stderr and exit code 2.

pub mod bench;
pub mod check;
pub mod datasets;
pub mod encode;
pub mod field_args;
pub mod figures;
pub mod marginal;
pub mod measure;
pub mod memory;
pub mod output;
pub mod plot;
pub mod sample;
pub mod stdout;
pub mod to_png;

#[cfg(test)]
mod prop_tests;
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

Exit codes: 0 success, 1 samples rejected (check, demo), 2 bad input or error,
  3 particles failed, or more were unconverged than the exact marginal allows
    (sample, encode; the files are still written, failed rows as NaN;
    --allow-failures accepts such a run with exit 0).")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// No progress bars (they are also hidden when stderr is not a terminal).
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Worker threads, 1 to 1024, for the network library (candle) too (default:
    /// RAYON_NUM_THREADS if set, else one per core). Results are bit-identical for
    /// any thread count.
    #[arg(long, global = true, allow_hyphen_values = true, value_parser = memory::count)]
    pub threads: Option<usize>,
}

/// clap's message of a usage error without the usage block, on one line.
pub fn usage_error_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
        .filter(|l| !l.is_empty())
        .collect();
    let first = parts.join(" ");
    let first = first.trim_start_matches("error: ");
    format!("fieldflow: error: {first} (see --help)")
}

/// Largest `--threads`.
pub const MAX_THREADS: usize = 1024;

/// Checks a `--threads` count: 1 to [`MAX_THREADS`].
pub fn check_threads(n: usize) -> anyhow::Result<()> {
    if n == 0 || n > MAX_THREADS {
        anyhow::bail!("--threads must be between 1 and {MAX_THREADS}, got {n}");
    }
    Ok(())
}

/// Builds the global worker pool with `n` threads (once, before any work).
pub fn init_threads(n: Option<usize>) -> anyhow::Result<()> {
    let Some(n) = n else { return Ok(()) };
    check_threads(n)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| anyhow::anyhow!("cannot start {n} worker threads: {e}"))
}

/// The environment variables that give candle (the network library of `train`,
/// `sample --model` and the learned figures) the worker count of the rayon pool,
/// given `--threads` and a reader of the current environment. candle reads its
/// counts from `RAYON_NUM_THREADS` and `CANDLE_NUM_THREADS` only (see
/// [`fieldflow::learn::threads`]), so `--threads N` sets both to N. Without
/// `--threads`, a `CANDLE_NUM_THREADS` the user set is kept; otherwise both get
/// rayon's own default (`RAYON_NUM_THREADS` if a positive count, else the number of
/// cores rayon sees), which for the products is what candle would read anyway, but
/// for its elementwise pool replaces candle's count of physical cores. An invalid
/// `--threads` sets nothing ([`init_threads`] rejects it).
#[cfg(feature = "learn")]
pub fn candle_env(
    threads: Option<usize>,
    var: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    let n = match threads {
        Some(n) if check_threads(n).is_ok() => n,
        Some(_) => return Vec::new(),
        None if var("CANDLE_NUM_THREADS").is_some() => return Vec::new(),
        // rayon's rule (rayon-core's ThreadPoolBuilder), read the same way
        None => ["RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS"]
            .iter()
            .find_map(|name| var(name)?.parse::<usize>().ok().filter(|&n| n > 0))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    vec![
        ("RAYON_NUM_THREADS", n.to_string()),
        ("CANDLE_NUM_THREADS", n.to_string()),
    ]
}

/// Exit code of a run with failed (or too many unconverged) particles.
pub const EXIT_FAILURES: u8 = 3;

/// The exit code of a run whose files are written but some of whose particles
/// failed (`why`, one reason each): 0 without reasons; with reasons a warning and
/// 0 when `allow` (`--allow-failures`), else an error line and [`EXIT_FAILURES`].
pub fn failures_exit(why: Vec<String>, allow: bool) -> ExitCode {
    if why.is_empty() {
        return ExitCode::SUCCESS;
    }
    let why = why.join("; ");
    if allow {
        eprintln!("fieldflow: warning: {why} (accepted: --allow-failures)");
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "fieldflow: error: {why}; the files are written; use --allow-failures to accept such a run"
    );
    ExitCode::from(EXIT_FAILURES)
}

/// The level of the one-sided binomial test of the unconverged count: a run is
/// flagged when `P(X >= K) < 1e-6` under the rate the exact marginal allows.
pub const UNCONVERGED_LEVEL: f64 = 1e-6;

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
    /// Memorisation and generalisation of samples against training and held-out points.
    Measure(measure::Args),
    /// Train a network on a field (learned field) and write a model file.
    #[cfg(feature = "learn")]
    Train(train::Args),
    /// Make one figure (PNG + SVG) from a fresh run.
    Plot(plot::Args),
    /// Make every README figure (PNG + SVG) into a folder.
    Figures(figures::Args),
    /// Measure few-step samplers against the exact solution (`bench samplers`).
    Bench(bench::Args),
    /// Write points (e.g. generated images) as PNG files.
    ToPng(to_png::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    output::set_quiet(cli.quiet);
    init_threads(cli.threads)?;
    match cli.command {
        Command::Demo(args) => crate::demo::run(args, cli.quiet),
        Command::Datasets(args) => datasets::run(args),
        Command::Marginal(args) => marginal::run(args),
        Command::Sample(args) => sample::run(args, cli.quiet),
        Command::Encode(args) => encode::run(args, cli.quiet),
        Command::Check(args) => check::run(args, cli.quiet),
        Command::Measure(args) => measure::run(args, cli.quiet),
        #[cfg(feature = "learn")]
        Command::Train(args) => train::run(args, cli.quiet),
        Command::Plot(args) => plot::run(args),
        Command::Figures(args) => figures::run(args, cli.quiet),
        Command::Bench(args) => bench::run(args, cli.quiet),
        Command::ToPng(args) => to_png::run(args),
    }
}

/// The process's cancel flag: the SIGINT/SIGTERM handler sets it (then cleans up and
/// exits with 128 + the signal number), and the long runs read it
/// ([`fieldflow::run::Hooks::cancel`]) so that their worker threads stop at once.
pub fn cancel_flag() -> &'static std::sync::atomic::AtomicBool {
    static CANCEL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    &CANCEL
}

#[cfg(all(test, feature = "learn"))]
mod tests {
    use super::candle_env;

    /// A reader of an environment made of `pairs`.
    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn both(n: usize) -> Vec<(&'static str, String)> {
        vec![
            ("RAYON_NUM_THREADS", n.to_string()),
            ("CANDLE_NUM_THREADS", n.to_string()),
        ]
    }

    #[test]
    fn threads_flag_sets_both_of_candles_variables() {
        let user = [("RAYON_NUM_THREADS", "7"), ("CANDLE_NUM_THREADS", "5")];
        assert_eq!(candle_env(Some(1), env(&user)), both(1));
        assert_eq!(candle_env(Some(3), env(&[])), both(3));
        // invalid counts set nothing: --threads reports them
        assert!(candle_env(Some(0), env(&[])).is_empty());
        assert!(candle_env(Some(super::MAX_THREADS + 1), env(&[])).is_empty());
    }

    #[test]
    fn without_the_flag_candle_gets_rayons_default() {
        assert_eq!(
            candle_env(None, env(&[("RAYON_NUM_THREADS", "3")])),
            both(3)
        );
        assert_eq!(
            candle_env(None, env(&[("RAYON_RS_NUM_CPUS", "4")])),
            both(4)
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for junk in ["0", "x", "", " 2"] {
            let e = [("RAYON_NUM_THREADS", junk)];
            assert_eq!(candle_env(None, env(&e)), both(cores), "{junk:?}");
        }
        // the user's own CANDLE_NUM_THREADS is kept
        assert!(candle_env(None, env(&[("CANDLE_NUM_THREADS", "2")])).is_empty());
    }
}
