//! `fieldflow sample --model` with `--from`, `--trajectories` and `--stats`, on a
//! tiny model trained for a few steps (2-D moons, pfgmpp with D = 4).
#![cfg(feature = "learn")]

use crate::support::cli;
use cli::{assert_fails, bits, ok, run, s, tmpdir};
use fieldflow::sampling::Prior;
use std::path::{Path, PathBuf};

/// Trains the tiny model into `dir` and returns its path.
fn tiny_model(dir: &Path) -> PathBuf {
    let data = dir.join("data.csv");
    ok(&run(&[
        "datasets",
        "moons",
        "--n",
        "200",
        "--seed",
        "2",
        "--out",
        s(&data),
    ]));
    let model = dir.join("m.safetensors");
    ok(&run(&[
        "train",
        "--field",
        "pfgmpp",
        "--aug-dim",
        "4",
        "--data",
        s(&data),
        "--steps",
        "20",
        "--batch",
        "32",
        "--hidden",
        "8",
        "--layers",
        "2",
        "--seed",
        "5",
        "--out",
        s(&model),
    ]));
    model
}

#[test]
fn sample_model_from_trajectories_and_stats() {
    let dir = tmpdir("sample-model-extras");
    let model = tiny_model(&dir);
    let field = fieldflow::learn::LearnedField::load(&model).unwrap();
    let s_max = field.default_s_max();
    let s_max_arg = format!("{s_max:e}");

    // --from: the prior draws of seed 3 as start points at s_max give the same bits
    // as the seeded run itself
    let seeded = dir.join("seeded.npy");
    ok(&run(&[
        "sample",
        "--model",
        s(&model),
        "--n",
        "40",
        "--seed",
        "3",
        "--out",
        s(&seeded),
    ]));
    let x0 = field.prior(s_max).unwrap().sample(40, 3).unwrap();
    let start = dir.join("x0.npy");
    fieldflow::io::write_points(&start, x0.view(), false).unwrap();
    let from = dir.join("from.npy");
    ok(&run(&[
        "sample",
        "--model",
        s(&model),
        "--from",
        s(&start),
        "--s-start",
        &s_max_arg,
        "--out",
        s(&from),
    ]));
    let a = fieldflow::io::read_points(&seeded).unwrap();
    let b = fieldflow::io::read_points(&from).unwrap();
    assert_eq!(bits(&a), bits(&b));
    // a few-step sampler from the file too
    let few = dir.join("few.npy");
    ok(&run(&[
        "sample",
        "--model",
        s(&model),
        "--from",
        s(&start),
        "--s-start",
        &s_max_arg,
        "--method",
        "edm-euler",
        "--steps",
        "6",
        "--out",
        s(&few),
    ]));
    assert_eq!(fieldflow::io::read_points(&few).unwrap().dim(), (40, 2));

    // --trajectories: n x K x d, first level the start points, last the samples
    let paths = dir.join("paths.npy");
    let stats = dir.join("stats.json");
    let out = dir.join("x.npy");
    ok(&run(&[
        "sample",
        "--model",
        s(&model),
        "--n",
        "40",
        "--seed",
        "3",
        "--trajectories",
        s(&paths),
        "--levels",
        "7",
        "--stats",
        s(&stats),
        "--out",
        s(&out),
    ]));
    let p: ndarray::Array3<f64> = ndarray_npy::read_npy(&paths).unwrap();
    assert_eq!(p.dim(), (40, 7, 2));
    assert_eq!(
        bits(&p.index_axis(ndarray::Axis(1), 0).to_owned()),
        bits(&x0)
    );
    let x = fieldflow::io::read_points(&out).unwrap();
    assert_eq!(bits(&x), bits(&a));
    let last = p.index_axis(ndarray::Axis(1), 6).to_owned();
    for (u, v) in last.iter().zip(x.iter()) {
        // the recording and the run integrate the same ODE with the same tolerances
        assert!((u - v).abs() < 1e-2 * (1.0 + v.abs()), "{u} vs {v}");
    }

    // --stats: what applies to a model, no prior bound or unconverged counts
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    for key in [
        "command",
        "n",
        "rows_written",
        "nan_rows",
        "evaluations",
        "evaluations_per_particle",
        "steps_accepted",
        "steps_rejected",
        "failed",
        "non_finite",
        "seconds",
        "threads",
        "trajectory_levels",
        "settings",
    ] {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert!(j.get("unconverged").is_none() && j.get("prior_error_bound").is_none());
    let st = &j["settings"];
    for key in [
        "model",
        "field",
        "dim",
        "hidden",
        "layers",
        "train_steps",
        "n_train",
        "data_sha256",
        "method",
        "s_from",
        "s_to",
        "seed",
    ] {
        assert!(st.get(key).is_some(), "missing settings.{key}: {st}");
    }
    assert!(st.get("prior_error_bound").is_none());
    assert_eq!(j["n"], 40);
    assert_eq!(j["trajectory_levels"].as_array().unwrap().len(), 7);
    assert_eq!(st["hidden"], 8);
    assert_eq!(st["train_steps"], 20);
    assert!(j["evaluations"].as_u64().unwrap() > 0);

    // refusals: --trajectories with a few-step sampler, --levels 1, an existing file
    assert_fails(
        &run(&[
            "sample",
            "--model",
            s(&model),
            "--n",
            "5",
            "--method",
            "edm-euler",
            "--steps",
            "4",
            "--trajectories",
            s(&dir.join("t.csv")),
            "--out",
            s(&dir.join("t1.npy")),
        ]),
        "--trajectories applies to the ODE solvers only",
    );
    assert_fails(
        &run(&[
            "sample",
            "--model",
            s(&model),
            "--n",
            "5",
            "--trajectories",
            s(&dir.join("t.csv")),
            "--levels",
            "1",
            "--out",
            s(&dir.join("t2.npy")),
        ]),
        "--levels must be at least 2",
    );
    assert_fails(
        &run(&[
            "sample",
            "--model",
            s(&model),
            "--n",
            "5",
            "--stats",
            s(&stats),
            "--out",
            s(&dir.join("t3.npy")),
        ]),
        "exists",
    );
    // --offset is refused: a network's rows are not independent of their block
    assert_fails(
        &run(&[
            "sample",
            "--model",
            s(&model),
            "--n",
            "5",
            "--offset",
            "10",
            "--out",
            s(&dir.join("t4.npy")),
        ]),
        "--offset does not apply with --model",
    );
}
