//! The `fieldflow` command line.

mod cli;
mod demo;

use clap::error::ErrorKind;
use clap::Parser;
use std::process::ExitCode;

/// Keeps large buffers in the heap instead of mapping and unmapping them on every
/// allocation: candle allocates and frees the same multi-megabyte tensors at every
/// training step, and with glibc's default threshold (128 KiB, adapting upwards only
/// slowly) nearly half of a step went to `mmap`/`munmap` system calls. A threshold
/// of 16 MiB halves the step time of a 3x256 MLP at batch 512. A user who sets
/// glibc's own `MALLOC_MMAP_THRESHOLD_` keeps their value (which is also how the
/// default behaviour is measured).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => match err.kind() {
            // --help, --version and a bare `fieldflow`: clap's full text
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
            // a usage error: one line, exit code 2
            _ => {
                // clap's message without the usage block, on one line
                let text = err.to_string();
                let parts: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                    .filter(|l| !l.is_empty())
                    .collect();
                let first = parts.join(" ");
                let first = first.trim_start_matches("error: ");
                eprintln!("fieldflow: error: {first} (see --help)");
                return ExitCode::from(2);
            }
        },
    };
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let msg = format!("{err:#}").replace('\n', " ");
            eprintln!("fieldflow: error: {msg}");
            ExitCode::from(2)
        }
    }
}
