//! `io::write_table`, `io::write_trajectories`, `io::write_text`: layouts, round trips
//! and refusals.

use fieldflow::io::{write_table, write_text, write_trajectories};
use fieldflow::Error;
use ndarray::{array, Array3};
use std::fs;
use std::path::PathBuf;

fn tmpdir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fieldflow-io-tables-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn table_with_named_columns_and_non_finite_values() {
    let dir = tmpdir("table");
    let t = array![[1.5, -0.0, f64::NAN], [1e-300, f64::INFINITY, 0.1]];
    let cols = vec!["x0".to_string(), "x1".to_string(), "log_p".to_string()];
    let csv = dir.join("t.csv");
    write_table(&csv, &cols, t.view(), false).unwrap();
    assert_eq!(
        fs::read_to_string(&csv).unwrap(),
        "x0,x1,log_p\n1.5,-0,NaN\n1e-300,inf,0.1\n"
    );
    // no overwrite without the flag; the file is unchanged
    let e = write_table(&csv, &cols, t.view(), false).unwrap_err();
    assert!(matches!(e, Error::FileExists { .. }), "{e}");
    // .npy: the bare array, bit for bit
    let npy = dir.join("t.npy");
    write_table(&npy, &cols, t.view(), false).unwrap();
    let back: ndarray::Array2<f64> =
        ndarray_npy::ReadNpyExt::read_npy(fs::File::open(&npy).unwrap()).unwrap();
    let bits = |a: &ndarray::Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&t));
    // wrong number of names, empty table, bad extension: errors and no file
    let bad = dir.join("bad.csv");
    assert!(matches!(
        write_table(&bad, &cols[..2], t.view(), false),
        Err(Error::DimensionMismatch { .. })
    ));
    let empty = ndarray::Array2::<f64>::zeros((0, 3));
    assert!(write_table(&bad, &cols, empty.view(), false).is_err());
    assert!(write_table(dir.join("t.txt"), &cols, t.view(), false).is_err());
    assert!(!bad.exists());
}

#[test]
fn trajectories_long_csv_and_3d_npy() {
    let dir = tmpdir("traj");
    // particle i, level k, coordinate j holds 100 i + 10 k + j; particle 1 failed after level 0
    let mut p = Array3::from_shape_fn((2, 3, 2), |(i, k, j)| (100 * i + 10 * k + j) as f64);
    p[[1, 1, 0]] = f64::NAN;
    p[[1, 1, 1]] = f64::NAN;
    p[[1, 2, 0]] = f64::NAN;
    p[[1, 2, 1]] = f64::NAN;
    let levels = [4.0, 2.0, 1.0];
    let csv = dir.join("p.csv");
    write_trajectories(&csv, &levels, p.view(), false).unwrap();
    assert_eq!(
        fs::read_to_string(&csv).unwrap(),
        "particle,s,x0,x1\n0,4,0,1\n0,2,10,11\n0,1,20,21\n1,4,100,101\n1,2,NaN,NaN\n1,1,NaN,NaN\n"
    );
    let npy = dir.join("p.npy");
    write_trajectories(&npy, &levels, p.view(), false).unwrap();
    let back: Array3<f64> =
        ndarray_npy::ReadNpyExt::read_npy(fs::File::open(&npy).unwrap()).unwrap();
    assert_eq!(back.dim(), (2, 3, 2));
    assert_eq!(
        back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        p.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    // levels that do not match the array: an error, no file
    let bad = dir.join("bad.npy");
    assert!(matches!(
        write_trajectories(&bad, &levels[..2], p.view(), false),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(!bad.exists());
    assert!(matches!(
        write_trajectories(&npy, &levels, p.view(), false),
        Err(Error::FileExists { .. })
    ));
}

#[test]
fn text_is_written_atomically_and_never_clobbered() {
    let dir = tmpdir("text");
    let f = dir.join("r.json");
    write_text(&f, "{}\n", false).unwrap();
    assert!(matches!(
        write_text(&f, "other", false),
        Err(Error::FileExists { .. })
    ));
    assert_eq!(fs::read_to_string(&f).unwrap(), "{}\n");
    write_text(&f, "[1]\n", true).unwrap();
    assert_eq!(fs::read_to_string(&f).unwrap(), "[1]\n");
    assert!(write_text(dir.join("no/such/dir/r.json"), "x", false).is_err());
    // nothing but the one file in the folder (no temporary files left)
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}
