//! Memory estimates before work: a run that cannot fit is refused up front.
//!
//! Each subcommand estimates the bytes its largest arrays will take (from the
//! counts and the dimension, in `u128`, so the estimate itself cannot overflow) and
//! compares them with the memory the machine has available (`MemAvailable` in
//! `/proc/meminfo`; where that cannot be read, a fixed cap of
//! [`fieldflow::limits::FALLBACK_MEMORY`] bytes; the comparison is the library's
//! [`fieldflow::limits::ensure_fits`]). A run over the limit ends with a one-line
//! error and exit code 2 before anything is allocated or written.

pub use fieldflow::limits::ensure_fits;

/// Bytes of `count` items of `bytes_each` bytes (exact, no overflow).
pub fn bytes(count: usize, bytes_each: u128) -> u128 {
    count as u128 * bytes_each
}

/// The clap value parser of every count option (`1000`, `1_000`, `1e6`).
pub fn count(text: &str) -> Result<usize, fieldflow::Error> {
    fieldflow::limits::parse_count(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_do_not_overflow_and_huge_runs_are_refused() {
        assert_eq!(bytes(usize::MAX, 1 << 20), (usize::MAX as u128) << 20);
        let e = ensure_fits("--n 1e12", bytes(1_000_000_000_000, 16)).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("16.0 TB") && msg.contains("--n 1e12"), "{msg}");
        ensure_fits("small", 1000).unwrap();
        assert!(fieldflow::limits::available_memory().0 > 0);
    }
}
