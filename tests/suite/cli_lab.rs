//! End-to-end: `sample --trajectories/--stats`, `encode`, `demo`, the bad-input audit
//! of every subcommand, and `--help` of every subcommand, by running the binary.
//!
//! Budget: about 10 s in release on 2 cores (the demo runs at reduced size).

use fieldflow::fields::{FieldKind, MarginalField, PriorKind, Source};
use fieldflow::sampling::{encode, generate, trajectories, SampleOptions};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::cli;
use cli::{bits, ok, run, s, tmpdir};

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// 200 moons points written to `dir/data.csv`, and the PFGM field of them.
fn moons(dir: &Path) -> (PathBuf, MarginalField) {
    let data = dir.join("data.csv");
    ok(&run(&[
        "datasets",
        "moons",
        "--n",
        "200",
        "--seed",
        "3",
        "--out",
        s(&data),
    ]));
    let pts = fieldflow::io::read_points(&data).unwrap();
    let mf = MarginalField::new(
        FieldKind::Poisson,
        Source::points(pts.view(), None).unwrap(),
    )
    .unwrap();
    (data, mf)
}

#[test]
fn sample_trajectories_and_stats_match_the_library() {
    let dir = tmpdir("traj");
    let (data, mf) = moons(&dir);
    let (gen, paths, stats) = (
        dir.join("gen.csv"),
        dir.join("paths.csv"),
        dir.join("run.json"),
    );
    let common = [
        "sample",
        "--field",
        "poisson",
        "--data",
        s(&data),
        "--n",
        "60",
        "--seed",
        "9",
    ];
    let mut a: Vec<&str> = common.to_vec();
    a.extend([
        "--out",
        s(&gen),
        "--trajectories",
        s(&paths),
        "--levels",
        "4",
        "--stats",
        s(&stats),
    ]);
    let text = ok(&run(&a));
    assert!(text.contains("wrote the paths at 4 levels"), "{text}");

    // the samples are the library's, bit for bit
    let opts = SampleOptions::new(&mf);
    let lib = generate(&mf, 60, 9, &opts).unwrap();
    let x = fieldflow::io::read_points(&gen).unwrap();
    assert_eq!(bits(&x), bits(&lib.x));

    // stats: the library's totals and the documented fields
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(v["command"], "sample");
    assert_eq!(v["n"], 60);
    assert_eq!(v["evaluations"].as_u64().unwrap(), lib.totals.evals);
    assert_eq!(v["steps_accepted"].as_u64().unwrap(), lib.totals.accepted);
    assert_eq!(v["steps_rejected"].as_u64().unwrap(), lib.totals.rejected);
    assert_eq!(v["unconverged"].as_u64().unwrap(), lib.n_unconverged as u64);
    assert_eq!(v["failed"], 0);
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["settings"]["field"], "poisson");
    assert_eq!(v["settings"]["seed"], 9);
    let levels: Vec<f64> = v["trajectory_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_f64().unwrap())
        .collect();
    assert_eq!(levels.len(), 4);
    assert_eq!(levels[0].to_bits(), 40f64.to_bits());
    assert_eq!(levels[3].to_bits(), 1e-3f64.to_bits());
    // log-spaced: equal ratios
    let r1 = levels[1] / levels[0];
    let r2 = levels[2] / levels[1];
    assert!((r1 / r2 - 1.0).abs() < 1e-12, "{levels:?}");

    // trajectories CSV: header, particle-major long format, the library's dense output
    let text = fs::read_to_string(&paths).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("particle,s,x0,x1"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 60 * 4);
    let x0 = mf.sample_prior(40.0, 60, 9, PriorKind::FarField).unwrap();
    let tr = trajectories(&mf, x0.view(), 40.0, 1e-3, &levels, &opts.solver).unwrap();
    for (r, row) in rows.iter().enumerate() {
        let (i, k) = (r / 4, r % 4);
        assert_eq!(row[0] as usize, i);
        assert_eq!(row[1].to_bits(), levels[k].to_bits());
        for j in 0..2 {
            assert_eq!(row[2 + j].to_bits(), tr[[i, k, j]].to_bits());
        }
    }
    // the last level is where the samples end; the first is the prior draw
    for i in 0..60 {
        for j in 0..2 {
            assert_eq!(tr[[i, 3, j]].to_bits(), x[[i, j]].to_bits());
            assert_eq!(tr[[i, 0, j]].to_bits(), x0[[i, j]].to_bits());
        }
    }

    // .npy trajectories: shape (n, levels, d); --quiet changes nothing
    let (gen2, paths2) = (dir.join("gen2.npy"), dir.join("paths2.npy"));
    let mut a: Vec<&str> = vec!["--quiet"];
    a.extend(common);
    a.extend([
        "--out",
        s(&gen2),
        "--trajectories",
        s(&paths2),
        "--levels",
        "4",
    ]);
    ok(&run(&a));
    assert_eq!(bits(&fieldflow::io::read_points(&gen2).unwrap()), bits(&x));
    let file = fs::File::open(&paths2).unwrap();
    let arr: ndarray::Array3<f64> = ndarray_npy::ReadNpyExt::read_npy(file).unwrap();
    assert_eq!(arr.dim(), (60, 4, 2));
    assert_eq!(
        arr.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        tr.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn encode_matches_the_library_and_the_closed_form() {
    let dir = tmpdir("encode");
    let (data, mf) = moons(&dir);
    let pts = dir.join("pts.csv");
    ok(&run(&[
        "datasets",
        "moons",
        "--n",
        "40",
        "--seed",
        "4",
        "--out",
        s(&pts),
    ]));
    let x = fieldflow::io::read_points(&pts).unwrap();
    for (prior, pk) in [("far", PriorKind::FarField), ("exact", PriorKind::Exact)] {
        let out = dir.join(format!("codes-{prior}.csv"));
        let stats = dir.join(format!("enc-{prior}.json"));
        let text = ok(&run(&[
            "encode",
            "--field",
            "poisson",
            "--data",
            s(&data),
            "--points",
            s(&pts),
            "--out",
            s(&out),
            "--log-likelihood",
            "--prior",
            prior,
            "--stats",
            s(&stats),
        ]));
        assert!(text.contains("log-likelihood (column log_p"), "{text}");
        let mut opts = SampleOptions::new(&mf);
        opts.prior = pk;
        opts.likelihood = true;
        let lib = encode(&mf, x.view(), &opts).unwrap();
        let header = fs::read_to_string(&out).unwrap();
        assert!(header.starts_with("x0,x1,log_p\n"));
        let table = fieldflow::io::read_points(&out).unwrap();
        assert_eq!(table.dim(), (40, 3));
        let lp = lib.log_p.unwrap();
        for i in 0..40 {
            assert_eq!(table[[i, 0]].to_bits(), lib.z[[i, 0]].to_bits());
            assert_eq!(table[[i, 1]].to_bits(), lib.z[[i, 1]].to_bits());
            assert_eq!(table[[i, 2]].to_bits(), lp[i].to_bits());
            if pk == PriorKind::Exact {
                // exact prior: log_p is the closed-form ln p_{s_start}(x) up to the
                // solver tolerance (1e-5); observed gaps are about 1e-3 nats
                let exact = mf.log_density(1e-3, &[x[[i, 0]], x[[i, 1]]]);
                assert!((lp[i] - exact).abs() < 2e-2, "{i}: {} vs {exact}", lp[i]);
            }
        }
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&stats).unwrap()).unwrap();
        assert_eq!(v["command"], "encode");
        assert_eq!(v["evaluations"].as_u64().unwrap(), lib.totals.evals);
        let mean = lp.mean().unwrap();
        assert_eq!(
            v["mean_log_likelihood"].as_f64().unwrap().to_bits(),
            mean.to_bits()
        );
    }
    // without --log-likelihood: the codes only, .npy
    let out = dir.join("codes.npy");
    ok(&run(&[
        "encode",
        "--field",
        "poisson",
        "--data",
        s(&data),
        "--points",
        s(&pts),
        "--out",
        s(&out),
    ]));
    assert_eq!(fieldflow::io::read_points(&out).unwrap().dim(), (40, 2));
}

