//! Structure and moments of the eight toy data sets against closed forms.
//!
//! Statistical checks use fixed seeds. A moment check compares a sample mean of
//! `N = 200_000` values with its exact expectation and fails beyond 5 standard errors
//! (standard error estimated from the same sample): false-failure rate about 6e-7 per
//! check for i.i.d. rows; for data sets with fixed component counts the rows are
//! stratified, which only makes the check more conservative. Chi-square checks fail
//! at p < 1e-4 (false-failure rate 1e-4 each). Roughly 60 checks in all: overall
//! false-failure rate below 1e-3 for a fresh seed, and the seeds are fixed.

use fieldflow::data::Dataset;
use fieldflow::Error;
use ndarray::Array2;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::f64::consts::PI;

const N: usize = 200_000;

/// Sample mean of `values` must be within 5 standard errors of `expected`.
fn check_mean(values: &[f64], expected: f64, what: &str) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se = (var / n).sqrt();
    assert!(
        (mean - expected).abs() <= 5.0 * se,
        "{what}: sample mean {mean} vs exact {expected} (standard error {se})"
    );
}

/// Checks E x, E y, E x^2, E y^2, E xy.
fn check_moments(p: &Array2<f64>, exact: [f64; 5], name: &str) {
    let x: Vec<f64> = p.column(0).to_vec();
    let y: Vec<f64> = p.column(1).to_vec();
    let f = |g: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        x.iter().zip(&y).map(|(&a, &b)| g(a, b)).collect()
    };
    check_mean(&x, exact[0], &format!("{name} E x"));
    check_mean(&y, exact[1], &format!("{name} E y"));
    check_mean(&f(&|a, _| a * a), exact[2], &format!("{name} E x^2"));
    check_mean(&f(&|_, b| b * b), exact[3], &format!("{name} E y^2"));
    check_mean(&f(&|a, b| a * b), exact[4], &format!("{name} E xy"));
}

/// Pearson chi-square p-value of observed counts against equal expected counts.
fn chi_square_uniform_p(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    let e = total as f64 / counts.len() as f64;
    let stat: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    let dist = ChiSquared::new((counts.len() - 1) as f64).unwrap();
    dist.sf(stat)
}

/// Composite Simpson rule of `f` on `[a, b]` with `m` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, m: usize) -> f64 {
    let h = (b - a) / m as f64;
    let mut s = f(a) + f(b);
    for i in 1..m {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        s += w * f(a + i as f64 * h);
    }
    s * h / 3.0
}

fn sample(set: Dataset, n: usize, seed: u64) -> Array2<f64> {
    set.sample(n, &mut fieldflow::rng::seeded(seed))
}

/// Uniformity of the polar angle (rotation-invariant data sets), 36 bins.
fn check_angle_uniform(p: &Array2<f64>, name: &str) {
    let mut counts = vec![0usize; 36];
    for r in p.rows() {
        let a = r[1].atan2(r[0]) + PI; // in [0, 2 pi]
        let b = ((a / (2.0 * PI) * 36.0) as usize).min(35);
        counts[b] += 1;
    }
    let pv = chi_square_uniform_p(&counts);
    assert!(pv > 1e-4, "{name}: polar angle not uniform, p = {pv}");
}

#[test]
fn names_parse_display_and_unknown() {
    for set in Dataset::ALL {
        let parsed: Dataset = set.to_string().parse().unwrap();
        assert_eq!(parsed, set);
        assert_eq!(set.dim(), 2);
    }
    let names: Vec<String> = Dataset::ALL.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        names,
        [
            "swissroll",
            "circles",
            "rings",
            "moons",
            "8gaussians",
            "pinwheel",
            "2spirals",
            "checkerboard"
        ]
    );
    let err = "spiral".parse::<Dataset>().unwrap_err();
    match &err {
        Error::UnknownName { kind, name, known } => {
            assert_eq!(*kind, "data set");
            assert_eq!(name, "spiral");
            assert!(known.contains("2spirals") && known.contains("checkerboard"));
        }
        other => panic!("wrong error {other:?}"),
    }
    assert!(err.to_string().contains("unknown data set 'spiral'"));
}

