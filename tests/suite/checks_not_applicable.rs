//! A test that cannot run on the given data is reported as not applicable, with the
//! reason, and the others still run; the Bonferroni verdict counts the applicable
//! tests only.

use fieldflow::checks::{Battery, BatteryReport, TestResult, TwoSampleTest};
use ndarray::{array, Array2};
use std::fs;

use crate::support::cli;
use cli::{assert_fails, run, s, tmpdir};

/// Five copies of one point, and the same with one more point: more than half of
/// the pooled pairs are tied, so the median pairwise distance (MMD's bandwidth
/// heuristic) is 0.
fn tied() -> (Array2<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((5, 2), |(_, j)| [1.0, 2.0][j]);
    let mut y = Array2::from_shape_fn((6, 2), |(_, j)| [1.0, 2.0][j]);
    y.row_mut(5).assign(&array![3.0, 3.0]);
    (x, y)
}

fn csv(x: &Array2<f64>) -> String {
    let mut s = String::from("x0,x1\n");
    for r in x.rows() {
        s += &format!("{},{}\n", r[0], r[1]);
    }
    s
}

#[test]
fn mmd_on_tied_data_is_not_applicable_and_the_others_run() {
    let dir = tmpdir("not-applicable");
    let (x, y) = tied();
    let (fx, fy, json) = (dir.join("x.csv"), dir.join("y.csv"), dir.join("r.json"));
    fs::write(&fx, csv(&x)).unwrap();
    fs::write(&fy, csv(&y)).unwrap();
    let out = run(&[
        "check",
        "--samples",
        s(&fx),
        "--reference",
        s(&fy),
        "--json",
        s(&json),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    // the verdict of the five applicable tests (ks, ad, energy, sliced_w2, ks2d)
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mmd = text.lines().find(|l| l.starts_with("mmd")).unwrap();
    assert!(
        mmd.contains("n/a") && mmd.contains("not applicable: MMD median heuristic"),
        "{text}"
    );
    for name in ["ks", "ad", "energy", "sliced_w2", "ks2d"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap();
        assert!(!line.contains("n/a"), "{line}");
    }
    // Bonferroni over the 5 applicable tests: 0.01 / 5
    assert!(
        text.contains("over the 5 applicable tests, 1 not applicable: each p <= 2.000e-3"),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["applicable"], 5);
    let tests = report["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 6);
    for t in tests {
        if t["name"] == "mmd" {
            assert!(t["not_applicable"]
                .as_str()
                .unwrap()
                .contains("median pairwise distance is 0"));
            assert!(t["pvalue"].is_null() && t["statistic"].is_null());
        } else {
            assert!(t.get("not_applicable").is_none(), "{t}");
            assert!(t["pvalue"].is_f64());
        }
    }
    // when no requested test applies, there is no verdict: exit 2 with the reason
    assert_fails(
        &run(&[
            "check",
            "--samples",
            s(&fx),
            "--reference",
            s(&fy),
            "--tests",
            "mmd",
        ]),
        "no test applies to these data (mmd: MMD median heuristic",
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_verdict_counts_only_the_applicable_tests() {
    let (x, y) = tied();
    let mut battery = Battery::new(0.01).unwrap();
    battery.tests = Some(vec![TwoSampleTest::Ks, TwoSampleTest::Mmd]);
    let report = battery.two_sample(x.view(), y.view()).unwrap();
    assert_eq!(report.applicable, 1);
    assert!(report.tests[0].is_applicable());
    assert!(!report.tests[1].is_applicable());
    assert_eq!(report.threshold().to_bits(), 0.01f64.to_bits());
    // p = 0.006 rejects at 0.01 / 1 but would not at 0.01 / 2
    let tests = vec![
        TestResult::new("ks", 0.5, 0.006),
        TestResult::not_applicable("mmd", "tied"),
    ];
    let r = BatteryReport::new(10, Some(10), 2, 0.01, tests.clone());
    assert!(r.reject);
    let r = BatteryReport::new(
        10,
        Some(10),
        2,
        0.01,
        vec![tests[0].clone(), TestResult::new("ad", 0.1, 0.9)],
    );
    assert!(!r.reject);
    // a sample too small for a test makes that test, not the battery, fail
    let one = array![[0.0, 1.0]];
    let r = Battery::new(0.01)
        .unwrap()
        .two_sample(one.view(), y.view())
        .unwrap();
    let mmd = r.tests.iter().find(|t| t.name == "mmd").unwrap();
    assert!(
        mmd.not_applicable
            .as_deref()
            .unwrap()
            .contains("at least 2 points"),
        "{mmd:?}"
    );
}
