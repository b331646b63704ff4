//! End-to-end: `fieldflow marginal` and `fieldflow sample` as a user runs them,
//! checked bit for bit against the library.

use fieldflow::fields::{FieldKind, MarginalField, Source};
use fieldflow::sampling::{generate, generate_from, OdeTime, SampleOptions};
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::cli;
use cli::{assert_fails, bits, ok, run, s, tmpdir};

fn setup(dir: &Path) -> (PathBuf, PathBuf, MarginalField) {
    let data = dir.join("d.csv");
    let w = dir.join("w.csv");
    fs::write(&data, "x0,x1\n-1,0\n1,0.5\n0.3,-1.2\n").unwrap();
    fs::write(&w, "0.5\n0.3\n0.2\n").unwrap();
    let pts = ndarray::array![[-1.0, 0.0], [1.0, 0.5], [0.3, -1.2]];
    let src = Source::points(pts.view(), Some(&[0.5, 0.3, 0.2])).unwrap();
    let mf = MarginalField::new(FieldKind::Pfgmpp { aug_dim: 2.5 }, src).unwrap();
    (data, w, mf)
}

#[test]
fn marginal_and_sample_match_the_library() {
    let dir = tmpdir("ok");
    let (data, w, mf) = setup(&dir);
    let m = dir.join("m.csv");
    let out = run(&[
        "marginal",
        "--field",
        "pfgmpp",
        "--aug-dim",
        "2.5",
        "--data",
        s(&data),
        "--weights",
        s(&w),
        "--s",
        "0.7",
        "--n",
        "300",
        "--seed",
        "5",
        "--out",
        s(&m),
    ]);
    assert!(ok(&out).contains("wrote 300 exact samples"));
    let got = fieldflow::io::read_points(&m).unwrap();
    let want = mf.sample_marginal(0.7, 300, 5).unwrap();
    assert_eq!(bits(&got), bits(&want));

    let g = dir.join("g.npy");
    let out = run(&[
        "sample",
        "--field",
        "pfgmpp",
        "--aug-dim",
        "2.5",
        "--data",
        s(&data),
        "--weights",
        s(&w),
        "--n",
        "200",
        "--seed",
        "8",
        "--out",
        s(&g),
    ]);
    let text = ok(&out);
    assert!(text.contains("function evaluations"), "{text}");
    assert!(text.contains("unconverged"), "{text}");
    let got = fieldflow::io::read_points(&g).unwrap();
    let want = generate(&mf, 200, 8, &SampleOptions::new(&mf)).unwrap().x;
    assert_eq!(bits(&got), bits(&want));

    // start points from a file at a stated level, --n omitted
    let (f, st) = (dir.join("f.csv"), dir.join("st.json"));
    let from_file = [
        "sample",
        "--field",
        "pfgmpp",
        "--aug-dim",
        "2.5",
        "--data",
        s(&data),
        "--weights",
        s(&w),
        "--from",
        s(&m),
        "--s-start",
        "0.7",
        "--s-min",
        "0.01",
        "--rtol",
        "1e-7",
        "--atol",
        "1e-7",
        "--stats",
        s(&st),
        "--force",
        "--out",
        s(&f),
    ];
    ok(&run(&from_file));
    let got = fieldflow::io::read_points(&f).unwrap();
    let mut opts = SampleOptions::new(&mf);
    opts.s_min = 0.01;
    opts.solver = opts.solver.rtol(1e-7).atol(1e-7);
    let want = generate_from(&mf, want_start(&m).view(), 0.7, &opts)
        .unwrap()
        .x;
    assert_eq!(bits(&got), bits(&want));

    // the same in ln s: --ode-time log is OdeTime::LogLevel (other bits, same paths),
    // and the stats say which variables ran
    let mut args = from_file.to_vec();
    args.extend(["--ode-time", "log"]);
    ok(&run(&args));
    let got_log = fieldflow::io::read_points(&f).unwrap();
    opts.time = Some(OdeTime::LogLevel);
    let want_log = generate_from(&mf, want_start(&m).view(), 0.7, &opts)
        .unwrap()
        .x;
    assert_eq!(bits(&got_log), bits(&want_log));
    assert_ne!(bits(&got_log), bits(&want));
    for (a, b) in got_log.iter().zip(&want) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&st).unwrap()).unwrap();
    assert_eq!(v["settings"]["ode_time"], "log");
    *args.last_mut().unwrap() = "sideways";
    assert_fails(&run(&args), "unknown ODE time");
}

#[test]
fn eight_gaussians_mixture_source() {
    let dir = tmpdir("mix");
    let o = dir.join("o.csv");
    let out = run(&[
        "marginal",
        "--field",
        "gaussian",
        "--dataset",
        "8gaussians",
        "--mixture",
        "--s",
        "0.3",
        "--n",
        "100",
        "--seed",
        "2",
        "--out",
        s(&o),
    ]);
    ok(&out);
    let src = Source::from_mixture(&fieldflow::data::GaussianMixture::eight_gaussians()).unwrap();
    let mf = MarginalField::new(FieldKind::Gaussian, src).unwrap();
    let want = mf.sample_marginal(0.3, 100, 2).unwrap();
    assert_eq!(bits(&fieldflow::io::read_points(&o).unwrap()), bits(&want));
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "poisson",
            "--dataset",
            "8gaussians",
            "--mixture",
            "--n",
            "5",
            "--out",
            s(&dir.join("p.csv")),
        ]),
        "no closed-form marginal",
    );
}

