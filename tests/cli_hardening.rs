//! End-to-end hardening of the command line (issue 11): absurd counts, a closed
//! standard output, failed particles, `--threads`, flags a field does not use, and
//! landing weights. Each test runs the binary as a user would.

use std::fs;

#[path = "support/cli.rs"]
mod cli;
use cli::{assert_fails, run, s, tmpdir};

/// Every count option of every subcommand, at sizes no machine holds (or near
/// `u64::MAX`, or written `1e12`): a one-line error and exit code 2 before any
/// allocation, never an abort (134) or a panic (101), and no file written.
#[test]
fn huge_counts_are_refused_with_exit_code_2() {
    let dir = tmpdir("huge");
    let data = dir.join("d.csv");
    fs::write(&data, "x0,x1\n0,0\n1,1\n2,0\n").unwrap();
    let samples = dir.join("s.csv");
    fs::write(&samples, "x0,x1\n0.1,0\n1,1.2\n2,0.3\n0.5,0.5\n").unwrap();
    let out = dir.join("o.csv");
    let demo = dir.join("demo");
    let (o, d, smp, dm) = (s(&out), s(&data), s(&samples), s(&demo));
    let max = "18446744073709551615";
    let big = "1000000000000";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["datasets", "moons", "--n", big, "--out", o], "memory"),
        (vec!["datasets", "moons", "--n", max, "--out", o], "memory"),
        (
            vec!["datasets", "moons", "--n", "1e12", "--out", o],
            "memory",
        ),
        (
            vec!["datasets", "mixture:1@0,0,0~1", "--n", big, "--out", o],
            "memory",
        ),
        (
            vec![
                "marginal", "--field", "poisson", "--data", d, "--s", "1", "--n", big, "--out", o,
            ],
            "memory",
        ),
        (
            vec![
                "marginal", "--field", "poisson", "--data", d, "--s", "1", "--n", max, "--out", o,
            ],
            "memory",
        ),
        (
            vec![
                "sample", "--field", "poisson", "--data", d, "--n", big, "--out", o,
            ],
            "memory",
        ),
        (
            vec![
                "sample", "--field", "poisson", "--data", d, "--n", max, "--out", o,
            ],
            "memory",
        ),
        (
            vec![
                "sample",
                "--field",
                "poisson",
                "--dataset",
                "moons",
                "--data-n",
                max,
                "--n",
                "10",
                "--out",
                o,
            ],
            "memory",
        ),
        (
            vec![
                "marginal",
                "--field",
                "poisson",
                "--dataset",
                "moons",
                "--data-n",
                big,
                "--s",
                "1",
                "--n",
                "10",
                "--out",
                o,
            ],
            "memory",
        ),
        (
            vec![
                "sample",
                "--field",
                "poisson",
                "--data",
                d,
                "--n",
                "10",
                "--out",
                o,
                "--trajectories",
                "t.csv",
                "--levels",
                max,
            ],
            "memory",
        ),
        (
            vec![
                "sample", "--field", "poisson", "--data", d, "--n", "10", "--out", o, "--steps",
                "1e12",
            ],
            "limit",
        ),
        (
            vec![
                "sample", "--field", "poisson", "--data", d, "--n", "10", "--out", o, "--steps",
                max,
            ],
            "limit",
        ),
        (
            vec![
                "encode", "--field", "poisson", "--data", d, "--points", d, "--out", o, "--steps",
                "1e12",
            ],
            "limit",
        ),
        (
            vec![
                "check",
                "--samples",
                smp,
                "--reference",
                d,
                "--permutations",
                max,
            ],
            "limit",
        ),
        (
            vec![
                "check",
                "--samples",
                smp,
                "--target",
                "normal:0,1",
                "--permutations",
                big,
            ],
            "limit",
        ),
        (vec!["demo", "--out", dm, "--n", big], "memory"),
        (vec!["demo", "--out", dm, "--data-n", max], "memory"),
        (vec!["demo", "--out", dm, "--permutations", max], "limit"),
        // counts that are not counts are usage errors too
        (
            vec!["datasets", "moons", "--n", "1.5", "--out", o],
            "not a count",
        ),
        (vec!["datasets", "moons", "--n", "-3", "--out", o], "--n"),
        (
            vec!["datasets", "moons", "--n", "1e400", "--out", o],
            "not a count",
        ),
    ];
    for (args, needle) in &cases {
        let res = run(args);
        assert_fails(&res, needle);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    assert!(!demo.exists(), "demo made its folder");
    // a count in exponent form is read exactly
    let res = run(&["datasets", "moons", "--n", "2e1", "--out", o]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(fieldflow::io::read_points(&out).unwrap().nrows(), 20);
    fs::remove_dir_all(&dir).unwrap();
}

/// The library side of the same class: counts that cannot be allocated are errors.
#[test]
fn library_counts_are_errors_not_panics() {
    use fieldflow::fields::{FieldKind, MarginalField, PriorKind, Source};
    let pts = ndarray::array![[0.0, 0.0], [1.0, 1.0]];
    let mf = MarginalField::new(
        FieldKind::Poisson,
        Source::points(pts.view(), None).unwrap(),
    )
    .unwrap();
    assert!(mf.sample_marginal(1.0, usize::MAX, 0).is_err());
    assert!(mf.sample_marginal(1.0, usize::MAX / 2 + 1, 0).is_err());
    assert!(mf
        .sample_prior(40.0, usize::MAX, 0, PriorKind::FarField)
        .is_err());
    let mut cfg = fieldflow::checks::two_sample::TwoSampleConfig::default();
    cfg.permutations = usize::MAX;
    let x = ndarray::array![[0.0], [1.0], [2.0]];
    assert!(fieldflow::checks::two_sample::energy(x.view(), x.view(), &cfg).is_err());
    let opts =
        fieldflow::ode::SolverOptions::new(fieldflow::ode::Method::Rk4).fixed_steps(usize::MAX);
    assert!(opts.validate().is_err());
}

/// Runs the binary with its standard output a pipe that is closed at once (the
/// reader has gone, as with `| head -0`): every write fails with `EPIPE`.
fn run_closed_stdout(args: &[&str]) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldflow"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    child.wait_with_output().expect("binary ends")
}

/// A closed standard output: no panic (exit 101) and no message; the command still
/// does its work, and `check` keeps its verdict (0 pass, 1 rejected).
#[test]
fn a_closed_stdout_keeps_the_exit_code_and_prints_no_panic() {
    let dir = tmpdir("pipe");
    let x = dir.join("x.csv");
    let text: String = std::iter::once("x0\n".to_string())
        .chain((0..200).map(|i| format!("{}\n", (i as f64 + 0.5) / 200.0)))
        .collect();
    fs::write(&x, text).unwrap();
    for (target, code) in [("normal:0.5,0.2887", 0), ("normal:5,1", 1)] {
        let out = run_closed_stdout(&["check", "--samples", s(&x), "--target", target]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{target}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.trim().is_empty(), "{err}");
    }
    // a command that prints several lines still writes its file
    let g = dir.join("g.csv");
    let out = run_closed_stdout(&["datasets", "moons", "--n", "10", "--out", s(&g)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    assert_eq!(fieldflow::io::read_points(&g).unwrap().nrows(), 10);
    let out = run_closed_stdout(&[
        "sample",
        "--field",
        "poisson",
        "--data",
        s(&g),
        "--n",
        "20",
        "--out",
        s(&dir.join("o.csv")),
        "--stats",
        s(&dir.join("st.json")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    assert!(dir.join("o.csv").exists() && dir.join("st.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}
