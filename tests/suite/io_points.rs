//! Point files: bit-exact round trips and every documented error.

use fieldflow::io::{ensure_parent_dir, read_points, read_weights, write_points, PointFormat};
use fieldflow::Error;
use ndarray::{array, Array1, Array2, ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::WriteNpyExt;
use std::fs;
use std::path::{Path, PathBuf};

/// A fresh, empty directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("fieldflow-io-{}-{}", std::process::id(), name));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// Names of all entries (to check that no temporary file is left behind).
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn tricky() -> Array2<f64> {
    array![
        [0.1, 1e-300, -0.0],
        [1.0 / 3.0, f64::MAX, f64::MIN_POSITIVE],
        [5e-324, -123456.789, 1e16],
        [0.0, -2.5e-7, 7.0]
    ]
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

fn write_text(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

/// The `Parse` error's line and message, or a panic.
fn parse_error(path: &Path) -> (usize, String) {
    match read_points(path) {
        Err(Error::Parse {
            line,
            message,
            path: p,
        }) => {
            assert_eq!(p, path.display().to_string());
            (line, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn io_error(result: fieldflow::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Io { message, .. }) => message,
        other => panic!("expected an Io error, got {other:?}"),
    }
}

#[test]
fn round_trips_are_bit_exact() {
    let dir = TempDir::new("roundtrip");
    let a = tricky();
    for name in ["p.csv", "p.npy", "P.CSV", "q.Npy"] {
        let f = dir.file(name);
        write_points(&f, a.view(), false).unwrap();
        let b = read_points(&f).unwrap();
        assert_eq!(b.dim(), a.dim());
        assert_eq!(bits(&b), bits(&a), "{name}");
    }
    // A non-standard layout (transposed view) is written in C order.
    let t = a.t().to_owned();
    let f = dir.file("t.npy");
    write_points(&f, a.t(), false).unwrap();
    assert_eq!(bits(&read_points(&f).unwrap()), bits(&t));
    let f = dir.file("t.csv");
    write_points(&f, a.t(), false).unwrap();
    assert_eq!(bits(&read_points(&f).unwrap()), bits(&t));
    // The CSV text itself.
    let f = dir.file("small.csv");
    write_points(&f, array![[0.1, -0.0], [1e-300, 2.0]].view(), false).unwrap();
    assert_eq!(fs::read_to_string(&f).unwrap(), "x0,x1\n0.1,-0\n1e-300,2\n");
    // No temporary files remain.
    assert!(
        dir.entries().iter().all(|e| !e.starts_with('.')),
        "{:?}",
        dir.entries()
    );
}

#[test]
fn csv_header_is_optional_and_text_is_lenient() {
    let dir = TempDir::new("header");
    let expected = array![[1.0, 2.0], [3.5, -4.0]];
    for (i, text) in [
        "1,2\n3.5,-4\n",
        "x0,x1\n1,2\n3.5,-4\n",
        "x , y\r\n 1 , 2 \r\n\r\n3.5,-4e0",
        "\u{feff}a,b\n\n1,2\n3.5,-4\n\n",
        "1.0,+2\n3.5,-4.000\n",
    ]
    .iter()
    .enumerate()
    {
        let f = dir.file(&format!("h{i}.csv"));
        write_text(&f, text);
        assert_eq!(read_points(&f).unwrap(), expected, "{text:?}");
    }
    // One column.
    let f = dir.file("one.csv");
    write_text(&f, "w\n1\n2\n");
    assert_eq!(read_points(&f).unwrap(), array![[1.0], [2.0]]);
}

#[test]
fn csv_errors_name_line_and_column() {
    let dir = TempDir::new("csverr");
    let f = dir.file("e.csv");

    write_text(&f, "x0,x1\n1,2\n3,4,5\n");
    let (line, msg) = parse_error(&f);
    assert_eq!(line, 3);
    assert_eq!(msg, "expected 2 columns (as in the header), got 3");

    write_text(&f, "1,2\n3,4\n\n5\n");
    let (line, msg) = parse_error(&f);
    assert_eq!(line, 4);
    assert_eq!(msg, "expected 2 columns, got 1");

    write_text(&f, "1,2\n3,abc\n");
    let (line, msg) = parse_error(&f);
    assert_eq!(line, 2);
    assert_eq!(msg, "column 2: cannot parse 'abc' as a number");

    write_text(&f, "1,2\n,4\n");
    assert_eq!(parse_error(&f), (2, "column 1: empty field".to_string()));

    write_text(&f, "1,2\n3,4,\n");
    assert_eq!(parse_error(&f).0, 2);

    for (bad, shown) in [("nan", "nan"), ("inf", "inf"), ("-Infinity", "-Infinity")] {
        write_text(&f, &format!("x,y\n1,2\n3,{bad}\n"));
        let (line, msg) = parse_error(&f);
        assert_eq!(line, 3);
        assert_eq!(msg, format!("column 2: non-finite value '{shown}'"));
    }
    // A first line where some fields parse is data, not a header.
    write_text(&f, "1,y\n3,4\n");
    assert_eq!(
        parse_error(&f),
        (1, "column 2: cannot parse 'y' as a number".to_string())
    );

    let err = read_points(&f).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}, line 1: column 2: cannot parse 'y' as a number",
            f.display()
        )
    );
    assert!(!err.contains('\n'));
}

#[test]
fn missing_empty_and_unknown_files() {
    let dir = TempDir::new("missing");
    let m = io_error(read_points(dir.file("nope.csv")));
    assert!(m.starts_with("cannot read:"), "{m}");
    let m = io_error(read_points(dir.file("nope.npy")));
    assert!(m.starts_with("cannot read:"), "{m}");

    for text in ["", "\n\n", "x0,x1\n", "x0,x1\n\n  \n"] {
        let f = dir.file("empty.csv");
        write_text(&f, text);
        assert_eq!(io_error(read_points(&f)), "no points in file", "{text:?}");
    }

    let f = dir.file("points.txt");
    write_text(&f, "1,2\n");
    let m = io_error(read_points(&f));
    assert!(m.contains("unsupported file extension"), "{m}");
    assert!(write_points(&f, array![[1.0]].view(), true).is_err());
    assert!(PointFormat::from_path(Path::new("noext")).is_err());
    assert_eq!(
        PointFormat::from_path(Path::new("a/b.NPY")).unwrap(),
        PointFormat::Npy
    );
}

#[test]
fn npy_inputs() {
    let dir = TempDir::new("npy");
    // 1-D arrays are n x 1.
    let f = dir.file("v.npy");
    Array1::from(vec![0.5, -1.0, 2.0])
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert_eq!(read_points(&f).unwrap(), array![[0.5], [-1.0], [2.0]]);
    // Fortran-order 2-D arrays are read correctly.
    let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let fortran = Array2::from_shape_vec((2, 3).f(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap();
    assert_eq!(fortran, a);
    assert!(!fortran.is_standard_layout());
    let f = dir.file("f.npy");
    fortran.write_npy(fs::File::create(&f).unwrap()).unwrap();
    assert_eq!(read_points(&f).unwrap(), a);
    // Integers are read exactly (see tests/files_people_have.rs for every type).
    let f = dir.file("i.npy");
    array![[1i32, 2]]
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert_eq!(read_points(&f).unwrap(), array![[1.0, 2.0]]);
    // Wrong element type, wrong rank, empty, non-finite, garbage.
    let f = dir.file("b.npy");
    array![[true, false]]
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    let m = io_error(read_points(&f));
    assert!(m.starts_with("unsupported element type '|b1'"), "{m}");
    let f = dir.file("r3.npy");
    ArrayD::<f64>::zeros(IxDyn(&[2, 2, 2]))
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert_eq!(
        io_error(read_points(&f)),
        "expected a 1-D or 2-D array, got 3-D"
    );
    let f = dir.file("e.npy");
    Array2::<f64>::zeros((0, 2))
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert!(io_error(read_points(&f)).starts_with("no points in file"));
    let f = dir.file("nan.npy");
    array![[1.0, 2.0], [3.0, f64::NAN]]
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert_eq!(
        io_error(read_points(&f)),
        "non-finite value at row 2, column 2"
    );
    let f = dir.file("junk.npy");
    write_text(&f, "1,2\n");
    assert!(io_error(read_points(&f)).starts_with("not a .npy array"));
}

#[test]
fn writing_never_clobbers_or_leaves_partial_files() {
    let dir = TempDir::new("write");
    let a = array![[1.0, 2.0]];
    let b = array![[3.0, 4.0], [5.0, 6.0]];
    for name in ["w.csv", "w.npy"] {
        let f = dir.file(name);
        write_points(&f, a.view(), false).unwrap();
        match write_points(&f, b.view(), false) {
            Err(Error::FileExists { path }) => assert_eq!(path, f.display().to_string()),
            other => panic!("expected FileExists, got {other:?}"),
        }
        assert_eq!(read_points(&f).unwrap(), a, "existing file changed");
        write_points(&f, b.view(), true).unwrap();
        assert_eq!(read_points(&f).unwrap(), b);
    }
    // Invalid data: nothing is written.
    let f = dir.file("bad.csv");
    assert!(matches!(
        write_points(&f, array![[1.0, f64::INFINITY]].view(), false),
        Err(Error::NonFinite { row: 0, col: 1, .. })
    ));
    assert!(matches!(
        write_points(&f, Array2::<f64>::zeros((0, 2)).view(), false),
        Err(Error::Empty { .. })
    ));
    assert!(!f.exists());
    // Missing directory: an error, no directory created, unless asked.
    let deep = dir.file("sub/deeper/p.csv");
    let m = io_error(write_points(&deep, a.view(), false));
    assert!(m.contains("does not exist"), "{m}");
    assert!(!dir.file("sub").exists());
    ensure_parent_dir(&deep).unwrap();
    write_points(&deep, a.view(), false).unwrap();
    assert_eq!(read_points(&deep).unwrap(), a);
    ensure_parent_dir("relative.csv").unwrap();
    // A directory as target.
    fs::create_dir(dir.file("d.csv")).unwrap();
    assert_eq!(
        io_error(write_points(dir.file("d.csv"), a.view(), true)),
        "is a directory"
    );
    // Only the files we wrote remain (no temporaries).
    assert_eq!(dir.entries(), ["d.csv", "sub", "w.csv", "w.npy"]);
}

#[test]
fn weights() {
    let dir = TempDir::new("weights");
    let f = dir.file("w.csv");
    write_text(&f, "weight\n1\n0\n2.5\n");
    assert_eq!(read_weights(&f).unwrap(), vec![1.0, 0.0, 2.5]);
    write_text(&f, "weight\n1\n\n-2\n");
    match read_weights(&f) {
        Err(Error::Parse { line, message, .. }) => {
            assert_eq!(line, 4);
            assert_eq!(message, "negative weight -2");
        }
        other => panic!("{other:?}"),
    }
    write_text(&f, "0\n0\n");
    assert_eq!(io_error(read_weights(&f)), "all weights are zero");
    write_text(&f, "1,2\n");
    assert_eq!(
        io_error(read_weights(&f)),
        "expected one weight per row, got 2 columns"
    );
    let f = dir.file("w.npy");
    Array1::from(vec![0.25, 0.75])
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert_eq!(read_weights(&f).unwrap(), vec![0.25, 0.75]);
    Array1::from(vec![0.25, -0.75])
        .write_npy(fs::File::create(&f).unwrap())
        .unwrap();
    assert_eq!(io_error(read_weights(&f)), "negative weight -0.75 at row 2");
}
