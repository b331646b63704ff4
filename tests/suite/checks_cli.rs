//! End-to-end: `fieldflow check` as a user runs it (exit codes 0 / 1 / 2, the JSON
//! report, one-line errors).

use fieldflow::data::{Dataset, GaussianMixture};
use ndarray::Array2;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::cli;
use cli::{assert_fails, run, s, tmpdir};

fn write(dir: &Path, name: &str, x: &Array2<f64>) -> PathBuf {
    let f = dir.join(name);
    fieldflow::io::write_points(&f, x.view(), true).unwrap();
    f
}

#[test]
fn two_sample_pass_and_reject_with_json() {
    let dir = tmpdir("two");
    let a = write(
        &dir,
        "a.csv",
        &Dataset::EightGaussians.sample_seeded(300, 1),
    );
    let b = write(
        &dir,
        "b.npy",
        &Dataset::EightGaussians.sample_seeded(400, 2),
    );
    let c = write(&dir, "c.csv", &Dataset::Moons.sample_seeded(300, 3));
    let json = dir.join("report.json");
    // Same law: passes (with these seeds; a true null is rejected with probability
    // at most alpha = 0.05).
    let out = run(&[
        "check",
        "--samples",
        s(&a),
        "--reference",
        s(&b),
        "--alpha",
        "0.05",
        "--permutations",
        "199",
        "--seed",
        "4",
        "--json",
        s(&json),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASSED"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["n"], 300);
    assert_eq!(v["m"], 400);
    assert_eq!(v["d"], 2);
    assert_eq!(v["alpha"], 0.05);
    assert_eq!(v["reject"], false);
    let names: Vec<&str> = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ks", "ad", "energy", "mmd", "sliced_w2", "ks2d"]);
    for t in v["tests"].as_array().unwrap() {
        let p = t["pvalue"].as_f64().unwrap();
        assert!(p > 0.0 && p <= 1.0 && t["statistic"].as_f64().unwrap().is_finite());
    }
    // Moons against 8gaussians: rejected, exit code 1.
    let out = run(&[
        "check",
        "--samples",
        s(&c),
        "--reference",
        s(&b),
        "--permutations",
        "199",
        "--tests",
        "ks,energy",
        "--json",
        s(&json),
        "--force", // the report of the first run is replaced
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["reject"], true);
    assert_eq!(v["tests"].as_array().unwrap().len(), 2);
}

#[test]
fn one_d_two_sample_reports_scipy_ks_and_w1() {
    let dir = tmpdir("one-d");
    let x = Array2::from_shape_vec((7, 1), vec![0.1, 0.5, 0.9, 1.3, 2.0, 2.2, 3.1]).unwrap();
    let y = Array2::from_shape_vec((6, 1), vec![0.0, 0.3, 0.35, 0.8, 1.0, 1.1]).unwrap();
    let (a, b) = (write(&dir, "x.csv", &x), write(&dir, "y.csv", &y));
    let json = dir.join("r.json");
    let out = run(&[
        "check",
        "--samples",
        s(&a),
        "--reference",
        s(&b),
        "--json",
        s(&json),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let t = v["tests"].as_array().unwrap();
    let names: Vec<&str> = t.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ks", "ad", "energy", "mmd", "sliced_w2", "w1"]);
    // golden values of docs/REFERENCE-VALUES.md, section 4
    assert!((t[0]["statistic"].as_f64().unwrap() - 0.5714285714).abs() < 1e-9);
    assert!((t[0]["pvalue"].as_f64().unwrap() - 0.146853).abs() < 1e-6);
    assert!((t[2]["statistic"].as_f64().unwrap() - 0.778138f64.powi(2)).abs() < 2e-6);
    assert!((t[5]["statistic"].as_f64().unwrap() - 0.851190).abs() < 1e-6);
}

#[test]
fn one_sample_targets() {
    let dir = tmpdir("one");
    let mix = GaussianMixture::eight_gaussians();
    let good = write(
        &dir,
        "g.csv",
        &mix.sample(800, &mut fieldflow::rng::seeded(5)),
    );
    let out = run(&[
        "check",
        "--samples",
        s(&good),
        "--target",
        "mixture:8gaussians",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("mode_counts") && text.contains("residual_chi2"),
        "{text}"
    );
    // a 20% spread error in every mode is caught by the residuals
    let wide = GaussianMixture::new(
        vec![1.0; 8],
        mix.means().to_owned(),
        vec![1.2 * mix.stds()[0]; 8],
    )
    .unwrap();
    let bad = write(
        &dir,
        "w.csv",
        &wide.sample(800, &mut fieldflow::rng::seeded(6)),
    );
    let out = run(&[
        "check",
        "--samples",
        s(&bad),
        "--target",
        "mixture:8gaussians",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // landing on data points given in a file
    let data = Dataset::Moons.sample_seeded(20, 7);
    let dfile = write(&dir, "data.csv", &data);
    let landed = write(
        &dir,
        "landed.csv",
        &Array2::from_shape_fn((200, 2), |(i, j)| data[[i % 20, j]]),
    );
    let out = run(&[
        "check",
        "--samples",
        s(&landed),
        "--target",
        &format!("landing:{}", s(&dfile)),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn errors_exit_with_code_2_and_one_line() {
    let dir = tmpdir("err");
    let a = write(&dir, "a.csv", &Dataset::EightGaussians.sample_seeded(50, 1));
    let d3 = write(&dir, "d3.csv", &Array2::from_elem((50, 3), 0.5));
    let nan = dir.join("nan.csv");
    fs::write(&nan, "x0,x1\n1,2\nnan,3\n").unwrap();
    let empty = dir.join("empty.csv");
    fs::write(&empty, "").unwrap();
    assert_fails(
        &run(&["check", "--samples", s(&a), "--reference", s(&d3)]),
        "dimension",
    );
    assert_fails(
        &run(&["check", "--samples", s(&nan), "--reference", s(&a)]),
        "nan.csv",
    );
    assert_fails(
        &run(&["check", "--samples", s(&empty), "--reference", s(&a)]),
        "empty.csv",
    );
    assert_fails(
        &run(&[
            "check",
            "--samples",
            "/nonexistent.csv",
            "--reference",
            s(&a),
        ]),
        "nonexistent",
    );
    assert_fails(
        &run(&["check", "--samples", s(&a), "--target", "normal:0,1"]),
        "dimension",
    );
    assert_fails(
        &run(&[
            "check",
            "--samples",
            s(&a),
            "--reference",
            s(&a),
            "--tests",
            "w1",
        ]),
        "w1",
    );
    assert_fails(
        &run(&[
            "check",
            "--samples",
            s(&a),
            "--reference",
            s(&a),
            "--alpha",
            "2",
        ]),
        "alpha",
    );
    assert_fails(
        &run(&[
            "check",
            "--samples",
            s(&a),
            "--reference",
            s(&a),
            "--tests",
            "mmd",
            "--bandwidths",
            "0.1,-1",
        ]),
        "bandwidth",
    );
    // neither or both of --reference and --target: a usage error (clap's exit code 2)
    assert_eq!(run(&["check", "--samples", s(&a)]).status.code(), Some(2));
    assert_eq!(
        run(&[
            "check",
            "--samples",
            s(&a),
            "--reference",
            s(&a),
            "--target",
            "gaussian"
        ])
        .status
        .code(),
        Some(2)
    );
}
