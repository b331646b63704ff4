//! Helpers shared by the end-to-end tests that run the `fieldflow` binary.
//! Used as `crate::support::cli` by the modules of the test binary.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldflow"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// A fresh, empty temporary folder unique to this test process and `name`.
pub fn tmpdir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fieldflow-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    p
}

/// A path as `&str` for the command line.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit code 2, a single line on stderr starting with `fieldflow: error:` and
/// containing `needle`.
pub fn assert_fails(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("fieldflow: error:"), "{err}");
    assert!(err.contains(needle), "{err} lacks {needle}");
}

/// The bit patterns of an array, for exact comparisons.
pub fn bits(a: &ndarray::Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}
