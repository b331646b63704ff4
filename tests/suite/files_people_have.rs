//! The files people have: `.npy` of float32 (what PyTorch and JAX export), float16 and
//! integers in either byte order and memory order, `.npz` archives, `-` for standard
//! input and output, and a pandas `to_csv()` file. Each is read exactly, with a note on
//! stderr saying what was converted; end to end through the binary, and bit for bit
//! through the library.

use fieldflow::io::load_points;
use ndarray::{array, Array2};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::cli;
use cli::{assert_fails, bits, ok, run, s, tmpdir};

/// A version-1.0 `.npy` file: magic, header dict padded to a multiple of 64 bytes,
/// then `data`.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let order = if fortran { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_txt}, }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The 2 x 3 values of every fixture, as f64, and their element order in the file.
fn ordered(values: &Array2<f64>, fortran: bool) -> Vec<f64> {
    if fortran {
        values.t().iter().copied().collect()
    } else {
        values.iter().copied().collect()
    }
}

/// `values` encoded with `encode` (one value to its bytes) in C or Fortran order.
fn encoded(values: &Array2<f64>, fortran: bool, encode: impl Fn(f64) -> Vec<u8>) -> Vec<u8> {
    ordered(values, fortran)
        .into_iter()
        .flat_map(encode)
        .collect()
}

/// Every supported element type: (descr, dtype name, values, encoder).
#[allow(clippy::type_complexity)]
fn cases() -> Vec<(
    &'static str,
    &'static str,
    Array2<f64>,
    Box<dyn Fn(f64) -> Vec<u8>>,
)> {
    // values exactly representable in each type (0.1f32 is not 0.1: it must come back
    // as f64::from(0.1f32), not as 0.1)
    let f32v = array![
        [f64::from(0.1f32), -1.25, 3.0],
        [1e30f32 as f64, 2f64.powi(-140), -0.0]
    ];
    let f16v = array![[0.5, -1.25, 3.0], [65504.0, 2f64.powi(-24), -0.0]];
    let i8v = array![[0.0, -3.0, 7.0], [120.0, 5.0, -128.0]];
    let u8v = array![[0.0, 3.0, 7.0], [120.0, 5.0, 255.0]];
    let i64v = array![
        [0.0, -3.0, 9007199254740992.0],
        [-9007199254740994.0, 5.0, 1e18]
    ];
    let u64v = array![
        [0.0, 3.0, 9007199254740992.0],
        [18446744073709549568.0, 5.0, 1e18]
    ];
    let f16 = |v: f64| half::f16::from_f64(v);
    vec![
        (
            "<f8",
            "float64",
            f32v.clone(),
            Box::new(|v: f64| v.to_le_bytes().to_vec()),
        ),
        (
            ">f8",
            "float64",
            f32v.clone(),
            Box::new(|v: f64| v.to_be_bytes().to_vec()),
        ),
        (
            "<f4",
            "float32",
            f32v.clone(),
            Box::new(|v: f64| (v as f32).to_le_bytes().to_vec()),
        ),
        (
            ">f4",
            "float32",
            f32v,
            Box::new(|v: f64| (v as f32).to_be_bytes().to_vec()),
        ),
        (
            "<f2",
            "float16",
            f16v.clone(),
            Box::new(move |v| f16(v).to_le_bytes().to_vec()),
        ),
        (
            ">f2",
            "float16",
            f16v,
            Box::new(move |v| f16(v).to_be_bytes().to_vec()),
        ),
        (
            "|i1",
            "int8",
            i8v.clone(),
            Box::new(|v: f64| (v as i8).to_le_bytes().to_vec()),
        ),
        (
            "<i2",
            "int16",
            i8v.clone(),
            Box::new(|v: f64| (v as i16).to_le_bytes().to_vec()),
        ),
        (
            ">i4",
            "int32",
            i8v,
            Box::new(|v: f64| (v as i32).to_be_bytes().to_vec()),
        ),
        (
            "<i8",
            "int64",
            i64v.clone(),
            Box::new(|v: f64| (v as i64).to_le_bytes().to_vec()),
        ),
        (
            ">i8",
            "int64",
            i64v,
            Box::new(|v: f64| (v as i64).to_be_bytes().to_vec()),
        ),
        (
            "|u1",
            "uint8",
            u8v.clone(),
            Box::new(|v: f64| (v as u8).to_le_bytes().to_vec()),
        ),
        (
            ">u2",
            "uint16",
            u8v.clone(),
            Box::new(|v: f64| (v as u16).to_be_bytes().to_vec()),
        ),
        (
            "<u4",
            "uint32",
            u8v,
            Box::new(|v: f64| (v as u32).to_le_bytes().to_vec()),
        ),
        (
            "<u8",
            "uint64",
            u64v,
            Box::new(|v: f64| (v as u64).to_le_bytes().to_vec()),
        ),
    ]
}

