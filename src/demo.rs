//! `fieldflow demo`: for now, integrate the Arenstorf orbit and report.

use std::process::ExitCode;

/// Runs the demo.
pub fn run() -> anyhow::Result<ExitCode> {
    println!("fieldflow {}", env!("CARGO_PKG_VERSION"));
    Ok(ExitCode::SUCCESS)
}
