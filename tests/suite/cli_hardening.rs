//! End-to-end hardening of the command line (issue 11): absurd counts, a closed
//! standard output, failed particles, `--threads`, flags a field does not use, and
//! landing weights. Each test runs the binary as a user would.

use std::fs;

use crate::support::cli;
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
    let model = dir.join("m.safetensors");
    let m = s(&model);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["datasets", "moons", "--n", big, "--out", o], "memory"),
        (
            vec![
                "train", "--field", "linear", "--data", d, "--batch", big, "--out", m,
            ],
            "memory",
        ),
        (
            vec![
                "train", "--field", "linear", "--data", d, "--hidden", max, "--out", m,
            ],
            "memory",
        ),
        (
            vec![
                "sample", "--field", "gaussian", "--data", d, "--n", "10", "--method", "edm-heun",
                "--steps", big, "--out", o,
            ],
            "limit",
        ),
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
    // `train` exists only in builds with the `learn` feature.
    let built = |args: &&(Vec<&str>, &str)| cfg!(feature = "learn") || args.0[0] != "train";
    for (args, needle) in cases.iter().filter(built) {
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
    let cfg = fieldflow::checks::two_sample::TwoSampleConfig {
        permutations: usize::MAX,
        ..Default::default()
    };
    let x = ndarray::array![[0.0], [1.0], [2.0]];
    assert!(fieldflow::checks::two_sample::energy(x.view(), x.view(), &cfg).is_err());
    use fieldflow::data::{Dataset, GaussianMixture};
    assert!(Dataset::Moons.try_sample_seeded(usize::MAX, 0).is_err());
    assert!(Dataset::EightGaussians
        .try_sample_seeded(1 << 61, 0)
        .is_err());
    assert_eq!(
        Dataset::Moons.try_sample_seeded(7, 0).unwrap().dim(),
        (7, 2)
    );
    let gm = GaussianMixture::eight_gaussians();
    let mut rng = fieldflow::rng::seeded(0);
    assert!(gm.try_sample(usize::MAX / 3, &mut rng).is_err());
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
    // stderr has only the note on the chosen s_max, no panic and no error
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
    assert!(dir.join("o.csv").exists() && dir.join("st.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// `P(X >= k)` of the binomial test against closed forms:
/// `P(X >= 1) = 1 - (1 - p)^n`, `P(X >= n) = p^n`, and `P(X >= 2)` for n = 3.
#[test]
fn binomial_upper_tail_matches_closed_forms() {
    use fieldflow::sampling::binomial_upper_tail as tail;
    let (n, p) = (200usize, 1e-3f64);
    let want = -(-p).ln_1p().mul_add(n as f64, 0.0).exp_m1();
    let got = tail(1, n, p).unwrap();
    assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    let got = tail(n, n, p).unwrap();
    let want = p.powi(n as i32); // 1e-600 underflows to 0
    assert!((got - want).abs() <= 1e-300, "{got}");
    let got = tail(3, 3, 0.25).unwrap();
    assert!((got - 0.25f64.powi(3)).abs() < 1e-15, "{got}");
    let got = tail(2, 3, 0.25).unwrap(); // 3 p^2 (1 - p) + p^3
    let want = 3.0 * 0.0625 * 0.75 + 0.25f64.powi(3);
    assert!((got - want).abs() < 1e-15, "{got} vs {want}");
    assert_eq!(tail(0, 10, 0.5), Some(1.0));
    assert_eq!(tail(1, 10, 0.0), Some(0.0));
    assert_eq!(tail(11, 10, 0.5), Some(0.0));
    assert_eq!(tail(1, 10, f64::NAN), None);
}

/// Failed particles are never samples: with every trajectory failing
/// (`--s-max 1e300`) the rows are NaN, not the prior draws, and the exit code is 3
/// (the files are still written); with `--allow-failures` it is 0. Too many
/// unconverged particles without any failure (one Euler step, which in `u = 1/s` lands
/// on the posterior mean at `s_max`, near the data mean and far from every point) also
/// give exit code 3, with the binomial test's numbers in the message. `encode`
/// likewise.
#[test]
fn failed_and_unconverged_particles_give_exit_code_3() {
    let dir = tmpdir("failures");
    let data = dir.join("d.csv");
    // the data mean (4, 4/3) is 2.7 from the nearest point
    fs::write(&data, "x0,x1\n0,0\n4,4\n8,0\n").unwrap();
    let (out, stats) = (dir.join("g.csv"), dir.join("st.json"));
    let base = [
        "sample",
        "--field",
        "poisson",
        "--data",
        s(&data),
        "--n",
        "20",
        "--out",
        s(&out),
        "--stats",
        s(&stats),
        "--force",
    ];
    let mut args = base.to_vec();
    args.extend(["--s-max", "1e300"]);
    let res = run(&args);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(3), "{err}");
    assert!(err.contains("20 of 20 trajectories failed"), "{err}");
    assert!(err.contains("--allow-failures"), "{err}");
    let text = fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 20, "one row per particle");
    assert!(rows.iter().all(|r| *r == "NaN,NaN"), "{text}");
    let st: serde_json::Value = serde_json::from_str(&fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(st["failed"], 20);
    assert_eq!(st["nan_rows"], 20);
    args.push("--allow-failures");
    let res = run(&args);
    assert_eq!(res.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&res.stderr).contains("warning"));

    // no failure, but every particle far from the data after one Euler step
    let mut args = base.to_vec();
    args.extend(["--method", "euler", "--steps", "1"]);
    let res = run(&args);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(3), "{err}");
    assert!(
        err.contains("20 of 20 particles are unconverged") && err.contains("binomial"),
        "{err}"
    );
    assert!(err.contains("1.00e-3"), "the allowed rate is shown: {err}");
    // the points are finite (not failures) and written
    assert_eq!(fieldflow::io::read_points(&out).unwrap().nrows(), 20);
    // a good run is not flagged
    let res = run(&base);
    assert_eq!(
        res.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );

    let codes = dir.join("c.csv");
    let enc = [
        "encode",
        "--field",
        "poisson",
        "--data",
        s(&data),
        "--points",
        s(&data),
        "--out",
        s(&codes),
        "--s-max",
        "1e300",
    ];
    let res = run(&enc);
    assert_eq!(
        res.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let text = fs::read_to_string(&codes).unwrap();
    assert_eq!(
        text.lines().filter(|l| *l == "NaN,NaN").count(),
        3,
        "{text}"
    );
    let mut enc = enc.to_vec();
    enc.extend(["--allow-failures", "--force"]);
    assert_eq!(run(&enc).status.code(), Some(0));
    fs::remove_dir_all(&dir).unwrap();
}

/// `--threads N` sets the worker pool: `sample` and `check` give bit-identical
/// output for 1 and 2 threads, the run statistics report the count, and 0 or an
/// absurd count is a one-line error with exit code 2.
#[test]
fn threads_option_is_validated_and_changes_no_result() {
    let dir = tmpdir("threads");
    let data = dir.join("d.csv");
    fs::write(&data, "x0,x1\n0,0\n1,1\n2,0\n-1,0.5\n").unwrap();
    let mut files = Vec::new();
    for t in ["1", "2"] {
        let (out, st) = (
            dir.join(format!("g{t}.npy")),
            dir.join(format!("st{t}.json")),
        );
        let res = run(&[
            "--threads",
            t,
            "sample",
            "--field",
            "pfgmpp",
            "--aug-dim",
            "3",
            "--data",
            s(&data),
            "--n",
            "300",
            "--seed",
            "4",
            "--out",
            s(&out),
            "--stats",
            s(&st),
        ]);
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        let stats: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&st).unwrap()).unwrap();
        assert_eq!(stats["threads"].to_string(), t);
        // the option is global: it may also follow the subcommand
        let chk = run(&[
            "check",
            "--samples",
            s(&out),
            "--reference",
            s(&data),
            "--threads",
            t,
            "--permutations",
            "199",
        ]);
        assert!(chk.status.code().is_some_and(|c| c < 2));
        files.push((fs::read(&out).unwrap(), chk.stdout));
    }
    assert_eq!(
        files[0].0, files[1].0,
        "samples differ between 1 and 2 threads"
    );
    assert_eq!(
        files[0].1, files[1].1,
        "check output differs between 1 and 2 threads"
    );
    for bad in ["0", "100000", "-1", "two"] {
        let res = run(&[
            "--threads",
            bad,
            "datasets",
            "moons",
            "--n",
            "5",
            "--out",
            s(&dir.join("x.csv")),
        ]);
        assert_fails(&res, "--threads");
    }
    assert!(!dir.join("x.csv").exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// A flag of another field is refused (exit 2, naming the field that uses it),
/// never silently ignored; `--tests ks,ks` is refused (it would count KS twice in the
/// Bonferroni family), as are unknown test names.
#[test]
fn flags_that_do_not_apply_are_refused() {
    let dir = tmpdir("flags");
    let data = dir.join("d.csv");
    fs::write(&data, "x0,x1\n0,0\n1,1\n2,0\n-1,0.5\n").unwrap();
    let out = dir.join("o.csv");
    let cases: [(&str, &[&str], &str); 8] = [
        ("gaussian", &["--aug-dim", "3"], "pfgmpp"),
        ("poisson", &["--aug-dim", "1"], "pfgmpp"),
        ("pfgmpp", &["--aug-dim", "2", "--power", "3"], "field power"),
        ("linear", &["--power", "3"], "field power"),
        ("poisson", &["--profile", "tanh"], "radial"),
        ("gaussian", &["--profile", "exp"], "radial"),
        ("poisson", &["--box", "0:1"], "linear"),
        ("radial", &["--box", "0:1"], "linear"),
    ];
    for (field, extra, needle) in cases {
        for cmd in ["sample", "marginal", "encode"] {
            let mut args = vec![cmd, "--field", field, "--data", s(&data), "--out", s(&out)];
            args.extend(extra);
            match cmd {
                "sample" => args.extend(["--n", "5"]),
                "marginal" => args.extend(["--n", "5", "--s", "1"]),
                _ => args.extend(["--points", s(&data)]),
            }
            let res = run(&args);
            assert_fails(&res, needle);
            assert!(!out.exists());
        }
    }
    // the flags of the field itself are still accepted
    for (field, extra) in [
        ("pfgmpp", &["--aug-dim", "3"][..]),
        ("radial", &["--profile", "exp"]),
        ("linear", &["--box", "-1:1"]),
    ] {
        let mut args = vec!["marginal", "--field", field, "--data", s(&data), "--n", "5"];
        args.extend(extra);
        args.extend(["--s", "0.5", "--out", s(&out), "--force"]);
        let res = run(&args);
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
    }
    for (tests, needle) in [
        ("ks,ks", "listed twice"),
        ("ks,energy, ks", "listed twice"),
        ("ks,foo", "unknown two-sample test"),
    ] {
        let res = run(&[
            "check",
            "--samples",
            s(&data),
            "--reference",
            s(&data),
            "--tests",
            tests,
        ]);
        assert_fails(&res, needle);
    }
    // one KS test: threshold alpha / 1
    let res = run(&[
        "check",
        "--samples",
        s(&data),
        "--reference",
        s(&data),
        "--tests",
        "ks",
    ]);
    let text = String::from_utf8_lossy(&res.stdout);
    assert!(text.contains("each p <= 1.000e-2"), "{text}");
    fs::remove_dir_all(&dir).unwrap();
}

/// `sample` and `check --target landing:...,weights=...` accept the same weights: a
/// zero weight is allowed by both (that point is not part of the data), and both
/// refuse negative, NaN and all-zero weights with exit code 2. Samples of a field
/// with a zero-weight point pass the landing test against the same weights (n = 400,
/// fixed seeds; under the null the test rejects with probability alpha = 0.01).
#[test]
fn sample_and_landing_check_accept_the_same_weights() {
    let dir = tmpdir("weights");
    let data = dir.join("d.csv");
    fs::write(&data, "x0,x1\n0,0\n5,5\n10,0\n").unwrap();
    let w = dir.join("w.csv");
    fs::write(&w, "0.5\n0\n0.5\n").unwrap();
    let gen = dir.join("g.csv");
    let res = run(&[
        "sample",
        "--field",
        "poisson",
        "--data",
        s(&data),
        "--weights",
        s(&w),
        "--n",
        "400",
        "--seed",
        "3",
        "--out",
        s(&gen),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let target = format!("landing:{},weights={}", s(&data), s(&w));
    let res = run(&["check", "--samples", s(&gen), "--target", &target]);
    let text = String::from_utf8_lossy(&res.stdout);
    assert_eq!(
        res.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(text.contains("landing"), "{text}");
    for (weights, needle) in [
        ("0.5\n-1\n0.5\n", "negative"),
        ("0.5\nNaN\n0.5\n", "NaN"),
        ("0\n0\n0\n", "all weights are zero"),
        ("0.5\n0.5\n", "3"),
    ] {
        fs::write(&w, weights).unwrap();
        let out = dir.join("o.csv");
        let res = run(&[
            "sample",
            "--field",
            "poisson",
            "--data",
            s(&data),
            "--weights",
            s(&w),
            "--n",
            "5",
            "--out",
            s(&out),
        ]);
        assert_fails(&res, needle);
        assert!(!out.exists());
        let res = run(&["check", "--samples", s(&gen), "--target", &target]);
        assert_fails(&res, needle);
    }
    fs::remove_dir_all(&dir).unwrap();
}