#[test]
fn shapes_seeds_and_counts() {
    for set in Dataset::ALL {
        assert_eq!(sample(set, 0, 1).dim(), (0, 2));
        let a = sample(set, 1001, 42);
        let b = sample(set, 1001, 42);
        let c = sample(set, 1001, 43);
        assert_eq!(a.dim(), (1001, 2));
        assert!(a.iter().all(|v| v.is_finite()), "{set}: non-finite value");
        let bits = |m: &Array2<f64>| m.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{set}: same seed, different output");
        assert_ne!(bits(&a), bits(&c), "{set}: different seeds, same output");
        assert_eq!(
            a,
            set.sample_seeded(1001, 42),
            "{set}: sample_seeded differs"
        );
        if let Some(counts) = set.component_counts(1001) {
            assert_eq!(counts.iter().sum::<usize>(), 1001);
        }
    }
    assert_eq!(Dataset::Rings.component_counts(10), Some(vec![2, 2, 3, 3]));
    assert_eq!(Dataset::Circles.component_counts(7), Some(vec![3, 4]));
    assert_eq!(
        Dataset::Pinwheel.component_counts(12),
        Some(vec![2, 2, 2, 3, 3])
    );
    assert_eq!(Dataset::Checkerboard.component_counts(12), None);
}

/// Pins the first row of each set for seed 2024 so that a change in the generators
/// (or in the random streams) cannot slip by unnoticed.
#[test]
fn value_stability() {
    let pinned: [(Dataset, [f64; 2]); 8] = [
        (
            Dataset::SwissRoll,
            [1.5341407349766143, 0.09206314737464982],
        ),
        (Dataset::Circles, [1.5499938182813686, -0.48757717178300836]),
        (Dataset::Rings, [0.7611413702702559, -0.21478576389899412]),
        (Dataset::Moons, [3.05820054690619, 0.44478149762789715]),
        (
            Dataset::EightGaussians,
            [-2.3393808572774213, 0.15538586530814127],
        ),
        (Dataset::Pinwheel, [2.867011644354076, 0.5843360728530472]),
        (
            Dataset::TwoSpirals,
            [-3.2205800016244996, -0.6749016181068482],
        ),
        (
            Dataset::Checkerboard,
            [-2.663846761450535, 1.3714332588342577],
        ),
    ];
    for (set, row) in pinned {
        let p = sample(set, 5, 2024);
        assert_eq!(p[[0, 0]].to_bits(), row[0].to_bits(), "{set} x");
        assert_eq!(p[[0, 1]].to_bits(), row[1].to_bits(), "{set} y");
    }
}

#[test]
fn swissroll_moments() {
    // t ~ U[a, b], a = 1.5 pi, b = 4.5 pi; point ((t cos t, t sin t) + z) / 5.
    // Closed forms (antiderivatives t sin t + cos t, -t cos t + sin t, ...):
    // E t cos t = 2, E t sin t = 2 / (3 pi), E t^2 = 9.75 pi^2,
    // E t^2 cos 2t = -1/2, E t^2 sin 2t = 3 pi.
    let (a, b) = (1.5 * PI, 4.5 * PI);
    let e = |f: &dyn Fn(f64) -> f64| simpson(f, a, b, 20_000) / (b - a);
    let tc = e(&|t| t * t.cos());
    let ts = e(&|t| t * t.sin());
    let t2 = e(&|t| t * t);
    let t2c2 = e(&|t| t * t * (2.0 * t).cos());
    let t2s2 = e(&|t| t * t * (2.0 * t).sin());
    assert!((tc - 2.0).abs() < 1e-12);
    assert!((ts - 2.0 / (3.0 * PI)).abs() < 1e-12);
    assert!((t2 - 9.75 * PI * PI).abs() < 1e-10);
    assert!((t2c2 + 0.5).abs() < 1e-10);
    assert!((t2s2 - 3.0 * PI).abs() < 1e-10);
    let exact = [
        tc / 5.0,
        ts / 5.0,
        ((t2 + t2c2) / 2.0 + 1.0) / 25.0,
        ((t2 - t2c2) / 2.0 + 1.0) / 25.0,
        t2s2 / 2.0 / 25.0,
    ];
    check_moments(&sample(Dataset::SwissRoll, N, 1), exact, "swissroll");
}

