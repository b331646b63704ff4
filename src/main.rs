//! The `fieldflow` command line.

mod cli;
mod demo;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fieldflow: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
