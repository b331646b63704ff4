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

/// On SIGINT or SIGTERM: set the cancel flag (running solvers stop), undo the
/// unfinished writes (temporary files, half-placed outputs; replaced files are
/// restored) and exit with 128 + the signal number.
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                cli::cancel_flag().store(true, std::sync::atomic::Ordering::Relaxed);
                fieldflow::io::abandon_pending();
                std::process::exit(128 + sig);
            }
        });
    }
}

/// Keeps large buffers in the heap instead of mapping and unmapping them on every
/// allocation: candle allocates and frees the same multi-megabyte tensors at every
/// training step, and with glibc's default threshold (128 KiB, adapting upwards only
/// slowly) nearly half of a step went to `mmap`/`munmap` system calls. A threshold
/// of 16 MiB halves the step time of a 3x256 MLP at batch 512. Setting it switches
/// off glibc's adaptive trimming too, and the top of the heap was then given back
/// with `brk` after every step and grown again in the next (26 `brk` calls a step,
/// half of the run's time in the kernel for a 3x64 MLP): a trim threshold of 256 MiB
/// keeps it. A user who sets glibc's own `MALLOC_MMAP_THRESHOLD_` or
/// `MALLOC_TRIM_THRESHOLD_` keeps their value (which is also how the default
/// behaviour is measured).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
        }
    }
    if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// Gives candle the worker count of the run ([`cli::candle_env`]). candle reads its
/// thread counts from the environment only (it has no setting in code), so this is
/// the one place the binary changes its own environment: before any thread starts,
/// since reading the environment while another thread writes it is undefined.
#[cfg(feature = "learn")]
fn share_threads_with_candle(threads: Option<usize>) {
    for (name, value) in cli::candle_env(threads, |name| std::env::var(name).ok()) {
        std::env::set_var(name, value);
    }
}

#[cfg(not(feature = "learn"))]
fn share_threads_with_candle(_threads: Option<usize>) {}

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
                eprintln!("{}", cli::usage_error_line(&err));
                return ExitCode::from(2);
            }
        },
    };
    // still the only thread: the signal handler's starts next
    share_threads_with_candle(cli.threads);
    clean_up_on_signals();
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
