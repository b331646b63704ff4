//! Property tests of the argument validation on the library side: random counts,
//! numbers, names, specs, weights and tolerances go through the parsers and
//! validators that the command line uses. Whatever the input, the answer is a value
//! or an `Error`, never a panic; and where a closed form exists (counts) the value is
//! exact. A few hundred cases per property, no files, no subprocesses.

use fieldflow::checks::battery::{OneSampleTarget, TwoSampleTest};
use fieldflow::checks::Battery;
use fieldflow::data::{Dataset, GaussianMixture};
use fieldflow::fields::{
    check_weights, FieldKind, FieldName, FieldParams, LinearPrior, PriorKind, Profile,
};
use fieldflow::limits::{array_len, parse_count};
use fieldflow::ode::{Method, SolverOptions};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that looks like a number, or nearly: digits, signs, dots, exponents,
/// underscores, letters.
fn numberish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,30}",
        "[+-]?[0-9]{0,4}(\\.[0-9]{0,4})?([eE][+-]?[0-9]{0,4})?",
        "[0-9_]{1,12}",
        "[-+0-9.eE_xa-f ]{0,16}",
        any::<String>(),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
    ]
}

/// A number for a float option: finite, huge, tiny, negative, NaN or infinite.
fn anyf64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -10.0f64..10.0,
        Just(0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "poisson",
            "pfgmpp",
            "gaussian",
            "linear",
            "radial",
            "power",
            "ks",
            "ad",
            "energy",
            "mmd",
            "sliced_w2",
            "w1",
            "ks2d",
            "tanh",
            "exp",
            "far",
            "exact",
            "dopri5",
            "rk4",
            "euler",
            "moons",
            "8gaussians",
            "mixture",
            "normal",
            "landing",
            "pfgm-prior",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9_+:,;=@~./-]{0,24}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn counts_never_panic_and_integers_are_exact(text in numberish(), n in any::<u64>()) {
        let _ = parse_count(&text);
        prop_assert_eq!(parse_count(&n.to_string()).unwrap(), n as usize);
        // a whole number in exponent form is read exactly where f64 holds it exactly
        let m = n % 1_000_000;
        prop_assert_eq!(parse_count(&format!("{m}e3")).unwrap(), m as usize * 1000);
        if n > 0 {
            let neg = format!("-{n}");
            prop_assert!(parse_count(&neg).is_err());
        }
    }

    #[test]
    fn array_sizes_never_wrap(dims in prop::collection::vec(any::<usize>(), 0..4)) {
        let exact = dims.iter().map(|&d| d as u128).product::<u128>();
        match array_len("a", &dims) {
            Ok(len) => prop_assert_eq!(len as u128, exact),
            Err(_) => prop_assert!(exact * 8 > isize::MAX as u128),
        }
    }

    #[test]
    fn names_and_specs_never_panic(text in name(), d in 0usize..5) {
        let _ = text.parse::<FieldName>();
        let _ = text.parse::<Profile>();
        let _ = text.parse::<PriorKind>();
        let _ = text.parse::<Method>();
        let _ = text.parse::<Dataset>();
        let _ = text.parse::<GaussianMixture>();
        let _ = text.parse::<FieldKind>();
        let _ = TwoSampleTest::from_name(&text);
        // landing specs name files; random names do not exist and are errors
        let _ = OneSampleTarget::parse(&text, d);
        for prefix in ["normal:", "gaussian:", "pfgm-prior:", "mixture:", "landing:/nonexistent/"] {
            let _ = OneSampleTarget::parse(&format!("{prefix}{text}"), d);
        }
    }

    #[test]
    fn field_parameters_never_panic(
        field in name(),
        aug in prop::option::of(anyf64()),
        power in prop::option::of(anyf64()),
        lo in anyf64(),
        hi in anyf64(),
        profile in prop::sample::select(vec![Profile::Tanh, Profile::Exp]),
        boxed in any::<bool>(),
    ) {
        let params = FieldParams {
            aug_dim: aug,
            power,
            profile,
            linear_prior: if boxed { LinearPrior::UniformBox { lo, hi } } else { LinearPrior::Normal },
        };
        if let Ok(kind) = FieldKind::from_name(&field, &params) {
            // a parameter is only ever accepted by the field that uses it
            let name: FieldName = field.parse().unwrap();
            prop_assert!(aug.is_none() || name == FieldName::Pfgmpp);
            prop_assert!(power.is_none() || name == FieldName::Power);
            prop_assert!(!boxed || name == FieldName::Linear);
            let _ = kind.to_string();
        }
    }

    #[test]
    fn tolerances_steps_and_levels_never_panic(
        rtol in anyf64(),
        atol in anyf64(),
        steps in prop::option::of(any::<usize>()),
        max_steps in any::<usize>(),
        alpha in anyf64(),
    ) {
        let mut o = SolverOptions::new(Method::Dopri5).rtol(rtol).atol(atol).max_steps(max_steps);
        if let Some(n) = steps {
            o = o.fixed_steps(n);
        }
        if o.validate().is_ok() {
            prop_assert!(steps.is_some_and(|n| n >= 1) || (rtol > 0.0 && atol > 0.0));
        }
        if let Ok(b) = Battery::new(alpha) {
            prop_assert!(b.alpha() > 0.0 && b.alpha() < 1.0);
        }
    }

    #[test]
    fn weights_follow_one_rule(w in prop::collection::vec(anyf64(), 0..6), extra in 0usize..2) {
        let ok = check_weights(&w, w.len()).is_ok();
        let want = !w.is_empty()
            && w.iter().all(|v| v.is_finite() && *v >= 0.0)
            && w.iter().any(|v| *v > 0.0);
        prop_assert_eq!(ok, want);
        if extra > 0 {
            prop_assert!(check_weights(&w, w.len() + extra).is_err());
        }
    }
}
