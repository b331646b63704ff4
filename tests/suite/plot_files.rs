//! `fieldflow plot compare --samples FILE --reference FILE` and
//! `fieldflow plot trajectories --paths FILE`: figures from files, end to end, and
//! `fieldflow::io::read_trajectories` against `write_trajectories`.
//! Budget: about 2 s in release (small files: 300 points, 60 paths x 20 levels).

use crate::support::cli;

use cli::{assert_fails, ok, run, s, tmpdir};
use fieldflow::io::{read_trajectories, write_points, write_trajectories};
use ndarray::{Array2, Array3};
use std::fs;
use std::path::Path;

/// A PNG that decodes to at least 600 x 300 pixels and holds a real picture (> 20 kB).
fn check_png(path: &Path) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 20_000,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("valid PNG header");
    let info = reader.info();
    assert!(
        info.width >= 600 && info.height >= 300,
        "{}",
        path.display()
    );
}

/// A complete SVG with text; returns its text.
fn check_svg(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.len() > 5_000,
        "{}: {} bytes",
        path.display(),
        text.len()
    );
    assert!(text.trim_start().starts_with("<svg"));
    assert!(text.trim_end().ends_with("</svg>"));
    assert!(text.contains("<text"));
    text
}

fn paths_fixture() -> (Vec<f64>, Array3<f64>) {
    let levels = vec![10.0, 1.0, 0.1];
    let mut p = Array3::from_shape_fn((3, 3, 2), |(i, k, j)| {
        (i as f64 + 0.1) * (k as f64 - 1.7) + j as f64 / 3.0
    });
    // a failed trajectory: NaN from its second level on
    p[[2, 1, 0]] = f64::NAN;
    p[[2, 1, 1]] = f64::NAN;
    p[[2, 2, 0]] = f64::NAN;
    p[[2, 2, 1]] = f64::NAN;
    (levels, p)
}