#[test]
fn demo_runs_small_and_writes_its_files() {
    let dir = tmpdir("demo");
    let out_dir = dir.join("nested/out");
    let out = run(&[
        "demo",
        "--out",
        s(&out_dir),
        "--n",
        "200",
        "--data-n",
        "200",
        "--permutations",
        "99",
    ]);
    // fixed seed: a deterministic verdict (exit 0 pass); 1 would mean a rejection
    let text = ok(&out);
    for needle in [
        "function evaluations",
        "failed / unconverged particles",
        "check 1",
        "check 2",
        "landing",
        "overall verdict",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    for f in [
        "data.csv",
        "generated.csv",
        "reference.csv",
        "demo_samples.png",
        "demo_samples.svg",
        "demo_paths.png",
        "demo_paths.svg",
        "density.png",
        "density.svg",
        "demo_checks.json",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out_dir.join("demo_checks.json")).unwrap())
            .unwrap();
    assert_eq!(v["sampling"]["n"], 200);
    assert!(v["sampling"]["evaluations"].as_u64().unwrap() > 200);
    // a second run replaces the demo's own files
    ok(&run(&[
        "demo",
        "--out",
        s(&out_dir),
        "--n",
        "60",
        "--data-n",
        "50",
        "--permutations",
        "99",
        "--quiet",
    ]));
    assert_eq!(
        fieldflow::io::read_points(out_dir.join("generated.csv"))
            .unwrap()
            .nrows(),
        60
    );
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "datasets", "sample", "encode", "marginal", "check", "demo", "plot", "figures",
    ] {
        let out = run(&[sub, "--help"]);
        let text = ok(&out);
        assert!(text.contains("Example"), "{sub} --help has no example");
        assert!(text.contains("fieldflow"), "{sub}");
    }
    let text = ok(&run(&["--help"]));
    assert!(text.contains("--quiet"));
}

