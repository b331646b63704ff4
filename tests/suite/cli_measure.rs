//! End-to-end: `fieldflow measure` as a user runs it.

use fieldflow::data::Dataset;
use ndarray::Array2;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::cli;
use cli::{assert_fails, ok, run, s, tmpdir};

fn write(dir: &Path, name: &str, x: &Array2<f64>) -> PathBuf {
    let f = dir.join(name);
    fieldflow::io::write_points(&f, x.view(), true).unwrap();
    f
}

/// The exact field of 300 moons points (poisson, --denoise) reproduces its training
/// points: more than 90% of its samples are memorised (measured 96% at 1000 points),
/// while fresh moons draws score near the 1/9 of a locally uniform law (below 0.2;
/// its standard error at n = 600 is 0.013). JSON is written, never overwritten
/// without --force, and the output is the same for 1 and 2 threads.
#[test]
fn exact_field_memorises_and_held_out_does_not() {
    let dir = tmpdir("measure");
    let train = write(&dir, "train.csv", &Dataset::Moons.sample_seeded(300, 1));
    let test = write(&dir, "test.csv", &Dataset::Moons.sample_seeded(600, 2));
    let gen = dir.join("gen.csv");
    ok(&run(&[
        "sample",
        "--field",
        "poisson",
        "--data",
        s(&train),
        "--n",
        "300",
        "--seed",
        "3",
        "--denoise",
        "--out",
        s(&gen),
        "--quiet",
    ]));
    let json = dir.join("m.json");
    let args = [
        "measure",
        "--samples",
        s(&gen),
        "--train",
        s(&train),
        "--test",
        s(&test),
        "--json",
        s(&json),
        "--w2-n",
        "200",
    ];
    let out = ok(&run(&args));
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let f = v["samples"]["memorised"]["fraction"].as_f64().unwrap();
    let b = v["test"]["memorised"]["fraction"].as_f64().unwrap();
    assert!(f > 0.9, "exact field memorised {f}\n{out}");
    assert!(b < 0.2, "held-out memorised {b}\n{out}");
    assert_eq!(v["w2"]["m"].as_u64(), Some(200));
    assert!(out.contains("n = 300") && out.contains("n = 600"), "{out}");
    assert!(out.contains("noise floor"), "{out}");
    // no overwrite without --force
    assert_fails(&run(&args), "exists");
    let mut forced = args.to_vec();
    forced.push("--force");
    let one = [&["--threads", "1"][..], &forced].concat();
    let two = [&["--threads", "2"][..], &forced].concat();
    assert_eq!(ok(&run(&one)), ok(&run(&two)));
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tmpdir("measure-err");
    let a = write(&dir, "a.csv", &Dataset::Moons.sample_seeded(50, 1));
    let d3 = write(&dir, "d3.csv", &Array2::from_elem((50, 3), 0.5));
    let one = write(&dir, "one.csv", &Array2::from_elem((1, 2), 0.5));
    let m = |extra: &[&str]| {
        let mut v = vec!["measure", "--samples", s(&a)];
        v.extend_from_slice(extra);
        run(&v)
    };
    assert_fails(&m(&["--train", s(&d3)]), "dimension");
    assert_fails(&m(&["--train", s(&a), "--test", s(&d3)]), "dimension");
    assert_fails(&m(&["--train", s(&one)]), "at least 2 training points");
    assert_fails(&m(&["--train", s(&a), "--threshold", "0"]), "threshold");
    assert_fails(&m(&["--train", s(&a), "--threshold", "1.5"]), "threshold");
    assert_fails(
        &m(&["--train", s(&a), "--test", s(&a), "--w2-n", "5000"]),
        "--no-w2",
    );
    assert_fails(
        &m(&["--train", s(&a), "--test", s(&one)]),
        "2 held-out points",
    );
    assert_fails(&m(&["--train", "/nonexistent.csv"]), "nonexistent");
    // --no-w2 with a single held-out point is fine
    ok(&m(&["--train", s(&a), "--test", s(&one), "--no-w2"]));
}

/// A tiny linear model on 300 moons points (400 steps of a 2 x 32 MLP), sampled and
/// measured with --model: the JSON has the check battery against the held-out
/// points and the field error at the requested levels, from the model's top level
/// s = 1 down to 1e-3. At s = 1 the exact posterior mean is the data mean, which the
/// network learns first: the relative velocity error there must be below 0.4; at
/// s = 1e-3 the exact field points at the nearest training point, which a network
/// that has not memorised misses: the relative velocity error must exceed 0.4
/// (measured 0.24 and 0.57; a field error that compared the exact field with itself
/// gives 0). A model of another dimension is a clear error.
#[test]
fn measure_with_a_model_reports_field_error_and_checks() {
    let dir = tmpdir("measure-model");
    let train = write(&dir, "train.csv", &Dataset::Moons.sample_seeded(300, 1));
    let test = write(&dir, "test.csv", &Dataset::Moons.sample_seeded(300, 2));
    let model = dir.join("m.safetensors");
    let gen = dir.join("gen.csv");
    let (m, g) = (s(&model).to_string(), s(&gen).to_string());
    ok(&run(&[
        "train",
        "--field",
        "linear",
        "--data",
        s(&train),
        "--out",
        &m,
        "--steps",
        "400",
        "--batch",
        "128",
        "--hidden",
        "32",
        "--layers",
        "2",
        "--seed",
        "1",
        "--quiet",
    ]));
    ok(&run(&[
        "sample", "--model", &m, "--n", "300", "--seed", "2", "--method", "rk4", "--steps", "10",
        "--out", &g, "--quiet",
    ]));
    let json = dir.join("m.json");
    let out = ok(&run(&[
        "measure",
        "--samples",
        &g,
        "--train",
        s(&train),
        "--test",
        s(&test),
        "--model",
        &m,
        "--levels",
        "4",
        "--level-n",
        "300",
        "--w2-n",
        "100",
        "--permutations",
        "199",
        "--json",
        s(&json),
    ]));
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert!(v["checks"]["reject"].is_boolean(), "{out}");
    assert!(
        out.contains("family-wise alpha") && out.contains("rel. err f"),
        "{out}"
    );
    let lv = v["field_error"]["levels"].as_array().unwrap();
    assert_eq!(lv.len(), 4);
    let at = |k: usize, key: &str| lv[k][key].as_f64().unwrap();
    assert!((at(0, "s") - 1.0).abs() < 1e-15);
    assert!((at(3, "s") - 1e-3).abs() < 1e-15);
    assert!(at(0, "velocity") < 0.4, "{out}");
    assert!(at(3, "velocity") > 0.4, "{out}");
    let d3 = write(&dir, "d3.csv", &Array2::from_elem((50, 3), 0.5));
    assert_fails(
        &run(&[
            "measure",
            "--samples",
            s(&d3),
            "--train",
            s(&d3),
            "--model",
            &m,
        ]),
        "d = 2",
    );
    assert_fails(
        &run(&[
            "measure",
            "--samples",
            &g,
            "--train",
            s(&train),
            "--model",
            s(&train),
        ]),
        "",
    );
}
