//! Standard output that survives a closed pipe.
//!
//! `println!` panics when standard output is a pipe whose reader has gone
//! (`fieldflow check ... | head -1`): the write fails with `EPIPE` (Rust ignores
//! `SIGPIPE`), and the panic turns a verdict into exit code 101. Every line the
//! binary prints goes through [`line`] (the `outln!` macro) instead: on a broken pipe
//! it stops writing, quietly, as command-line tools do, and the command carries on,
//! so its files are written and its exit code (a check's 0 or 1) is the one it
//! computed. Any other write error also stops the output; [`finish`] reports it as a
//! one-line warning on stderr, without changing the exit code.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static STOPPED: AtomicBool = AtomicBool::new(false);
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

fn stop(e: &std::io::Error) {
    STOPPED.store(true, Ordering::SeqCst);
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        if let Ok(mut f) = FAILURE.lock() {
            f.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Writes one line to standard output, unless an earlier write failed.
pub fn line(args: std::fmt::Arguments<'_>) {
    if STOPPED.load(Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.write_all(b"\n")) {
        stop(&e);
    }
}

/// Writes raw bytes (a data file sent to standard output), unless an earlier write
/// failed; a closed pipe stops the output quietly, as in [`line`].
pub fn bytes(data: &[u8]) {
    if STOPPED.load(Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(data).and_then(|_| out.flush()) {
        stop(&e);
    }
}

/// Flushes standard output at the end of the run; returns the first write error
/// that was not a closed pipe, if any.
pub fn finish() -> Option<String> {
    if !STOPPED.load(Ordering::SeqCst) {
        if let Err(e) = std::io::stdout().lock().flush() {
            stop(&e);
        }
    }
    FAILURE.lock().ok().and_then(|f| f.clone())
}