/// Runs `args` in `dir` expecting exit code 2, one line on stderr containing
/// `needle`, and no change to the folder's listing.
fn bad(dir: &Path, args: &[&str], needle: &str) {
    let before = listing(dir);
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: '{err}' lacks '{needle}'"
    );
    assert_eq!(listing(dir), before, "{args:?} left files behind");
}

#[test]
fn bad_inputs_end_with_one_line_exit_2_and_no_file() {
    let dir = tmpdir("bad");
    let (data, _) = moons(&dir);
    let d = s(&data);
    let nan = dir.join("nan.csv");
    fs::write(&nan, "x0,x1\n0,1\nNaN,2\n").unwrap();
    let malformed = dir.join("bad.csv");
    fs::write(&malformed, "x0,x1\n0,1\n2,abc\n").unwrap();
    let three = dir.join("three.csv");
    fs::write(&three, "1,2,3\n4,5,6\n").unwrap();
    let (n, m, t) = (s(&nan), s(&malformed), s(&three));
    let existing = dir.join("existing.csv");
    fs::write(&existing, "keep me\n").unwrap();
    let e = s(&existing);
    let o = dir.join("o.csv");
    let o = s(&o);
    let js = dir.join("o.json");
    let js = s(&js);
    let missing = dir.join("missing.csv");
    let miss = s(&missing);
    let nodir = dir.join("no/such/dir/o.csv");
    let nodir = s(&nodir);
    let sample = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["sample", "--field", "poisson", "--data", d, "--n", "5"]
            .iter()
            .map(|x| x.to_string())
            .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        // datasets
        (
            sv(&["datasets", "nosuchset", "--n", "5", "--out", o]),
            "unknown data set",
        ),
        (
            sv(&["datasets", "moons", "--n", "-5", "--out", o]),
            "invalid value '-5' for '--n <N>'",
        ),
        (
            sv(&["datasets", "moons", "--n", "0", "--out", o]),
            "at least 1",
        ),
        (
            sv(&["datasets", "moons", "--n", "5", "--out", e]),
            "already exists",
        ),
        (
            sv(&["datasets", "moons", "--n", "5", "--out", "x.txt"]),
            "extension",
        ),
        (
            sv(&["datasets", "moons", "--n", "5", "--out", nodir]),
            "does not exist",
        ),
        (
            sv(&["datasets", "mixture:1@0,0~-1", "--n", "5", "--out", o]),
            "std",
        ),
        // sample
        (
            sv(&[
                "sample", "--field", "nofield", "--data", d, "--n", "5", "--out", o,
            ]),
            "unknown field",
        ),
        (
            sv(&[
                "sample",
                "--field",
                "poisson",
                "--dataset",
                "nosuch",
                "--n",
                "5",
                "--out",
                o,
            ]),
            "unknown data set",
        ),
        (
            sv(&[
                "sample", "--field", "poisson", "--data", miss, "--n", "5", "--out", o,
            ]),
            "missing.csv",
        ),
        (
            sv(&[
                "sample", "--field", "poisson", "--data", m, "--n", "5", "--out", o,
            ]),
            "line 3",
        ),
        (
            sv(&[
                "sample", "--field", "poisson", "--data", n, "--n", "5", "--out", o,
            ]),
            "line 3",
        ),
        (
            sv(&[
                "sample", "--field", "poisson", "--data", d, "--n", "0", "--out", o,
            ]),
            "at least 1",
        ),
        (
            sv(&[
                "sample", "--field", "poisson", "--data", d, "--n", "-2", "--out", o,
            ]),
            "invalid value '-2'",
        ),
        (sample(&["--rtol", "0", "--out", "OUT"]), "rtol"),
        (sample(&["--atol", "-1e-5", "--out", "OUT"]), "invalid atol"),
        (sample(&["--atol=-1e-5", "--out", "OUT"]), "atol"),
        (
            sample(&["--steps", "0", "--method", "rk4", "--out", "OUT"]),
            "--steps",
        ),
        (sample(&["--method", "magic", "--out", "OUT"]), "unknown"),
        (
            sample(&["--s-min", "0", "--out", "OUT"]),
            "must be finite and > 0",
        ),
        (
            sample(&["--out", "OUT", "--levels", "1", "--trajectories", "TRAJ"]),
            "--levels",
        ),
        (
            sample(&["--out", "OUT", "--stats", "STATS_NOT_JSON"]),
            ".json",
        ),
        (
            sample(&["--out", "OUT", "--trajectories", "OUT"]),
            "same file",
        ),
        (
            vec![
                "sample".into(),
                "--field".into(),
                "poisson".into(),
                "--data".into(),
                d.into(),
                "--from".into(),
                t.into(),
                "--s-start".into(),
                "10".into(),
                "--out".into(),
                o.into(),
            ],
            "dimension",
        ),
        (
            vec![
                "sample".into(),
                "--field".into(),
                "poisson".into(),
                "--data".into(),
                d.into(),
                "--n".into(),
                "5".into(),
                "--out".into(),
                d.into(),
                "--force".into(),
            ],
            "input",
        ),
        (
            vec![
                "sample".into(),
                "--field".into(),
                "poisson".into(),
                "--data".into(),
                d.into(),
                "--n".into(),
                "5".into(),
                "--out".into(),
                e.into(),
            ],
            "already exists",
        ),
        // encode
        (
            sv(&[
                "encode", "--field", "poisson", "--data", d, "--points", t, "--out", o,
            ]),
            "dimension",
        ),
        (
            sv(&[
                "encode", "--field", "poisson", "--data", d, "--points", n, "--out", o,
            ]),
            "non-finite",
        ),
        (
            sv(&[
                "encode", "--field", "poisson", "--data", d, "--points", miss, "--out", o,
            ]),
            "missing.csv",
        ),
        (
            sv(&[
                "encode", "--field", "poisson", "--data", d, "--points", d, "--out", d, "--force",
            ]),
            "input",
        ),
        (
            sv(&[
                "encode", "--field", "poisson", "--data", d, "--points", d, "--out", o, "--rtol",
                "0",
            ]),
            "rtol",
        ),
        (
            sv(&[
                "encode", "--field", "poisson", "--data", d, "--points", d, "--out", o, "--prior",
                "wide",
            ]),
            "prior",
        ),
        (
            sv(&[
                "encode", "--field", "linear", "--data", d, "--points", d, "--out", o, "--s-max",
                "2",
            ]),
            "0 < s <= 1",
        ),
        // marginal
        (
            sv(&[
                "marginal", "--field", "poisson", "--data", d, "--s", "-1", "--n", "5", "--out", o,
            ]),
            "invalid s: -1",
        ),
        (
            sv(&[
                "marginal", "--field", "poisson", "--data", d, "--s=-1", "--n", "5", "--out", o,
            ]),
            "must be finite",
        ),
        (
            sv(&[
                "marginal", "--field", "poisson", "--data", d, "--s", "1", "--n", "0", "--out", o,
            ]),
            "at least 1",
        ),
        (
            sv(&[
                "marginal", "--field", "pfgmpp", "--data", d, "--s", "1", "--n", "5", "--out", o,
            ]),
            "aug",
        ),
        (
            sv(&[
                "marginal", "--field", "poisson", "--data", d, "--s", "1", "--n", "5", "--out", d,
                "--force",
            ]),
            "input",
        ),
        // check
        (
            sv(&["check", "--samples", miss, "--reference", d]),
            "missing.csv",
        ),
        (sv(&["check", "--samples", n, "--reference", d]), "line 3"),
        (
            sv(&["check", "--samples", d, "--reference", t]),
            "dimension",
        ),
        (
            sv(&["check", "--samples", d, "--reference", d, "--alpha", "0"]),
            "alpha",
        ),
        (
            sv(&[
                "check",
                "--samples",
                d,
                "--reference",
                d,
                "--permutations",
                "0",
            ]),
            "permutations",
        ),
        (
            sv(&["check", "--samples", d, "--target", "nosuchtarget"]),
            "target",
        ),
        (
            sv(&[
                "check",
                "--samples",
                d,
                "--reference",
                d,
                "--json",
                d,
                "--force",
            ]),
            ".json",
        ),
        (
            sv(&[
                "check",
                "--samples",
                d,
                "--reference",
                d,
                "--json",
                js,
                "--tests",
                "nosuch",
            ]),
            "unknown",
        ),
        // demo
        (sv(&["demo", "--out", d]), "not a directory"),
        (sv(&["demo", "--n", "3"]), "at least 50"),
        // plot and figures
        (
            sv(&["plot", "nosuchkind", "--out", "FIGS"]),
            "unknown figure",
        ),
        (
            sv(&["plot", "trajectories", "--data", miss, "--out", "FIGS"]),
            "missing.csv",
        ),
        (
            sv(&["plot", "trajectories", "--data", n, "--out", "FIGS"]),
            "line 3",
        ),
        (
            sv(&["plot", "trajectories", "--data", t, "--out", "FIGS"]),
            "dimension",
        ),
        (
            sv(&["plot", "su1d", "--data", d, "--out", "FIGS"]),
            "--data applies",
        ),
        (sv(&["plot", "trajectories", "--out", d]), "not a directory"),
        (
            sv(&["plot", "datasets", "--out", "FIGS", "--seed", "-1"]),
            "invalid value '-1'",
        ),
        (sv(&["figures", "--out", d]), "not a directory"),
        (sv(&["demo", "--n", "-3"]), "invalid value '-3'"),
        (
            sv(&[
                "sample", "--field", "poisson", "--data", d, "--n", "5", "--out", o, "--levels",
                "3",
            ]),
            "--trajectories",
        ),
        (sv(&["nosuchcommand"]), "unrecognized subcommand"),
    ];
    for (args, needle) in cases {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| match a.as_str() {
                "OUT" => o.to_string(),
                "TRAJ" => dir.join("t.csv").to_string_lossy().into_owned(),
                "STATS_NOT_JSON" => dir.join("st.csv").to_string_lossy().into_owned(),
                "FIGS" => dir.join("figs").to_string_lossy().into_owned(),
                _ => a,
            })
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(&dir, &refs, needle);
    }
    // nothing was overwritten
    assert_eq!(fs::read_to_string(&existing).unwrap(), "keep me\n");
    assert!(fieldflow::io::read_points(&data).unwrap().nrows() == 200);
}

fn sv(a: &[&str]) -> Vec<String> {
    a.iter().map(|x| x.to_string()).collect()
}

#[test]
fn progress_callback_sees_every_particle_and_changes_nothing() {
    use fieldflow::sampling::{encode_with_progress, generate_with_progress};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pts = fieldflow::data::Dataset::Moons.sample_seeded(100, 1);
    let mf = MarginalField::new(
        FieldKind::Poisson,
        Source::points(pts.view(), None).unwrap(),
    )
    .unwrap();
    let opts = SampleOptions::new(&mf);
    let seen = AtomicUsize::new(0);
    let tick = |k: usize| {
        seen.fetch_add(k, Ordering::Relaxed);
    };
    let a = generate_with_progress(&mf, 300, 4, &opts, &tick).unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), 300);
    let b = generate(&mf, 300, 4, &opts).unwrap();
    assert_eq!(bits(&a.x), bits(&b.x));
    assert_eq!(a.totals, b.totals);
    seen.store(0, Ordering::Relaxed);
    let e = encode_with_progress(&mf, a.x.view(), &opts, &tick).unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), 300);
    assert_eq!(bits(&e.z), bits(&encode(&mf, a.x.view(), &opts).unwrap().z));
}