fn want_start(p: &Path) -> ndarray::Array2<f64> {
    fieldflow::io::read_points(p).unwrap()
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tmpdir("bad");
    let (data, _, _) = setup(&dir);
    let o = dir.join("o.csv");
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "nope",
            "--data",
            s(&data),
            "--n",
            "5",
            "--out",
            s(&o),
        ]),
        "unknown field",
    );
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "pfgmpp",
            "--data",
            s(&data),
            "--n",
            "5",
            "--out",
            s(&o),
        ]),
        "--aug-dim",
    );
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "linear",
            "--data",
            s(&data),
            "--n",
            "5",
            "--s-max",
            "2",
            "--out",
            s(&o),
        ]),
        "0 < s <= 1",
    );
    assert_fails(
        &run(&[
            "marginal",
            "--field",
            "poisson",
            "--data",
            s(&data),
            "--s",
            "0",
            "--n",
            "5",
            "--out",
            s(&o),
        ]),
        "invalid s",
    );
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "poisson",
            "--dataset",
            "nosuchset",
            "--n",
            "5",
            "--out",
            s(&o),
        ]),
        "nosuchset",
    );
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "poisson",
            "--data",
            s(&data),
            "--out",
            s(&o),
        ]),
        "--n",
    );
    assert!(!o.exists());
}

#[test]
fn mixture_spec_source() {
    let dir = tmpdir("spec");
    let o = dir.join("o.csv");
    let spec = "mixture:1@-2,0~0.5/3@2,0~0.25";
    let out = run(&[
        "marginal",
        "--field",
        "linear",
        "--dataset",
        spec,
        "--mixture",
        "--s",
        "0.4",
        "--n",
        "50",
        "--seed",
        "3",
        "--out",
        s(&o),
    ]);
    ok(&out);
    let gm: fieldflow::data::GaussianMixture = spec["mixture:".len()..].parse().unwrap();
    let src = Source::from_mixture(&gm).unwrap();
    let mf = MarginalField::new(
        FieldKind::Linear {
            prior: fieldflow::fields::LinearPrior::Normal,
        },
        src,
    )
    .unwrap();
    let want = mf.sample_marginal(0.4, 50, 3).unwrap();
    assert_eq!(bits(&fieldflow::io::read_points(&o).unwrap()), bits(&want));
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "gaussian",
            "--dataset",
            "moons",
            "--mixture",
            "--n",
            "5",
            "--out",
            s(&dir.join("p.csv")),
        ]),
        "--mixture needs",
    );
}

/// The default s_max follows the far-field prior bound (docs/MATHEMATICS.md, section
/// 5.3) and is reported: PFGM++ with D = 2048 on the three-point data gets the
/// library's default (above the published 40), a note on stderr and the bound in
/// --stats; `--s-max 20` (bound above 0.5) is refused with exit 2 and nothing written,
/// and runs with a warning under --force-prior; `--s-max 40` (bound 0.48, between the
/// tolerance 0.01 and 0.5) warns; --quiet hides the note but not a warning.
#[test]
fn default_s_max_follows_the_prior_bound_and_is_reported() {
    let dir = tmpdir("smax");
    let (data, w, _) = setup(&dir);
    let pts = ndarray::array![[-1.0, 0.0], [1.0, 0.5], [0.3, -1.2]];
    let src = Source::points(pts.view(), Some(&[0.5, 0.3, 0.2])).unwrap();
    let mf = MarginalField::new(FieldKind::Pfgmpp { aug_dim: 2048.0 }, src).unwrap();
    let want_s_max = SampleOptions::new(&mf).s_max;
    let bound = fieldflow::fields::prior_error_bound(&mf, want_s_max).unwrap();
    assert!(want_s_max > 40.0 && bound <= 0.01);
    let g = dir.join("g.csv");
    let st = dir.join("st.json");
    let base = [
        "sample",
        "--field",
        "pfgmpp",
        "--aug-dim",
        "2048",
        "--data",
        s(&data),
        "--weights",
        s(&w),
        "--n",
        "50",
        "--out",
        s(&g),
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        run(&a)
    };
    let out = with(&["--stats", s(&st)]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("note: s_max = {want_s_max} (default)")),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&st).unwrap()).unwrap();
    assert_eq!(json["settings"]["s_from"].as_f64(), Some(want_s_max));
    assert_eq!(json["settings"]["prior_error_bound"].as_f64(), Some(bound));
    // hopeless: refused, nothing written
    let g2 = dir.join("g2.csv");
    let mut refused: Vec<&str> = base.to_vec();
    *refused.last_mut().unwrap() = s(&g2);
    assert!(fieldflow::fields::prior_error_bound(&mf, 20.0).unwrap() > 0.5);
    refused.extend_from_slice(&["--s-max", "20"]);
    assert_fails(&run(&refused), "--force-prior");
    assert!(!g2.exists());
    // forced: runs, with a warning even under --quiet
    let out = with(&["--s-max", "20", "--force-prior", "--force", "--quiet"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: --s-max 20"), "{err}");
    // between the tolerance and 0.5: a warning
    let b40 = fieldflow::fields::prior_error_bound(&mf, 40.0).unwrap();
    assert!(b40 > 0.01 && b40 <= 0.5, "{b40}");
    let out = with(&["--s-max", "40", "--force"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: --s-max 40"));
    // --quiet hides the note
    let out = with(&["--force", "--quiet"]);
    ok(&out);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("note:"));
}
