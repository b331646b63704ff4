//! End-to-end: `fieldflow datasets` as a user runs it.

use fieldflow::data::Dataset;
use std::fs;

use crate::support::cli;
use cli::{assert_fails, run, s, tmpdir};

#[test]
fn writes_the_same_points_as_the_library() {
    let dir = tmpdir("ok");
    for ext in ["csv", "npy"] {
        let f = dir.join(format!("moons.{ext}"));
        let out = run(&[
            "datasets",
            "moons",
            "--n",
            "257",
            "--seed",
            "9",
            "--out",
            s(&f),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("wrote 257 points of moons"), "{stdout}");
        let got = fieldflow::io::read_points(&f).unwrap();
        let want = Dataset::Moons.sample_seeded(257, 9);
        let bits = |a: &ndarray::Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{ext}");
    }
    // A Gaussian mixture in 3-D.
    let f = dir.join("mix.npy");
    let spec = "1@0,0,5~0.5/1@1,2,3~0";
    let out = run(&[
        "datasets",
        &format!("mixture:{spec}"),
        "--n",
        "64",
        "--seed",
        "3",
        "--out",
        s(&f),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = fieldflow::io::read_points(&f).unwrap();
    let gm: fieldflow::data::GaussianMixture = spec.parse().unwrap();
    assert_eq!(got, gm.sample(64, &mut fieldflow::rng::seeded(3)));
    // --force replaces an existing file.
    let f = dir.join("moons.csv");
    let out = run(&["datasets", "rings", "--n", "8", "--out", s(&f), "--force"]);
    assert!(out.status.success());
    assert_eq!(fieldflow::io::read_points(&f).unwrap().nrows(), 8);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_fail_with_one_line_and_no_file() {
    let dir = tmpdir("bad");
    let f = dir.join("x.csv");
    let fs_ = s(&f);

    assert_fails(
        &run(&["datasets", "moon", "--n", "5", "--out", fs_]),
        "unknown data set 'moon'",
    );
    assert_fails(
        &run(&["datasets", "moons", "--n", "0", "--out", fs_]),
        "--n must be at least 1",
    );
    assert_fails(
        &run(&["datasets", "mixture:1@0,0~-1", "--n", "5", "--out", fs_]),
        "invalid mixture std",
    );
    assert_fails(
        &run(&["datasets", "mixture:1@0,x~1", "--n", "5", "--out", fs_]),
        "cannot parse mean coordinate 'x'",
    );
    let txt = dir.join("x.txt");
    assert_fails(
        &run(&["datasets", "moons", "--n", "5", "--out", s(&txt)]),
        "unsupported file extension",
    );
    let deep = dir.join("missing/x.csv");
    assert_fails(
        &run(&["datasets", "moons", "--n", "5", "--out", s(&deep)]),
        "does not exist",
    );
    // A path below a regular file cannot be written.
    fs::write(dir.join("plain"), "x").unwrap();
    let under_file = dir.join("plain/x.csv");
    assert_fails(
        &run(&["datasets", "moons", "--n", "5", "--out", s(&under_file)]),
        "is not a directory",
    );
    assert!(!f.exists() && !txt.exists() && !dir.join("missing").exists());

    // Existing file without --force: refused, file unchanged.
    fs::write(&f, "keep me\n").unwrap();
    assert_fails(
        &run(&["datasets", "moons", "--n", "5", "--out", fs_]),
        "already exists",
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), "keep me\n");
    // No temporary files were left behind.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["plain", "x.csv"]);
    let _ = fs::remove_dir_all(&dir);
}