/// E |x|^2 and E |x|^4 of `R u + s z` (u uniform on the circle, z standard normal in
/// 2-D): `R^2 + 2 s^2` and `R^4 + 8 R^2 s^2 + 8 s^4`.
fn ring_moments(radii: &[f64], s: f64) -> (f64, f64) {
    let k = radii.len() as f64;
    let m2 = radii.iter().map(|r| r * r + 2.0 * s * s).sum::<f64>() / k;
    let m4 = radii
        .iter()
        .map(|r| r.powi(4) + 8.0 * r * r * s * s + 8.0 * s.powi(4))
        .sum::<f64>()
        / k;
    (m2, m4)
}

fn check_rotation_invariant(p: &Array2<f64>, radii: &[f64], s: f64, name: &str) {
    let (m2, m4) = ring_moments(radii, s);
    check_moments(p, [0.0, 0.0, m2 / 2.0, m2 / 2.0, 0.0], name);
    let r2: Vec<f64> = p
        .rows()
        .into_iter()
        .map(|r| r[0] * r[0] + r[1] * r[1])
        .collect();
    let r4: Vec<f64> = r2.iter().map(|v| v * v).collect();
    check_mean(&r4, m4, &format!("{name} E |x|^4"));
    check_angle_uniform(p, name);
}

#[test]
fn circles_moments_and_angles() {
    // Radii 3 and 1.5, noise 0.08 * 3; N even so both circles get N/2 points.
    let p = sample(Dataset::Circles, N, 2);
    check_rotation_invariant(&p, &[3.0, 1.5], 0.24, "circles");
}

#[test]
fn rings_moments_angles_and_counts() {
    let p = sample(Dataset::Rings, N, 3);
    check_rotation_invariant(&p, &[3.0, 2.25, 1.5, 0.75], 0.08, "rings");
    // Nearest ring: the radial noise must exceed 0.375 = 4.69 sigma to mislabel a
    // point (probability 2.8e-6 each); with n = 10_003 the expected number of
    // mislabelled points is 0.03 and more than 2 happen with probability < 1e-5.
    let n = 10_003;
    let p = sample(Dataset::Rings, n, 4);
    let mut counts = [0usize; 4];
    for r in p.rows() {
        let rad = r[0].hypot(r[1]);
        let k = [3.0, 2.25, 1.5, 0.75]
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - rad).abs().total_cmp(&(b.1 - rad).abs()))
            .unwrap()
            .0;
        counts[k] += 1;
    }
    let expected = Dataset::Rings.component_counts(n).unwrap();
    assert_eq!(expected, vec![2500, 2501, 2501, 2501]);
    for (c, e) in counts.iter().zip(&expected) {
        assert!(
            c.abs_diff(*e) <= 2,
            "rings counts {counts:?} vs {expected:?}"
        );
    }
}

