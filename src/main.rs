//! The `fieldflow` command line.

/// `println!` that stops quietly on a closed standard output (see `cli::stdout`).
macro_rules! outln {
    () => {
        $crate::cli::stdout::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::line(format_args!($($arg)*))
    };
}

mod cli;
mod demo;

use clap::error::ErrorKind;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => match err.kind() {
            // --help, --version and a bare `fieldflow`: clap's full text
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
            // a usage error: one line, exit code 2
            _ => {
                eprintln!("{}", cli::usage_error_line(&err));
                return ExitCode::from(2);
            }
        },
    };
    let code = match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let msg = format!("{err:#}").replace('\n', " ");
            eprintln!("fieldflow: error: {msg}");
            ExitCode::from(2)
        }
    };
    if let Some(e) = cli::stdout::finish() {
        eprintln!("fieldflow: warning: cannot write to standard output: {e}");
    }
    code
}
