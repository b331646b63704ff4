//! `fieldflow train` end to end: a model file and loss curve are written, a second
//! run with the same seed gives the same file bytes, outputs are never overwritten
//! without --force, and bad input gives one-line errors with exit code 2.
#![cfg(feature = "learn")]

use crate::support::cli;
use cli::{assert_fails, ok, run, s, tmpdir};
use fieldflow::fields::Field;
use fieldflow::learn::LearnedField;

#[test]
fn train_writes_a_reproducible_model_and_refuses_bad_input() {
    let dir = tmpdir("train");
    let data = dir.join("data.csv");
    ok(&run(&[
        "datasets",
        "moons",
        "--n",
        "300",
        "--seed",
        "2",
        "--out",
        s(&data),
    ]));
    let (m1, m2, loss) = (
        dir.join("a.safetensors"),
        dir.join("b.safetensors"),
        dir.join("loss.csv"),
    );
    let common = [
        "train",
        "--field",
        "pfgmpp",
        "--aug-dim",
        "4",
        "--data",
        s(&data),
        "--steps",
        "30",
        "--batch",
        "32",
        "--hidden",
        "8",
        "--layers",
        "2",
        "--seed",
        "5",
        "--test-split",
        "0.2",
    ];
    let out = ok(&run(
        &[&common[..], &["--out", s(&m1), "--loss", s(&loss)]].concat()
    ));
    assert!(out.contains("30 steps of batch 32"), "{out}");
    assert!(out.contains("held-out loss"), "{out}");
    ok(&run(&[&common[..], &["--out", s(&m2)]].concat()));
    assert_eq!(std::fs::read(&m1).unwrap(), std::fs::read(&m2).unwrap());
    let curve = std::fs::read_to_string(&loss).unwrap();
    assert!(curve.starts_with("step,train,test\n1,"));
    assert_eq!(curve.lines().count(), 31);
    let field = LearnedField::load(&m1).unwrap();
    assert_eq!(field.dim(), 2);
    assert!(field.describe().contains("pfgmpp"), "{}", field.describe());
    assert_eq!(field.model().meta().n_train, 240);

    // no overwrite without --force; with it, fine
    let again = run(&[&common[..], &["--out", s(&m1)]].concat());
    assert_fails(&again, "already exists");
    ok(&run(&[&common[..], &["--out", s(&m1), "--force"]].concat()));

    let base = ["train", "--data", s(&data), "--steps", "5"];
    let out_new = dir.join("new.safetensors");
    let csv_out = dir.join("m.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--field", "radial", "--out", s(&out_new)],
            "cannot be learned",
        ),
        (vec!["--field", "pfgmpp", "--out", s(&out_new)], "--aug-dim"),
        (
            vec!["--field", "linear", "--aug-dim", "3", "--out", s(&out_new)],
            "used by field pfgmpp only",
        ),
        (
            vec!["--field", "linear", "--out", s(&csv_out)],
            ".safetensors",
        ),
        (
            vec![
                "--field",
                "linear",
                "--target",
                "fuzzy",
                "--out",
                s(&out_new),
            ],
            "unknown target",
        ),
        (
            vec!["--field", "linear", "--lr", "-1", "--out", s(&out_new)],
            "--lr",
        ),
        (
            vec![
                "--field",
                "linear",
                "--test-split",
                "1.5",
                "--out",
                s(&out_new),
            ],
            "test split",
        ),
        (
            vec!["--field", "linear", "--batch", "0", "--out", s(&out_new)],
            "at least 1",
        ),
        (
            vec![
                "--field",
                "linear",
                "--out",
                s(&out_new),
                "--loss",
                s(&data),
            ],
            "input",
        ),
    ];
    for (extra, needle) in cases {
        let out = run(&[&base[..], &extra[..]].concat());
        assert_fails(&out, needle);
        assert!(!out_new.exists(), "{extra:?} wrote a model");
    }
    // a test file of another dimension
    let d3 = dir.join("d3.csv");
    std::fs::write(&d3, "a,b,c\n1,2,3\n4,5,6\n").unwrap();
    let out = run(&[
        &base[..],
        &["--field", "linear", "--test", s(&d3), "--out", s(&out_new)],
    ]
    .concat());
    assert_fails(&out, "columns");
    // a model file that is not one
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"hello").unwrap();
    assert!(LearnedField::load(&bad).is_err());

    // sample --model: reproducible samples of the learned field; bad combinations fail
    let (g1, g2) = (dir.join("g1.csv"), dir.join("g2.csv"));
    let sample = [
        "sample",
        "--model",
        s(&m1),
        "--n",
        "50",
        "--seed",
        "3",
        "--method",
        "rk4",
        "--steps",
        "10",
    ];
    let out = ok(&run(&[&sample[..], &["--out", s(&g1)]].concat()));
    assert!(out.contains("learned pfgmpp"), "{out}");
    ok(&run(
        &[&sample[..], &["--out", s(&g2), "--denoise"]].concat()
    ));
    ok(&run(&[&sample[..], &["--out", s(&g2), "--force"]].concat()));
    let text = std::fs::read_to_string(&g1).unwrap();
    assert_eq!(text.lines().count(), 51);
    assert_eq!(text, std::fs::read_to_string(&g2).unwrap());
    let g3 = dir.join("g3.csv");
    assert_fails(
        &run(&[&sample[..], &["--out", s(&g3), "--field", "linear"]].concat()),
        "--field",
    );
    assert_fails(
        &run(&["sample", "--model", s(&bad), "--n", "5", "--out", s(&g3)]),
        "not a safetensors",
    );
    assert_fails(&run(&["sample", "--n", "5", "--out", s(&g3)]), "--field");
    assert!(!g3.exists());
    // the few-step samplers run on the learned field too: 2N - 1 evaluations
    let g4 = dir.join("g4.csv");
    let out = ok(&run(&[
        "sample",
        "--model",
        s(&m1),
        "--n",
        "20",
        "--method",
        "edm-heun",
        "--steps",
        "6",
        "--out",
        s(&g4),
    ]));
    assert!(out.contains("220 evaluations in total"), "{out}");
    assert_eq!(std::fs::read_to_string(&g4).unwrap().lines().count(), 21);
    // encode --model: codes and the log-likelihood through the network's divergence
    let codes = dir.join("codes.csv");
    let out = ok(&run(&[
        "encode",
        "--model",
        s(&m1),
        "--points",
        s(&g1),
        "--log-likelihood",
        "--out",
        s(&codes),
    ]));
    assert!(out.contains("log-likelihood"), "{out}");
    let text = std::fs::read_to_string(&codes).unwrap();
    assert_eq!(text.lines().next(), Some("x0,x1,log_p"));
    assert_eq!(text.lines().count(), 51);
    for line in text.lines().skip(1) {
        assert!(
            line.split(',')
                .all(|v| v.parse::<f64>().unwrap().is_finite()),
            "{line}"
        );
    }
    let c2 = dir.join("c2.csv");
    assert_fails(
        &run(&[
            "encode",
            "--model",
            s(&m1),
            "--points",
            s(&d3),
            "--out",
            s(&c2),
        ]),
        "columns",
    );
    assert!(!c2.exists());
}

