//! Counts and sizes: read them, multiply them without overflow, allocate fallibly.
//!
//! Every count a caller gives (points, levels, permutations, fixed steps) is a
//! request for memory or time, and an absurd one must be an [`Error`], never a
//! wrapped multiplication, a "capacity overflow" panic or an aborted allocation.
//! [`parse_count`] reads a count as people write it (`1000`, `1_000`, or an integral
//! number in exponent form such as `1e6`); [`array_len`] multiplies the dimensions
//! of an `f64` array with checked arithmetic and refuses products whose byte size
//! does not fit the address space; [`try_filled`] allocates with
//! `Vec::try_reserve_exact`, so that an allocation the system refuses is reported
//! instead of aborting the process. [`ensure_fits`] compares an estimate of a run's
//! memory with the machine's available memory before the run starts (the command
//! line does this for every command; the library's runs that can ask for much, such
//! as training a network, do it themselves).

use crate::{Error, Result};

/// Largest number of permutations (or Monte Carlo draws) of one test: p-values then
/// resolve `1 / (B + 1) = 1e-6`, below the Bonferroni threshold of any sensible
/// family, and the stored statistics stay far below a gigabyte.
pub const MAX_PERMUTATIONS: usize = 1_000_000;

/// Largest number of fixed steps per trajectory (`1e8`): a hundred times the
/// adaptive solver's default step limit; at some `1e7` steps per second per core
/// this is already tens of seconds per particle.
pub const MAX_FIXED_STEPS: usize = 100_000_000;

/// Reads a count: a decimal integer (underscores allowed between digits, a leading
/// `+` allowed) or a number in exponent form whose value is a whole number
/// (`1e6`, `2.5e3`). Negative, fractional, non-numeric and too-large values are
/// errors that quote the text.
///
/// ```
/// use fieldflow::limits::parse_count;
/// assert_eq!(parse_count("1_000").unwrap(), 1000);
/// assert_eq!(parse_count("2.5e3").unwrap(), 2500);
/// assert!(parse_count("1e30").is_err());
/// assert!(parse_count("-3").is_err());
/// assert!(parse_count("1.5").is_err());
/// ```
pub fn parse_count(text: &str) -> Result<usize> {
    let t = text.trim();
    let bad = |why: &str| Error::Invalid(format!("'{text}' is not a count: {why}"));
    let body = t.strip_prefix('+').unwrap_or(t);
    if body.is_empty() {
        return Err(bad("expected a whole number such as 1000 or 1e6"));
    }
    if body.starts_with('-') {
        return Err(bad("must not be negative"));
    }
    let digits_only = body.chars().all(|c| c.is_ascii_digit() || c == '_');
    if digits_only {
        if body.starts_with('_') || body.ends_with('_') || body.contains("__") {
            return Err(bad("misplaced '_'"));
        }
        let clean: String = body.chars().filter(|&c| c != '_').collect();
        return clean
            .parse::<usize>()
            .map_err(|_| bad(&format!("larger than the largest count {}", usize::MAX)));
    }
    let looks_numeric = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    let v: f64 = match body.parse::<f64>() {
        Ok(v) if looks_numeric => v,
        _ => return Err(bad("expected a whole number such as 1000 or 1e6")),
    };
    if !v.is_finite() || v >= 18_446_744_073_709_551_616.0 {
        return Err(bad(&format!(
            "larger than the largest count {}",
            usize::MAX
        )));
    }
    if v < 0.0 {
        return Err(bad("must not be negative"));
    }
    if v.fract() != 0.0 {
        return Err(bad("not a whole number"));
    }
    Ok(v as usize)
}

/// The number of elements of an `f64` array with dimensions `dims`, refusing
/// products that overflow or whose byte size exceeds `isize::MAX` (the largest
/// allocation Rust allows). `what` names the array in the error.
///
/// ```
/// use fieldflow::limits::array_len;
/// assert_eq!(array_len("points", &[1000, 3]).unwrap(), 3000);
/// assert!(array_len("points", &[usize::MAX, 2]).is_err());
/// ```
pub fn array_len(what: &str, dims: &[usize]) -> Result<usize> {
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" x ");
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&len| len <= isize::MAX as usize / std::mem::size_of::<f64>())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{what}: an array of {shape} numbers is larger than any memory can hold"
            ))
        })?;
    Ok(len)
}

/// A vector of `len` copies of `value`, allocated with `try_reserve_exact`: an
/// allocation the system refuses is an error naming `what` and the size, not an
/// abort.
pub fn try_filled(what: &str, len: usize, value: f64) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| cannot_allocate(what, len))?;
    v.resize(len, value);
    Ok(v)
}