/// Shortest round-trip CSV of `x` (header x0,x1,...).
fn csv(x: &Array2<f64>) -> String {
    let mut out: Vec<String> = vec![(0..x.ncols())
        .map(|j| format!("x{j}"))
        .collect::<Vec<_>>()
        .join(",")];
    for r in x.rows() {
        out.push(
            r.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    out.join("\n") + "\n"
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the binary with `stdin` as standard input.
fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldflow"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut pipe = child.stdin.take().unwrap();
    // a refused run may close its standard input early: ignore the broken pipe
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().unwrap()
}

#[test]
fn every_real_npy_type_is_read_exactly_in_both_orders() {
    let dir = tmpdir("npy-types");
    for (descr, dtype, values, encode) in cases() {
        for fortran in [false, true] {
            let f = dir.join("a.npy");
            fs::write(
                &f,
                npy(descr, fortran, &[2, 3], &encoded(&values, fortran, &encode)),
            )
            .unwrap();
            let got = load_points(&f).unwrap_or_else(|e| panic!("{descr} {fortran}: {e}"));
            assert_eq!(
                bits(&got.points),
                bits(&values),
                "{descr} fortran={fortran}"
            );
            assert_eq!(got.dtype, Some(dtype));
            if dtype == "float64" {
                assert!(got.notes.is_empty(), "{:?}", got.notes);
            } else {
                assert_eq!(
                    got.notes,
                    [format!("read {dtype} {} as float64", f.display())]
                );
            }
        }
    }
}

#[test]
fn the_cli_reads_float32_float16_and_integer_npy_and_says_so() {
    let dir = tmpdir("npy-cli");
    for (descr, dtype, values, encode) in cases() {
        let f = dir.join("samples.npy");
        fs::write(
            &f,
            npy(
                descr,
                descr.starts_with('>'),
                &[2, 3],
                &encoded(&values, descr.starts_with('>'), &encode),
            ),
        )
        .unwrap();
        let reference = dir.join("reference.csv");
        fs::write(&reference, csv(&values)).unwrap();
        // the same values on both sides: every KS distance is exactly 0
        let out = run(&[
            "check",
            "--samples",
            s(&f),
            "--reference",
            s(&reference),
            "--tests",
            "ks",
        ]);
        let text = ok(&out);
        assert!(
            text.contains("ks                     0.000000"),
            "{descr}: {text}"
        );
        let note = format!("note: read {dtype} {} as float64", f.display());
        if dtype == "float64" {
            assert!(stderr(&out).is_empty(), "{}", stderr(&out));
        } else {
            assert_eq!(stderr(&out).trim_end(), note, "{descr}");
        }
        // --quiet silences the note
        let out = run(&[
            "check",
            "--quiet",
            "--samples",
            s(&f),
            "--reference",
            s(&reference),
            "--tests",
            "ks",
        ]);
        ok(&out);
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
}

#[test]
fn integers_that_float64_cannot_hold_are_refused() {
    let dir = tmpdir("npy-bigint");
    let f = dir.join("big.npy");
    let reference = dir.join("r.csv");
    fs::write(&reference, "0\n1\n").unwrap();
    // 2^53 + 1 has no float64; 2^53 + 2 has one
    fs::write(
        &f,
        npy(
            "<i8",
            false,
            &[2],
            &[0i64.to_le_bytes(), (2i64.pow(53) + 1).to_le_bytes()].concat(),
        ),
    )
    .unwrap();
    let out = run(&[
        "check",
        "--samples",
        s(&f),
        "--reference",
        s(&reference),
        "--tests",
        "ks",
    ]);
    assert_fails(
        &out,
        "integer 9007199254740993 at flat index 1 cannot be represented exactly as float64",
    );
    fs::write(
        &f,
        npy(
            "<u8",
            false,
            &[2],
            &[0u64.to_le_bytes(), u64::MAX.to_le_bytes()].concat(),
        ),
    )
    .unwrap();
    assert_fails(
        &run(&["check", "--samples", s(&f), "--reference", s(&reference)]),
        "integer 18446744073709551615",
    );
    fs::write(
        &f,
        npy(
            "<i8",
            false,
            &[2],
            &[0i64.to_le_bytes(), (2i64.pow(53) + 2).to_le_bytes()].concat(),
        ),
    )
    .unwrap();
    assert_eq!(
        load_points(&f).unwrap().points,
        array![[0.0], [9007199254740994.0]]
    );
    // other element types are named in the refusal
    fs::write(&f, npy("<c16", false, &[1], &[0u8; 16])).unwrap();
    assert_fails(
        &run(&["check", "--samples", s(&f), "--reference", s(&reference)]),
        "unsupported element type '<c16'",
    );
    // a header that announces more data than the file holds
    fs::write(&f, npy("<f4", false, &[1000, 1000], &[0u8; 8])).unwrap();
    assert_fails(
        &run(&["check", "--samples", s(&f), "--reference", s(&reference)]),
        "the header announces shape [1000, 1000]",
    );
}

/// A zip archive of `.npy` members (what `np.savez` / `np.savez_compressed` write).
fn npz(path: &Path, members: &[(&str, Vec<u8>)], deflate: bool) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn npz_archives_by_name_or_their_only_array() {
    let dir = tmpdir("npz");
    let a = array![[1.0, 2.0], [3.0, 4.5]];
    let b = array![[-1.0, 0.25], [7.0, 8.0], [9.0, 10.0]];
    let f8 = |x: &Array2<f64>| {
        npy(
            "<f8",
            false,
            &[x.nrows(), 2],
            &encoded(x, false, |v| v.to_le_bytes().to_vec()),
        )
    };
    let two = dir.join("two.npz");
    npz(&two, &[("a", f8(&a)), ("b", f8(&b))], false);
    let reference = dir.join("r.csv");
    fs::write(&reference, csv(&b)).unwrap();
    // ambiguous: the error lists the names and the way to pick one
    assert_fails(
        &run(&["check", "--samples", s(&two), "--reference", s(&reference)]),
        "holds 2 arrays ('a', 'b'): name one as FILE.npz:NAME",
    );
    assert_fails(
        &run(&[
            "check",
            "--samples",
            &format!("{}:c", s(&two)),
            "--reference",
            s(&reference),
        ]),
        "no array named 'c' (arrays: 'a', 'b')",
    );
    let text = ok(&run(&[
        "check",
        "--samples",
        &format!("{}:b", s(&two)),
        "--reference",
        s(&reference),
        "--tests",
        "ks",
    ]));
    assert!(text.contains("n = 3, m = 3, d = 2"), "{text}");
    assert_eq!(
        bits(&load_points(format!("{}:a", s(&two))).unwrap().points),
        bits(&a)
    );
    // a compressed archive with one float32 array
    let one = dir.join("one.npz");
    let a32 = npy(
        "<f4",
        false,
        &[2, 2],
        &encoded(&a, false, |v| (v as f32).to_le_bytes().to_vec()),
    );
    npz(&one, &[("data", a32)], true);
    let out = run(&[
        "check",
        "--samples",
        s(&one),
        "--reference",
        s(&reference),
        "--tests",
        "ks",
    ]);
    ok(&out);
    assert!(stderr(&out).contains("read float32"), "{}", stderr(&out));
    assert_eq!(bits(&load_points(&one).unwrap().points), bits(&a));
}

#[test]
fn standard_input_and_output() {
    let dir = tmpdir("stdio");
    let values = array![[f64::from(0.1f32), 2.0], [-3.5, 1e-7]];
    let reference = dir.join("r.csv");
    fs::write(&reference, csv(&values)).unwrap();
    // npy on standard input, recognised by its magic bytes
    let bytes = npy(
        "<f4",
        false,
        &[2, 2],
        &encoded(&values, false, |v| (v as f32).to_le_bytes().to_vec()),
    );
    let out = run_with_stdin(
        &[
            "check",
            "--samples",
            "-",
            "--reference",
            s(&reference),
            "--tests",
            "ks",
        ],
        &bytes,
    );
    assert!(ok(&out).contains("ks                     0.000000"));
    assert_eq!(
        stderr(&out).trim_end(),
        "note: read float32 standard input as float64"
    );
    // CSV on standard input
    let out = run_with_stdin(
        &[
            "check",
            "--samples",
            "-",
            "--reference",
            s(&reference),
            "--tests",
            "ks",
        ],
        csv(&values).as_bytes(),
    );
    assert!(ok(&out).contains("ks                     0.000000"));
    // standard input can be read once
    let out = run_with_stdin(
        &["check", "--samples", "-", "--reference", "-"],
        csv(&values).as_bytes(),
    );
    assert_fails(
        &out,
        "standard input: already read (only one input can be '-')",
    );

    // standard output: CSV by default, npy:- for .npy; the summary goes to stderr
    let file = dir.join("m.csv");
    let base = ["datasets", "moons", "--n", "50", "--seed", "3", "--out"];
    ok(&run(&[&base[..], &[s(&file)]].concat()));
    let out = run(&[&base[..], &["-"]].concat());
    assert_eq!(
        out.stdout,
        fs::read(&file).unwrap(),
        "same bytes as the file"
    );
    assert!(
        stderr(&out).starts_with("wrote 50 points of moons"),
        "{}",
        stderr(&out)
    );
    let file = dir.join("m.npy");
    ok(&run(&[&base[..], &[s(&file)]].concat()));
    let out = run(&[&base[..], &["npy:-"]].concat());
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        fs::read(&file).unwrap(),
        "same bytes as the .npy file"
    );
    // one output at most on standard output
    let out = run(&[
        "sample",
        "--field",
        "poisson",
        "--dataset",
        "moons",
        "--data-n",
        "20",
        "--n",
        "3",
        "--out",
        "-",
        "--trajectories",
        "npy:-",
    ]);
    assert_fails(
        &out,
        "--out and --trajectories both write to standard output",
    );
    // sample --out - with a --stats file: the samples on stdout, the file on disk
    let stats = dir.join("s.json");
    let out = run(&[
        "sample",
        "--field",
        "poisson",
        "--dataset",
        "moons",
        "--data-n",
        "20",
        "--n",
        "3",
        "--seed",
        "1",
        "--out",
        "-",
        "--stats",
        s(&stats),
    ]);
    let text = ok(&out);
    assert_eq!(text.lines().next(), Some("x0,x1"));
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(stats.is_file());
    assert!(stderr(&out).contains("wrote 3 samples"), "{}", stderr(&out));
}

#[test]
fn a_pandas_to_csv_file_loses_its_index_column() {
    // written by pandas 3.1.1: DataFrame({'x0': [...], 'x1': [...]}).to_csv(path), and
    // the same for a DataFrame of a bare array (column names 0, 1)
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected = array![[0.5, 2.0], [-1.25, 0.1], [3.0, -0.0], [1e-7, 123456.789]];
    let dir = tmpdir("pandas");
    let reference = dir.join("r.csv");
    fs::write(&reference, csv(&expected)).unwrap();
    for name in ["pandas_named.csv", "pandas_unnamed.csv"] {
        let f = fixtures.join(name);
        let loaded = load_points(&f).unwrap();
        assert_eq!(bits(&loaded.points), bits(&expected), "{name}");
        assert!(loaded.dropped_index);
        let out = run(&[
            "check",
            "--samples",
            s(&f),
            "--reference",
            s(&reference),
            "--tests",
            "ks",
        ]);
        let text = ok(&out);
        assert!(text.contains("n = 4, m = 4, d = 2"), "{name}: {text}");
        assert!(text.contains("ks                     0.000000"), "{text}");
        assert!(
            stderr(&out).contains("dropped the first column") && stderr(&out).contains("pandas"),
            "{}",
            stderr(&out)
        );
    }
    // a plain file with a header keeps every column, and says nothing
    let loaded = load_points(&reference).unwrap();
    assert!(!loaded.dropped_index && loaded.notes.is_empty());
    assert_eq!(loaded.points.ncols(), 2);
}
