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

/// On SIGINT or SIGTERM: undo the unfinished writes (temporary files, half-placed
/// outputs; replaced files are restored) and exit with 128 + the signal number.
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                fieldflow::io::abandon_pending();
                std::process::exit(128 + sig);
            }
        });
    }
}

fn main() -> ExitCode {
    clean_up_on_signals();
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
