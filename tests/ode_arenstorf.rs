//! Arenstorf orbit with DOPRI5 against Hairer's dopri5.f (REFERENCES.md section 3).

use fieldflow::ode::problems::{Arenstorf, Problem};
use fieldflow::ode::{solve, Method, SolverOptions};

/// dopri5.f, rtol = atol = 1e-7, h0 = 1e-4, to the period.
const HAIRER_FINAL: [f64; 4] = [
    0.994_002_170_403_066_3,
    9.040_891_036_151_961e-6,
    1.459_758_305_600_828e-3,
    -2.001_245_515_834_718,
];
const HAIRER_T1: [f64; 4] = [
    0.313_283_842_932_497_8,
    0.348_009_115_521_037_4,
    -1.042_618_215_839_56,
    0.673_383_924_838_457_5,
];

#[test]
fn dopri5_reproduces_hairer_state_and_step_counts() {
    let p = Arenstorf;
    let opts = SolverOptions::new(Method::Dopri5).tol(1e-7).h0(1e-4);
    let sol = solve(&p, p.t0(), p.t1(), &p.y0(), &opts, &[1.0]).unwrap();
    let st = sol.stats;
    println!("Arenstorf DOPRI5: y(T) = {:?}, stats {st:?}", sol.y);
    for (a, b) in sol.y.iter().zip(HAIRER_FINAL) {
        assert!((a - b).abs() < 1e-10, "final state {a} vs dopri5.f {b}");
    }
    assert_eq!(st.steps, 238);
    assert_eq!(st.accepted, 217);
    assert_eq!(st.rejected, 21);
    assert_eq!(st.evals, 1 + 6 * 238);
    assert!(st.status.is_success());
    for (m, b) in HAIRER_T1.iter().enumerate() {
        let a = sol.dense[[0, m]];
        assert!((a - b).abs() < 1e-6, "dense y(1)[{m}] = {a} vs {b}");
    }
}