/// Runs the binary with `args` in an environment without the thread variables of
/// rayon and candle, plus `env`.
fn run_threads_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fieldflow"));
    for name in [
        "RAYON_NUM_THREADS",
        "RAYON_RS_NUM_CPUS",
        "CANDLE_NUM_THREADS",
    ] {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .output()
        .expect("binary runs")
}

/// candle (the network library) sizes its work from the environment, not from rayon's
/// pool: `--threads N` must reach it, and `train` reports `N threads` only when
/// candle's product split and its elementwise pool both have N (else it names each
/// count). Without `--threads`, `RAYON_NUM_THREADS` sets all three. The network (2 x
/// 256, batch 256) is large enough for candle to split its products and to run
/// AdamW's update of the 256 x 256 weights on its elementwise pool, and the model file
/// and loss curve are the same bytes for 1, 2 and 3 threads.
#[test]
fn train_gives_candle_the_thread_count_and_the_same_bits_for_any_count() {
    let dir = tmpdir("train-threads");
    let data = dir.join("data.csv");
    ok(&run(&[
        "datasets",
        "moons",
        "--n",
        "400",
        "--seed",
        "1",
        "--out",
        s(&data),
    ]));
    let common = [
        "train",
        "--field",
        "gaussian",
        "--data",
        s(&data),
        "--steps",
        "20",
        "--batch",
        "256",
        "--hidden",
        "256",
        "--layers",
        "2",
        "--seed",
        "4",
    ];
    let mut files = Vec::new();
    for (threads, env, says) in [
        (Some("1"), vec![], "1 thread)"),
        (Some("3"), vec![], "3 threads)"),
        (Some("2"), vec![("CANDLE_NUM_THREADS", "1")], "2 threads)"),
        (None, vec![("RAYON_NUM_THREADS", "3")], "3 threads)"),
    ] {
        let tag = format!("{threads:?}-{env:?}");
        let (model, loss) = (dir.join("m.safetensors"), dir.join("loss.csv"));
        let mut args = common.to_vec();
        if let Some(t) = threads {
            args.extend(["--threads", t]);
        }
        args.extend(["--out", s(&model), "--loss", s(&loss), "--force"]);
        let out = ok(&run_threads_env(&args, &env));
        assert!(out.contains(says), "{tag}: {out}");
        files.push((
            tag,
            std::fs::read(&model).unwrap(),
            std::fs::read(&loss).unwrap(),
        ));
    }
    for (tag, model, loss) in &files[1..] {
        assert!(
            *model == files[0].1,
            "model of {tag} differs from one thread's"
        );
        assert!(
            *loss == files[0].2,
            "loss curve of {tag} differs from one thread's"
        );
    }
}