#[test]
fn moons_moments_and_arcs() {
    // Before the affine map (x 2 + (-1, -0.2)), with t ~ U[0, pi], half the points on
    // each moon and noise 0.1: E x = 1/2, E y = 1/4, E x^2 = 1 + 0.01,
    // E y^2 = 5/8 - 1/pi + 0.01, E xy = 1/4 - 1/pi.
    let (mx, my) = (0.5, 0.25);
    let (mxx, myy, mxy) = (1.01, 0.625 - 1.0 / PI + 0.01, 0.25 - 1.0 / PI);
    let exact = [
        2.0 * mx - 1.0,
        2.0 * my - 0.2,
        4.0 * mxx - 4.0 * mx + 1.0,
        4.0 * myy - 0.8 * my + 0.04,
        4.0 * mxy - 0.4 * mx - 2.0 * my + 0.2,
    ];
    let p = sample(Dataset::Moons, N, 5);
    check_moments(&p, exact, "moons");
    // Every point lies within 7 noise standard deviations (0.7 before scaling) of one
    // of the two arcs: P(|z| > 7) = exp(-24.5) = 2.3e-11 per point for the 2-D noise.
    let arc_dist = |x: f64, y: f64| -> f64 {
        // Distance to the upper half of the unit circle.
        if y >= 0.0 {
            (x.hypot(y) - 1.0).abs()
        } else {
            (x - 1.0).hypot(y).min((x + 1.0).hypot(y))
        }
    };
    for r in p.rows() {
        let (x, y) = ((r[0] + 1.0) / 2.0, (r[1] + 0.2) / 2.0);
        let d = arc_dist(x, y).min(arc_dist(1.0 - x, 0.5 - y));
        assert!(
            d < 0.7,
            "moons point ({}, {}) far from both arcs",
            r[0],
            r[1]
        );
    }
}

#[test]
fn eight_gaussians_moments() {
    // Centres at radius 4 with E u_x^2 = E u_y^2 = 1/2 and E u_x u_y = 0, noise 0.5,
    // all / 1.414.
    let v = (16.0 * 0.5 + 0.25) / (1.414 * 1.414);
    let p = sample(Dataset::EightGaussians, N, 6);
    check_moments(&p, [0.0, 0.0, v, v, 0.0], "8gaussians");
    // Each point is near one of the 8 centres: the nearest-centre sector counts are
    // uniform.
    let mut counts = vec![0usize; 8];
    for r in p.rows() {
        let a = r[1].atan2(r[0]).rem_euclid(2.0 * PI);
        counts[((a / (PI / 4.0) + 0.5) as usize) % 8] += 1;
    }
    let pv = chi_square_uniform_p(&counts);
    assert!(pv > 1e-4, "8gaussians sectors {counts:?}, p = {pv}");
}

#[test]
fn pinwheel_moments_and_twist() {
    // |x|^2 = 4 (r^2 + t^2), r ~ N(1, 0.09), t ~ N(0, 0.01):
    // E |x|^2 = 4 * 1.1 = 4.4; E |x|^4 = 16 (E r^4 + 2 E r^2 E t^2 + E t^4)
    // = 16 (1.5643 + 0.0218 + 0.0003) = 25.3824. Five-fold symmetry with N a multiple of
    // 5 makes the mean 0 and the covariance 2.2 I.
    let p = sample(Dataset::Pinwheel, N, 7);
    check_moments(&p, [0.0, 0.0, 2.2, 2.2, 0.0], "pinwheel");
    let r4: Vec<f64> = p
        .rows()
        .into_iter()
        .map(|r| (r[0] * r[0] + r[1] * r[1]).powi(2))
        .collect();
    check_mean(&r4, 25.3824, "pinwheel E |x|^4");
    // The twist: with polar angle phi, E exp(5 i phi) is the same for every arm and
    // equals the integral over (r, t) of exp(i (-5 a_0 + 5 atan2(t, r))) with
    // a_0 = 0.25 e^r (the point is 2 R(-a) (r, t)). Reference by the trapezoid rule on
    // [-9, 9]^2 in standard-normal coordinates (spectrally accurate here).
    let m = 600;
    let h = 18.0 / m as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for i in 0..=m {
        let zr = -9.0 + i as f64 * h;
        for j in 0..=m {
            let zt = -9.0 + j as f64 * h;
            let w = (-0.5 * (zr * zr + zt * zt)).exp() / (2.0 * PI) * h * h;
            let (r, t) = (1.0 + 0.3 * zr, 0.1 * zt);
            let ang = -5.0 * 0.25 * r.exp() + 5.0 * t.atan2(r);
            re += w * ang.cos();
            im += w * ang.sin();
        }
    }
    assert!(
        re.abs() > 0.05 && im.abs() > 0.05,
        "weak reference {re} {im}"
    );
    let phi: Vec<f64> = p.rows().into_iter().map(|r| r[1].atan2(r[0])).collect();
    let c: Vec<f64> = phi.iter().map(|a| (5.0 * a).cos()).collect();
    let s: Vec<f64> = phi.iter().map(|a| (5.0 * a).sin()).collect();
    check_mean(&c, re, "pinwheel E cos 5 phi");
    check_mean(&s, im, "pinwheel E sin 5 phi");
}

