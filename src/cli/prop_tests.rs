//! Property tests of the command line's parsing and validation: random command
//! lines built from the real flags, with random counts, numbers and names, go
//! through `Cli::try_parse_from` and then the checks that run before any work
//! (field flags, solver settings, thread count, count limits). Whatever the input,
//! the result is a parsed command or a one-line usage error, never a panic. A few
//! hundred cases, no subprocesses, no files.

use super::{check_threads, usage_error_line, Cli, Command};
use clap::Parser;
use proptest::prelude::*;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,25}",
        "[+-]?[0-9]{0,4}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{0,4})?",
        prop::sample::select(vec![
            "poisson",
            "pfgmpp",
            "gaussian",
            "linear",
            "radial",
            "power",
            "ks,ks",
            "ks,energy",
            "tanh",
            "exp",
            "far",
            "exact",
            "dopri5",
            "rk4",
            "euler",
            "moons",
            "-1:1",
            "0:1",
            "normal:0,1",
            "mixture:8gaussians",
            "18446744073709551615",
            "1e400",
            "NaN",
            "",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9_:,.=@~/-]{0,16}",
    ]
}

fn flag() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "--n",
        "--levels",
        "--data-n",
        "--permutations",
        "--steps",
        "--threads",
        "--field",
        "--aug-dim",
        "--power",
        "--profile",
        "--box",
        "--rtol",
        "--atol",
        "--s-max",
        "--s-min",
        "--s",
        "--s-start",
        "--alpha",
        "--tests",
        "--seed",
        "--method",
        "--prior",
        "--target",
        "--bandwidths",
        "--unconverged-factor",
        "--dataset",
        "--mixture",
        "--quick",
        "--force",
        "--allow-failures",
        "--quiet",
        "--bogus",
    ])
}

fn command_line() -> impl Strategy<Value = Vec<String>> {
    let sub = prop::sample::select(vec![
        "sample", "marginal", "encode", "check", "datasets", "demo", "plot", "figures", "nope",
    ]);
    let pairs = prop::collection::vec((flag(), value()), 0..8);
    (sub, pairs).prop_map(|(sub, pairs)| {
        let mut argv = vec!["fieldflow".to_string(), sub.to_string()];
        if sub == "datasets" || sub == "plot" {
            argv.push("moons".into());
        }
        // the required options, so that many lines parse
        for o in [
            "--out",
            "o.csv",
            "--data",
            "d.csv",
            "--points",
            "p.csv",
            "--samples",
            "s.csv",
        ] {
            argv.push(o.to_string());
        }
        for (f, v) in pairs {
            argv.push(f.to_string());
            argv.push(v);
        }
        argv
    })
}

/// The checks that run before any work, for a parsed command line.
fn validate(cli: &Cli) {
    if let Some(n) = cli.threads {
        let _ = check_threads(n);
    }
    match &cli.command {
        Command::Sample(a) => {
            let _ = a.field.kind();
            let _ = a.solver.check();
        }
        Command::Encode(a) => {
            let _ = a.field.kind();
            let _ = a.solver.check();
        }
        Command::Marginal(a) => {
            let _ = a.field.kind();
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_command_lines_never_panic(argv in command_line()) {
        match Cli::try_parse_from(&argv) {
            Ok(cli) => validate(&cli),
            Err(e) => {
                let line = usage_error_line(&e);
                prop_assert!(line.starts_with("fieldflow: error:"));
                prop_assert!(!line.contains('\n'), "{}", line);
            }
        }
    }

    #[test]
    fn counts_parse_exactly_or_fail_as_usage_errors(n in any::<u64>(), text in value()) {
        let argv = ["fieldflow", "datasets", "moons", "--out", "o.csv", "--n"];
        let cli = Cli::try_parse_from(argv.iter().copied().chain([n.to_string().as_str()]));
        match cli.map(|c| c.command) {
            Ok(Command::Datasets(a)) => prop_assert_eq!(a.n.map(|v| v as u64), Some(n)),
            other => prop_assert!(false, "{:?}", other.err()),
        }
        if let Err(e) = Cli::try_parse_from(argv.iter().copied().chain([text.as_str()])) {
            prop_assert!(!usage_error_line(&e).contains('\n'));
        }
    }
}
