//! The `fieldflow` command line.

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