/// Fails if `len` numbers (`f64`) cannot be allocated: the system is asked for the
/// memory (without touching it) and it is given back at once. For samplers that
/// allocate inside infallible code.
pub fn check_alloc(what: &str, len: usize) -> Result<()> {
    let mut v: Vec<f64> = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| cannot_allocate(what, len))
}

fn cannot_allocate(what: &str, len: usize) -> Error {
    Error::Invalid(format!(
        "{what}: cannot allocate {} for {len} numbers",
        human_bytes(len as f64 * 8.0)
    ))
}

/// A byte count for people: `1.5 GB`, `16.0 TB` (powers of 1000).
pub fn human_bytes(bytes: f64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = bytes;
    let mut k = 0;
    while v >= 1000.0 && k + 1 < units.len() {
        v /= 1000.0;
        k += 1;
    }
    if k == 0 {
        format!("{v:.0} bytes")
    } else {
        format!("{v:.1} {}", units[k])
    }
}

/// The memory limit when `/proc/meminfo` cannot be read: 8 GB.
pub const FALLBACK_MEMORY: u64 = 8_000_000_000;

/// The memory available to a new allocation (`MemAvailable` of `/proc/meminfo`; where
/// that cannot be read, [`FALLBACK_MEMORY`]) and a name for where the number comes
/// from, for messages.
pub fn available_memory() -> (u64, &'static str) {
    let kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    match kb {
        Some(kb) => (kb.saturating_mul(1024), "available memory"),
        None => (FALLBACK_MEMORY, "the fixed limit"),
    }
}

/// An error when `need` bytes (for `what`, e.g. "n = 1000000000000 (the samples)")
/// exceed [`available_memory`]: a run that cannot fit is refused before it
/// allocates anything.
pub fn ensure_fits(what: &str, need: u128) -> Result<()> {
    let (limit, source) = available_memory();
    if need > limit as u128 {
        return Err(Error::Invalid(format!(
            "{what} needs about {} of memory, more than the {} of {source}; use a smaller count",
            human_bytes(need as f64),
            human_bytes(limit as f64)
        )));
    }
    Ok(())
}

/// Checks a number of permutations (or Monte Carlo draws) `b`:
/// `1 <= b <=` [`MAX_PERMUTATIONS`].
pub fn check_permutations(b: usize) -> Result<()> {
    if b == 0 {
        return Err(Error::InvalidParameter {
            name: "permutations",
            value: 0.0,
            reason: "need at least one permutation",
        });
    }
    if b > MAX_PERMUTATIONS {
        return Err(Error::Invalid(format!(
            "{b} permutations is more than the limit {MAX_PERMUTATIONS} (p-values then \
             resolve 1e-6 already)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_exactly_or_refused() {
        assert_eq!(parse_count("0").unwrap(), 0);
        assert_eq!(parse_count(" 42 ").unwrap(), 42);
        assert_eq!(parse_count("+7").unwrap(), 7);
        assert_eq!(parse_count("1e6").unwrap(), 1_000_000);
        assert_eq!(parse_count("1E3").unwrap(), 1000);
        assert_eq!(
            parse_count("18446744073709551615").unwrap(),
            usize::MAX,
            "the largest count is read exactly"
        );
        for bad in [
            "",
            "-1",
            "-0.5e1",
            "1.5",
            "abc",
            "nan",
            "inf",
            "1e400",
            "18446744073709551616",
            "2e19",
            "1__0",
            "_1",
            "0x10",
        ] {
            assert!(parse_count(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn array_sizes_never_wrap() {
        assert_eq!(array_len("a", &[]).unwrap(), 1);
        assert_eq!(array_len("a", &[0, usize::MAX]).unwrap(), 0);
        assert!(array_len("a", &[1 << 32, 1 << 32]).is_err());
        // exactly the largest allowed byte size, and one element more
        let max = isize::MAX as usize / 8;
        assert_eq!(array_len("a", &[max]).unwrap(), max);
        assert!(array_len("a", &[max + 1]).is_err());
        let e = try_filled("paths", max, 0.0).unwrap_err();
        assert!(e.to_string().contains("cannot allocate"), "{e}");
        assert!(check_alloc("paths", max).is_err());
        check_alloc("small", 1000).unwrap();
        assert_eq!(try_filled("x", 3, 1.5).unwrap(), vec![1.5; 3]);
    }

    #[test]
    fn permutation_counts_are_bounded() {
        assert!(check_permutations(0).is_err());
        check_permutations(1).unwrap();
        check_permutations(MAX_PERMUTATIONS).unwrap();
        assert!(check_permutations(MAX_PERMUTATIONS + 1).is_err());
        assert!(check_permutations(usize::MAX).is_err());
    }

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(1.6e13), "16.0 TB");
    }
}