fn same(a: &Array3<f64>, b: &Array3<f64>) -> bool {
    a.dim() == b.dim()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

#[test]
fn trajectories_round_trip_in_both_formats() {
    let dir = tmpdir("plotfiles-roundtrip");
    let (levels, p) = paths_fixture();
    let csv = dir.join("p.csv");
    let npy = dir.join("p.npy");
    write_trajectories(&csv, &levels, p.view(), false).unwrap();
    write_trajectories(&npy, &levels, p.view(), false).unwrap();
    let r = read_trajectories(&csv).unwrap();
    assert_eq!(r.levels.as_deref(), Some(&levels[..]));
    assert!(same(&r.paths, &p), "{:?}", r.paths);
    let r = read_trajectories(&npy).unwrap();
    assert_eq!(r.levels, None, ".npy stores no levels");
    assert!(same(&r.paths, &p));
}

#[test]
fn malformed_trajectory_files_are_refused() {
    let dir = tmpdir("plotfiles-malformed");
    let cases: [(&str, &str, &str); 8] = [
        ("hdr.csv", "x0,x1\n1,2\n", "header particle,s"),
        ("empty.csv", "particle,s,x0,x1\n", "no paths"),
        (
            "short.csv",
            "particle,s,x0,x1\n0,1,0,0\n0,0.5,0,0\n1,1,0,0\n",
            "1 of 2 levels",
        ),
        ("skip.csv", "particle,s,x0,x1\n0,1,0,0\n2,1,0,0\n", "line 3"),
        (
            "levels.csv",
            "particle,s,x0,x1\n0,1,0,0\n0,0.5,0,0\n1,1,0,0\n1,0.4,0,0\n",
            "level 1",
        ),
        (
            "cols.csv",
            "particle,s,x0,x1\n0,1,0\n",
            "expected 4 columns",
        ),
        ("inf.csv", "particle,s,x0,x1\n0,1,inf,0\n", "infinite"),
        (
            "s.csv",
            "particle,s,x0,x1\n0,-1,0,0\n",
            "not finite and positive",
        ),
    ];
    for (name, text, needle) in cases {
        let f = dir.join(name);
        fs::write(&f, text).unwrap();
        let e = read_trajectories(&f).unwrap_err().to_string();
        assert!(e.contains(needle), "{name}: {e}");
        assert!(
            e.contains(name),
            "{name}: error does not name the file: {e}"
        );
    }
    // a 2-D .npy is points, not paths
    let pts = dir.join("pts.npy");
    write_points(&pts, Array2::<f64>::zeros((4, 2)).view(), false).unwrap();
    let e = read_trajectories(&pts).unwrap_err().to_string();
    assert!(e.contains("expected a 3-D array"), "{e}");
    let e = read_trajectories(dir.join("missing.npy"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read"), "{e}");
}

#[test]
fn compare_from_files() {
    let dir = tmpdir("plotfiles-compare");
    let (a, b, c) = (dir.join("a.csv"), dir.join("b.npy"), dir.join("c.csv"));
    for (set, seed, f) in [
        ("moons", "1", &a),
        ("moons", "2", &b),
        ("8gaussians", "3", &c),
    ] {
        ok(&run(&[
            "datasets",
            set,
            "--n",
            "300",
            "--seed",
            seed,
            "--out",
            s(f),
        ]));
    }
    let out = dir.join("same");
    let stdout = ok(&run(&[
        "plot",
        "compare",
        "--samples",
        s(&a),
        "--reference",
        s(&b),
        "--out",
        s(&out),
    ]));
    // two independent moons samples: each test has p > alpha/6 with probability
    // >= 0.99 overall (Bonferroni at family-wise 0.01); fixed seeds make it exact
    assert!(stdout.contains("verdict: pass"), "{stdout}");
    check_png(&out.join("compare.png"));
    let svg = check_svg(&out.join("compare.svg"));
    assert!(
        svg.contains("a.csv") && svg.contains("b.npy"),
        "file names in titles"
    );
    // an existing figure needs --force; nothing is changed without it
    let before = fs::read(out.join("compare.png")).unwrap();
    let again = run(&[
        "plot",
        "compare",
        "--samples",
        s(&c),
        "--reference",
        s(&b),
        "--out",
        s(&out),
    ]);
    assert_fails(&again, "already exists");
    assert_eq!(fs::read(out.join("compare.png")).unwrap(), before);
    // moons against 8gaussians (300 points each): rejected by every test
    let stdout = ok(&run(&[
        "plot",
        "compare",
        "--samples",
        s(&c),
        "--reference",
        s(&b),
        "--out",
        s(&out),
        "--alpha",
        "0.05",
        "--seed",
        "7",
        "--force",
    ]));
    assert!(stdout.contains("verdict: REJECTED"), "{stdout}");
    assert!(stdout.contains("alpha = 0.05"), "{stdout}");
    assert_ne!(fs::read(out.join("compare.png")).unwrap(), before);
    check_png(&out.join("compare.png"));
}

#[test]
fn trajectories_from_files() {
    let dir = tmpdir("plotfiles-paths");
    for ext in ["csv", "npy"] {
        let paths = dir.join(format!("paths.{ext}"));
        let gen = dir.join(format!("gen.{ext}"));
        ok(&run(&[
            "sample",
            "--field",
            "poisson",
            "--dataset",
            "moons",
            "--data-n",
            "300",
            "--n",
            "60",
            "--out",
            s(&gen),
            "--trajectories",
            s(&paths),
            "--levels",
            "20",
            "--quiet",
        ]));
        let out = dir.join(format!("fig-{ext}"));
        let stdout = ok(&run(&[
            "plot",
            "trajectories",
            "--paths",
            s(&paths),
            "--out",
            s(&out),
        ]));
        assert!(stdout.contains("trajectories.png"), "{stdout}");
        check_png(&out.join("trajectories.png"));
        let svg = check_svg(&out.join("trajectories.svg"));
        assert!(
            svg.contains(&format!("paths.{ext}")),
            "file name in the title"
        );
        let colouring = if ext == "csv" {
            "log10 s"
        } else {
            "level index"
        };
        assert!(
            svg.contains(colouring),
            "{ext}: not coloured by {colouring}"
        );
        assert_fails(
            &run(&[
                "plot",
                "trajectories",
                "--paths",
                s(&paths),
                "--out",
                s(&out),
            ]),
            "already exists",
        );
        ok(&run(&[
            "plot",
            "trajectories",
            "--paths",
            s(&paths),
            "--out",
            s(&out),
            "--force",
        ]));
    }
}

#[test]
fn bad_inputs_fail_with_one_line_and_write_nothing() {
    let dir = tmpdir("plotfiles-bad");
    let good = dir.join("good.csv");
    ok(&run(&["datasets", "moons", "--n", "50", "--out", s(&good)]));
    let three = dir.join("three.csv");
    write_points(&three, Array2::<f64>::ones((20, 3)).view(), false).unwrap();
    let paths3 = dir.join("paths3.npy");
    write_trajectories(
        &paths3,
        &[2.0, 1.0],
        Array3::<f64>::ones((4, 2, 3)).view(),
        false,
    )
    .unwrap();
    let (levels, p) = paths_fixture();
    let paths = dir.join("paths.csv");
    write_trajectories(&paths, &levels, p.view(), false).unwrap();
    let one = dir.join("one.csv");
    fs::write(&one, "x0,x1\n1,2\n").unwrap();
    let missing = dir.join("missing.csv");
    let out = dir.join("out");
    let o = s(&out);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["compare", "--samples", s(&missing), "--reference", s(&good)],
            "missing.csv",
        ),
        (
            vec!["compare", "--samples", s(&good)],
            "--samples needs --reference",
        ),
        (
            vec!["compare", "--reference", s(&good)],
            "--reference needs --samples",
        ),
        (
            vec!["compare", "--samples", s(&three), "--reference", s(&good)],
            "3 columns",
        ),
        (
            vec![
                "compare",
                "--samples",
                s(&good),
                "--reference",
                s(&good),
                "--alpha",
                "1.5",
            ],
            "alpha",
        ),
        (
            vec![
                "compare",
                "--samples",
                s(&good),
                "--reference",
                s(&good),
                "--quick",
            ],
            "do not apply",
        ),
        (vec!["compare", "--alpha", "0.1"], "--alpha applies"),
        (
            vec![
                "trajectories",
                "--samples",
                s(&good),
                "--reference",
                s(&good),
            ],
            "apply to compare",
        ),
        (
            vec!["compare", "--paths", s(&paths)],
            "--paths applies to trajectories",
        ),
        (
            vec!["trajectories", "--paths", s(&paths), "--seed", "3"],
            "--paths takes only",
        ),
        (
            vec!["trajectories", "--paths", s(&paths), "--data", s(&good)],
            "--paths takes only",
        ),
        (vec!["trajectories", "--paths", s(&paths3)], "2-D"),
        (
            vec!["trajectories", "--paths", s(&good)],
            "header particle,s",
        ),
        (vec!["trajectories", "--paths", s(&missing)], "missing.csv"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["plot"];
        full.extend(&args);
        full.extend(["--out", o]);
        assert_fails(&run(&full), needle);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    // one sample point: the tests that need two (MMD) are not applicable, the others
    // run (see tests/checks_not_applicable.rs)
    let text = ok(&run(&[
        "plot",
        "compare",
        "--samples",
        s(&one),
        "--reference",
        s(&good),
        "--out",
        o,
    ]));
    assert!(text.contains("mmd  p = n/a"), "{text}");
}

#[test]
fn compare_from_points_through_the_library() {
    use fieldflow::checks::Battery;
    use fieldflow::plots::compare::{make_from_points, Compare};
    let dir = tmpdir("plotfiles-lib");
    let x = fieldflow::data::Dataset::Moons.sample_seeded(200, 1);
    let y = fieldflow::data::Dataset::Moons.sample_seeded(200, 2);
    let mut battery = Battery::new(0.01).unwrap();
    battery.config.permutations = 99;
    let (files, report) = make_from_points(
        &dir,
        "cmp",
        ("x", x.view()),
        ("y", y.view()),
        &battery,
        false,
    )
    .unwrap();
    assert_eq!(files.png, dir.join("cmp.png"));
    check_png(&files.png);
    // the same report as the battery on its own
    assert_eq!(report, battery.two_sample(x.view(), y.view()).unwrap());
    let fig = Compare::from_points(("x", x.view()), ("y", y.view()), &battery).unwrap();
    // the window holds every point of both samples
    let ((x0, x1), (y0, y1)) = fig.window;
    assert!(x
        .rows()
        .into_iter()
        .chain(y.rows())
        .all(|r| r[0] > x0 && r[0] < x1 && r[1] > y0 && r[1] < y1));
    let three = Array2::<f64>::zeros((10, 3));
    let e = Compare::from_points(("x", three.view()), ("y", three.view()), &battery)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2-D"), "{e}");
}
