//! Property tests of the point readers: random bytes, random CSV-like text and random
//! `.npy` headers never panic (the reader returns points or a clean error), and random
//! arrays round-trip bit for bit through writing and reading, for every element type
//! the `.npy` reader converts. A few hundred cases each (fixed by proptest's default
//! deterministic seed per run; failures are shrunk and reported).

use fieldflow::io::{load_points, read_points, write_points};
use ndarray::Array2;
use proptest::prelude::*;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh file name with extension `ext` in this process's folder.
fn file(ext: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldflow-proptest-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.{ext}", COUNTER.fetch_add(1, Ordering::Relaxed)))
}

/// Reads `bytes` saved as `.ext`: any outcome but a panic is fine; points that come
/// back are non-empty and finite.
fn read_back(bytes: &[u8], ext: &str) -> Result<(), TestCaseError> {
    let f = file(ext);
    fs::write(&f, bytes).unwrap();
    let got = load_points(&f);
    let _ = fs::remove_file(&f);
    if let Ok(l) = got {
        prop_assert!(l.points.nrows() >= 1 && l.points.ncols() >= 1);
        prop_assert!(l.points.iter().all(|v| v.is_finite()));
    }
    Ok(())
}

/// A version-1.0 `.npy` file with the header text `dict` (padded) and `data`.
fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = dict.to_string();
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

fn shape_text(shape: &[usize]) -> String {
    match shape.len() {
        0 => "()".into(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// CSV-like text: lines of fields drawn from numbers, blanks, words and specials.
fn csv_like() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        any::<f64>().prop_map(|v| format!("{v}")),
        (-1000i64..1000).prop_map(|v| v.to_string()),
        Just(String::new()),
        Just(" ".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("x0".to_string()),
        Just("1e400".to_string()),
        Just("\u{feff}".to_string()),
        "[a-z0-9.+-]{0,6}",
    ];
    let line = prop::collection::vec(field, 0..5).prop_map(|f| f.join(","));
    prop::collection::vec(line, 0..8).prop_map(|l| l.join("\n"))
}

/// A finite `f64` from arbitrary bits (NaN and infinities mapped to finite values).
fn finite() -> impl Strategy<Value = f64> + Clone {
    any::<u64>().prop_map(|b| {
        let v = f64::from_bits(b);
        if v.is_finite() {
            v
        } else {
            (b % 1000) as f64 - 500.0
        }
    })
}

fn array(values: impl Strategy<Value = f64> + Clone) -> impl Strategy<Value = Array2<f64>> {
    (1usize..12, 1usize..5).prop_flat_map(move |(n, d)| {
        prop::collection::vec(values.clone(), n * d)
            .prop_map(move |v| Array2::from_shape_vec((n, d), v).unwrap())
    })
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), ext in prop::sample::select(vec!["csv", "npy", "npz"])) {
        read_back(&bytes, ext)?;
        // and the same bytes behind a valid npy magic
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&bytes);
        read_back(&npy, "npy")?;
    }

    #[test]
    fn random_csv_text_never_panics(text in csv_like()) {
        read_back(text.as_bytes(), "csv")?;
    }

    #[test]
    fn random_npy_headers_never_panic(
        descr in prop::sample::select(vec!["<f8", ">f8", "<f4", ">f2", "|i1", "<i8", ">u8", "|u1", "|b1", "<c16", "<U3", "f8", "=f4", "<f16", "", "<x4"]),
        fortran in prop::sample::select(vec!["True", "False", "1", "None"]),
        shape in prop::collection::vec(prop_oneof![0usize..5, Just(usize::MAX), Just(1usize << 40)], 0..4),
        data in prop::collection::vec(any::<u8>(), 0..200),
        extra_key in any::<bool>(),
    ) {
        let extra = if extra_key { "'x': 1, " } else { "" };
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {fortran}, {extra}'shape': {}, }}",
            shape_text(&shape)
        );
        read_back(&npy_with_header(&dict, &data), "npy")?;
    }

    #[test]
    fn points_round_trip_bit_exactly(x in array(finite()), npy in any::<bool>()) {
        let f = file(if npy { "npy" } else { "csv" });
        write_points(&f, x.view(), false).unwrap();
        let back = read_points(&f).unwrap();
        let _ = fs::remove_file(&f);
        prop_assert_eq!(bits(&back), bits(&x));
    }

    #[test]
    fn every_npy_type_round_trips_exactly(
        x in array(any::<i64>().prop_map(|v| v as f64)),
        kind in 0usize..11,
        big in any::<bool>(),
        fortran in any::<bool>(),
    ) {
        // each value squeezed into the type, then encoded; reading gives it back as
        // f64 exactly
        type Enc = fn(f64, bool) -> (f64, Vec<u8>);
        fn e<const N: usize>(v: [u8; N], w: [u8; N], big: bool) -> Vec<u8> {
            if big { w.to_vec() } else { v.to_vec() }
        }
        let types: [(&str, Enc); 11] = [
            ("f8", |v, b| (v, e(v.to_le_bytes(), v.to_be_bytes(), b))),
            ("f4", |v, b| { let t = (v * 1e-10) as f32; (f64::from(t), e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("f2", |v, b| { let t = half::f16::from_f64(v * 1e-17); (t.to_f64(), e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("i1", |v, _| { let t = v as i64 as i8; (f64::from(t), vec![t as u8]) }),
            ("i2", |v, b| { let t = v as i64 as i16; (f64::from(t), e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("i4", |v, b| { let t = v as i64 as i32; (f64::from(t), e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("i8", |v, b| { let t = (v as i64) >> 11; (t as f64, e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("u1", |v, _| { let t = v as i64 as u8; (f64::from(t), vec![t]) }),
            ("u2", |v, b| { let t = v as i64 as u16; (f64::from(t), e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("u4", |v, b| { let t = v as i64 as u32; (f64::from(t), e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
            ("u8", |v, b| { let t = (v as i64 as u64) >> 11; (t as f64, e(t.to_le_bytes(), t.to_be_bytes(), b)) }),
        ];
        let (code, enc) = types[kind];
        let order = if code.ends_with('1') { '|' } else if big { '>' } else { '<' };
        let mut expected = x.clone();
        let mut data = Vec::new();
        let elements: Vec<(usize, usize)> = if fortran {
            (0..x.ncols()).flat_map(|j| (0..x.nrows()).map(move |i| (i, j))).collect()
        } else {
            (0..x.nrows()).flat_map(|i| (0..x.ncols()).map(move |j| (i, j))).collect()
        };
        for (i, j) in elements {
            let (v, bytes) = enc(x[[i, j]], big);
            expected[[i, j]] = v;
            data.extend(bytes);
        }
        prop_assume!(expected.iter().all(|v| v.is_finite()));
        let dict = format!(
            "{{'descr': '{order}{code}', 'fortran_order': {}, 'shape': {}, }}",
            if fortran { "True" } else { "False" },
            shape_text(&[x.nrows(), x.ncols()])
        );
        let f = file("npy");
        fs::write(&f, npy_with_header(&dict, &data)).unwrap();
        let back = read_points(&f);
        let _ = fs::remove_file(&f);
        prop_assert_eq!(bits(&back.unwrap()), bits(&expected), "{}", dict);
    }
}
