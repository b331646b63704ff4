//! Memory estimates before work: a run that cannot fit is refused up front.
//!
//! Each subcommand estimates the bytes its largest arrays will take (from the
//! counts and the dimension, in `u128`, so the estimate itself cannot overflow) and
//! compares them with the memory the machine has available (`MemAvailable` in
//! `/proc/meminfo`; where that cannot be read, a fixed cap of [`FALLBACK_LIMIT`]
//! bytes). A run over the limit ends with a one-line error and exit code 2 before
//! anything is allocated or written.

use anyhow::bail;
use fieldflow::limits::human_bytes;

/// The limit when `/proc/meminfo` cannot be read: 8 GB.
pub const FALLBACK_LIMIT: u64 = 8_000_000_000;

/// The memory available to a new process, and where that number comes from.
pub fn available() -> (u64, &'static str) {
    let kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    match kb {
        Some(kb) => (kb.saturating_mul(1024), "available memory"),
        None => (FALLBACK_LIMIT, "the fixed limit"),
    }
}

/// Bytes of `count` items of `bytes_each` bytes (exact, no overflow).
pub fn bytes(count: usize, bytes_each: u128) -> u128 {
    count as u128 * bytes_each
}

/// Fails when `need` bytes (for `what`, e.g. "--n 1000000000000 (the samples)")
/// exceed the available memory.
pub fn ensure_fits(what: &str, need: u128) -> anyhow::Result<()> {
    let (limit, source) = available();
    if need > limit as u128 {
        bail!(
            "{what} needs about {} of memory, more than the {} of {source}; use a smaller count",
            human_bytes(need as f64),
            human_bytes(limit as f64)
        );
    }
    Ok(())
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
        assert!(available().0 > 0);
    }
}