#[test]
fn two_spirals_moments() {
    // theta has density 2 s / (3 pi)^2 on [0, 3 pi]; u_x, u_y ~ U[0, 0.5) with mean 1/4
    // and second moment 1/12. Closed forms: E theta cos theta = -4 / (3 pi),
    // E theta sin theta = 2 (9 pi^2 - 4) / (9 pi^2).
    let b = 3.0 * PI;
    let e = |f: &dyn Fn(f64) -> f64| simpson(|s| f(s) * 2.0 * s / (b * b), 0.0, b, 20_000);
    let tc = e(&|s| s * s.cos());
    let ts = e(&|s| s * s.sin());
    assert!((tc + 4.0 / (3.0 * PI)).abs() < 1e-12);
    assert!((ts - 2.0 * (9.0 * PI * PI - 4.0) / (9.0 * PI * PI)).abs() < 1e-12);
    let t2cc = e(&|s| (s * s.cos()).powi(2));
    let t2ss = e(&|s| (s * s.sin()).powi(2));
    let t2sc = e(&|s| s * s * s.sin() * s.cos());
    let axx = t2cc - 0.5 * tc + 1.0 / 12.0;
    let ayy = t2ss + 0.5 * ts + 1.0 / 12.0;
    let axy = -t2sc - 0.25 * tc + 0.25 * ts + 1.0 / 16.0;
    let exact = [0.0, 0.0, axx / 9.0 + 0.01, ayy / 9.0 + 0.01, axy / 9.0];
    check_moments(&sample(Dataset::TwoSpirals, N, 8), exact, "2spirals");
}

#[test]
fn checkerboard_cells() {
    // Support: the 2 x 2 cells (i, j) of [-4, 4)^2 with i + j even. Density 1/32:
    // each of the 8 cells split into 4 x 4 sub-cells gives 128 equally likely bins.
    let p = sample(Dataset::Checkerboard, N, 9);
    let mut counts = vec![0usize; 128];
    let mut cell_of = std::collections::HashMap::new();
    for r in p.rows() {
        let (x, y) = (r[0], r[1]);
        assert!((-4.0..4.0).contains(&x) && (-4.0..4.0).contains(&y));
        let (i, j) = (((x + 4.0) / 2.0) as usize, ((y + 4.0) / 2.0) as usize);
        assert_eq!((i + j) % 2, 0, "point ({x}, {y}) in an empty cell");
        let n_cells = cell_of.len();
        let cell = *cell_of.entry((i, j)).or_insert(n_cells);
        let (si, sj) = (
            (((x + 4.0) / 0.5) as usize) % 4,
            (((y + 4.0) / 0.5) as usize) % 4,
        );
        counts[cell * 16 + si * 4 + sj] += 1;
    }
    assert_eq!(cell_of.len(), 8);
    let pv = chi_square_uniform_p(&counts);
    assert!(pv > 1e-4, "checkerboard not uniform on its cells, p = {pv}");
}
