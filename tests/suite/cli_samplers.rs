//! End-to-end: `fieldflow sample --method edm-heun|...` (bit for bit against the
//! library) and `fieldflow bench samplers` (table, JSON, overwrite policy, bad input).

use fieldflow::data::GaussianMixture;
use fieldflow::fields::{FieldKind, MarginalField, PriorKind, Source};
use fieldflow::samplers::{sample, Method, SamplerOptions};
use std::fs;

use crate::support::cli;
use cli::{assert_fails, bits, ok, run, s, tmpdir};

const MIX: [&str; 5] = [
    "--field",
    "gaussian",
    "--dataset",
    "8gaussians",
    "--mixture",
];

#[test]
fn sample_with_a_few_step_sampler_matches_the_library() {
    let dir = tmpdir("fewstep");
    let out = dir.join("g.npy");
    let stats = dir.join("st.json");
    let mut args: Vec<&str> = vec!["sample"];
    args.extend(MIX);
    args.extend([
        "--n",
        "150",
        "--seed",
        "4",
        "--method",
        "edm-heun",
        "--steps",
        "6",
        "--rho",
        "5",
        "--s-max",
        "30",
        "--s-min",
        "0.01",
        "--out",
        s(&out),
        "--stats",
        s(&stats),
    ]);
    let text = ok(&run(&args));
    assert!(text.contains("-> 0"), "{text}");
    let mf = MarginalField::new(
        FieldKind::Gaussian,
        Source::from_mixture(&GaussianMixture::eight_gaussians()).unwrap(),
    )
    .unwrap();
    let x0 = mf.sample_prior(30.0, 150, 4, PriorKind::FarField).unwrap();
    let want = sample(
        &mf,
        x0.view(),
        &SamplerOptions::new(Method::EdmHeun, 6, 30.0, 0.01).rho(5.0),
    )
    .unwrap();
    let got = fieldflow::io::read_points(&out).unwrap();
    assert_eq!(bits(&got), bits(&want.x));
    let js: serde_json::Value = serde_json::from_str(&fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(js["evaluations_per_particle"].as_f64(), Some(11.0));
    assert_eq!(js["settings"]["method"], "edm-heun");
    // refuses to overwrite
    assert_fails(&run(&args), "already exists");
}

#[test]
fn sample_with_a_few_step_sampler_rejects_bad_input() {
    let dir = tmpdir("fewstep-bad");
    let out = dir.join("g.csv");
    let base = |extra: &[&str]| {
        let mut a: Vec<String> = vec!["sample".into()];
        a.extend(MIX.iter().map(|v| v.to_string()));
        a.extend(
            ["--n", "10", "--out", s(&out)]
                .iter()
                .map(|v| v.to_string()),
        );
        a.extend(extra.iter().map(|v| v.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    assert_fails(&base(&["--method", "dpmpp-2m"]), "--steps");
    assert_fails(&base(&["--method", "dpmpp-2m", "--steps", "0"]), "steps");
    assert_fails(
        &base(&["--method", "edm-heun", "--steps", "4", "--rho", "0"]),
        "rho",
    );
    assert_fails(
        &base(&["--method", "edm-heun", "--steps", "4", "--rho", "nan"]),
        "rho",
    );
    assert_fails(
        &base(&["--method", "edm-heun", "--steps", "4", "--s-min", "50"]),
        "s_min",
    );
    assert_fails(
        &base(&["--method", "edm-heun", "--steps", "4", "--denoise"]),
        "denoise",
    );
    assert_fails(&base(&["--method", "dopri5", "--rho", "7"]), "--rho");
    assert!(!out.exists());
}

#[test]
fn bench_samplers_prints_the_table_and_writes_json() {
    let dir = tmpdir("bench");
    let js = dir.join("b.json");
    let mut args: Vec<&str> = vec!["bench", "samplers"];
    args.extend(MIX);
    args.extend([
        "--n",
        "40",
        "--s-max",
        "20",
        "--s-min",
        "0.01",
        "--samplers",
        "edm-heun,dpmpp-2m",
        "--steps",
        "4,16",
        "--adaptive",
        "dopri5",
        "--tols",
        "1e-5",
        "--permutations",
        "99",
        "--alpha",
        "0.2",
        "--json",
        s(&js),
    ]);
    let text = ok(&run(&args));
    assert!(
        text.contains("edm-heun") && text.contains("dopri5"),
        "{text}"
    );
    assert!(
        text.contains("fewest evaluations for RMS error <= 1e-2"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&js).unwrap()).unwrap();
    let rows = v["bench"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["evals"].as_f64(), Some(7.0));
    assert_eq!(rows[2]["evals"].as_f64(), Some(4.0));
    assert!(rows.iter().all(|r| r["w2"].as_f64().is_some()));
    assert!(rows.iter().all(|r| r["rejected"].as_bool().is_some()));
    // the adaptive solver at 1e-5 is close to the reference
    assert!(rows[4]["rms_error"].as_f64().unwrap() < 1e-3);
    let before = fs::read_to_string(&js).unwrap();
    assert_fails(&run(&args), "already exists");
    assert_eq!(fs::read_to_string(&js).unwrap(), before);
    let mut forced = args.clone();
    forced.push("--force");
    ok(&run(&forced));
}

#[test]
fn bench_samplers_rejects_bad_input() {
    let b = |extra: &[&str]| {
        let mut a: Vec<&str> = vec!["bench", "samplers"];
        a.extend(MIX);
        a.extend(["--n", "10", "--no-w2", "--no-checks"]);
        a.extend(extra);
        run(&a)
    };
    assert_fails(&b(&["--steps", "0"]), "steps");
    assert_fails(&b(&["--steps", "4,x"]), "--steps");
    assert_fails(&b(&["--samplers", "dpmpp-9m"]), "dpmpp-9m");
    assert_fails(&b(&["--adaptive", "rk4"]), "not adaptive");
    assert_fails(&b(&["--rho", "-1"]), "rho");
    assert_fails(&b(&["--s-max", "0.001", "--s-min", "0.01"]), "s_min");
    assert_fails(&b(&["--tols", "0"]), "tol");
    let lin = run(&[
        "bench",
        "samplers",
        "--field",
        "linear",
        "--dataset",
        "8gaussians",
        "--mixture",
        "--n",
        "10",
        "--s-max",
        "2",
        "--no-w2",
        "--no-checks",
    ]);
    assert_fails(&lin, "s");
}

#[test]
fn sample_with_a_few_step_sampler_from_a_file() {
    let dir = tmpdir("fewstep-from");
    let mf = MarginalField::new(
        FieldKind::Gaussian,
        Source::from_mixture(&GaussianMixture::eight_gaussians()).unwrap(),
    )
    .unwrap();
    let x0 = mf.sample_marginal(5.0, 70, 8).unwrap();
    let start = dir.join("start.npy");
    fieldflow::io::write_points(&start, x0.view(), false).unwrap();
    let out = dir.join("g.npy");
    let mut args: Vec<&str> = vec!["sample"];
    args.extend(MIX);
    args.extend([
        "--from",
        s(&start),
        "--s-start",
        "5",
        "--method",
        "dpmpp-3m",
        "--steps",
        "7",
        "--s-min",
        "0.01",
        "--out",
        s(&out),
    ]);
    ok(&run(&args));
    let want = sample(
        &mf,
        x0.view(),
        &SamplerOptions::new(Method::DpmPp3m, 7, 5.0, 0.01),
    )
    .unwrap();
    assert_eq!(
        bits(&fieldflow::io::read_points(&out).unwrap()),
        bits(&want.x)
    );
    let out2 = dir.join("h.npy");
    let mut bad: Vec<&str> = vec!["sample"];
    bad.extend(MIX);
    bad.extend([
        "--from",
        s(&start),
        "--s-start",
        "0.001",
        "--method",
        "edm-euler",
        "--steps",
        "3",
        "--s-min",
        "0.01",
        "--out",
        s(&out2),
    ]);
    assert_fails(&run(&bad), "--s-start");
    assert!(!out2.exists());
}
