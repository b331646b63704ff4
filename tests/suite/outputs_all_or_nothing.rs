//! Nothing left behind: the outputs of a run appear together or not at all (also
//! with --force: a replaced file is restored bit for bit if a later one fails, and
//! for the PNG + SVG pair of a figure), and SIGTERM during writing leaves no
//! temporary file.

use fieldflow::io::OutputSet;
use ndarray::array;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::cli;
use cli::{assert_fails, ok, run, s, tmpdir};

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_failing_later_output_leaves_the_earlier_ones_as_they_were() {
    let dir = tmpdir("all-or-nothing");
    let out = dir.join("gen.csv");
    let old = b"x0,x1\n1,2\n".to_vec();
    fs::write(&out, &old).unwrap();
    let paths = dir.join("paths.csv");
    // a --stats name the file system refuses once it is written (255 bytes is the
    // longest name: the checks before the run pass, the hidden temporary is longer)
    let stats = dir.join(format!("{}.json", "s".repeat(250)));
    let before = entries(&dir);
    let res = run(&[
        "sample",
        "--field",
        "poisson",
        "--dataset",
        "moons",
        "--data-n",
        "30",
        "--n",
        "5",
        "--seed",
        "1",
        "--out",
        s(&out),
        "--trajectories",
        s(&paths),
        "--levels",
        "3",
        "--stats",
        s(&stats),
        "--force",
    ]);
    assert_fails(&res, "cannot write");
    assert_eq!(
        fs::read(&out).unwrap(),
        old,
        "--force-replaced file restored bit for bit"
    );
    assert_eq!(entries(&dir), before, "no new file, no hidden temporary");
    // the same run with a valid --stats writes all three
    let stats = dir.join("s.json");
    ok(&run(&[
        "sample",
        "--field",
        "poisson",
        "--dataset",
        "moons",
        "--data-n",
        "30",
        "--n",
        "5",
        "--seed",
        "1",
        "--out",
        s(&out),
        "--trajectories",
        s(&paths),
        "--levels",
        "3",
        "--stats",
        s(&stats),
        "--force",
    ]));
    assert_ne!(fs::read(&out).unwrap(), old);
    assert!(paths.is_file() && stats.is_file());
    assert!(
        entries(&dir).iter().all(|n| !n.starts_with('.')),
        "{:?}",
        entries(&dir)
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_figure_pair_is_written_together_or_not_at_all() {
    let dir = tmpdir("figure-pair");
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    for (f, seed) in [(&a, "1"), (&b, "2")] {
        ok(&run(&[
            "datasets",
            "moons",
            "--n",
            "100",
            "--seed",
            seed,
            "--out",
            s(f),
        ]));
    }
    let figs = dir.join("figs");
    fs::create_dir(&figs).unwrap();
    let png = figs.join("compare.png");
    fs::write(&png, b"old png").unwrap();
    // the SVG of the pair cannot be written: it is a directory
    fs::create_dir(figs.join("compare.svg")).unwrap();
    let before = entries(&figs);
    let res = run(&[
        "plot",
        "compare",
        "--samples",
        s(&a),
        "--reference",
        s(&b),
        "--out",
        s(&figs),
        "--force",
    ]);
    assert_fails(&res, "is a directory");
    assert_eq!(
        fs::read(&png).unwrap(),
        b"old png",
        "the PNG of the pair is not replaced alone"
    );
    assert_eq!(entries(&figs), before);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_commit_restores_replaced_files() {
    // library level: the second target's folder disappears after staging, so the
    // failure happens while the files are moved into place
    let dir = tmpdir("commit-rollback");
    let (d1, d2) = (dir.join("one"), dir.join("two"));
    fs::create_dir_all(&d1).unwrap();
    fs::create_dir_all(&d2).unwrap();
    let (a, b, c) = (d1.join("a.csv"), d1.join("b.csv"), d2.join("c.csv"));
    fs::write(&a, "old a\n").unwrap();
    let mut set = OutputSet::new(true);
    set.points(&a, array![[1.0]].view()).unwrap();
    set.points(&b, array![[2.0]].view()).unwrap();
    set.text(&c, "c\n").unwrap();
    fs::remove_dir_all(&d2).unwrap();
    assert!(set.commit().is_err());
    assert_eq!(fs::read(&a).unwrap(), b"old a\n", "restored bit for bit");
    assert_eq!(
        entries(&d1),
        ["a.csv"],
        "no new file, no temporary or backup"
    );
    // without errors every file is in place and nothing hidden remains
    let mut set = OutputSet::new(true);
    set.points(&a, array![[1.0]].view()).unwrap();
    set.points(&b, array![[2.0]].view()).unwrap();
    set.commit().unwrap();
    assert_eq!(fs::read_to_string(&a).unwrap(), "x0\n1\n");
    assert_eq!(entries(&d1), ["a.csv", "b.csv"]);
    // a set dropped before its commit removes its temporaries
    let mut set = OutputSet::new(false);
    set.text(d1.join("never.txt"), "x").unwrap();
    drop(set);
    assert_eq!(entries(&d1), ["a.csv", "b.csv"]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_while_writing_leaves_nothing_behind() {
    let dir = tmpdir("sigterm");
    let out = dir.join("big.csv");
    // a large data set (about 80 MB of CSV): the hidden temporary exists for a while
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldflow"))
        .args(["datasets", "moons", "--n", "2000000", "--out", s(&out)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(20) {
        if entries(&dir).iter().any(|n| n.ends_with(".tmp")) {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        seen,
        "the run never showed its temporary file (finished too fast?)"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    // 128 + 15, from the handler; a run that had just finished exits 0 with the file
    match status.code() {
        Some(143) => assert_eq!(entries(&dir), Vec::<String>::new(), "nothing left behind"),
        Some(0) => assert_eq!(entries(&dir), ["big.csv"]),
        other => panic!("unexpected exit {other:?} ({status})"),
    }
    let _ = fs::remove_dir_all(&dir);
}
