//! End-to-end: the digits data set, PNG folders, `to-png` and `--standardize`.

use fieldflow::data::Digits;
use std::fs;

use crate::support::cli;
use cli::{assert_fails, bits, ok, run, s, tmpdir};

/// `datasets digits` writes the bundled images and their labels: 1797 x 64, the
/// published class counts, and `--n` draws the library's seeded subset.
#[test]
fn datasets_digits_writes_the_bundled_images_and_labels() {
    let dir = tmpdir("digits");
    let (f, l) = (dir.join("d.npy"), dir.join("l.csv"));
    ok(&run(&[
        "datasets",
        "digits",
        "--out",
        s(&f),
        "--labels",
        s(&l),
    ]));
    let x = fieldflow::io::read_points(&f).unwrap();
    assert_eq!(x.dim(), (1797, 64));
    let labels = fieldflow::io::read_points(&l).unwrap();
    let mut counts = [0usize; 10];
    for v in labels.iter() {
        counts[*v as usize] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    let g = dir.join("g.csv");
    ok(&run(&[
        "datasets",
        "digits",
        "--n",
        "40",
        "--seed",
        "7",
        "--out",
        s(&g),
    ]));
    let got = fieldflow::io::read_points(&g).unwrap();
    assert_eq!(bits(&got), bits(&Digits::draw(Some(40), 7).unwrap().images));
    assert_fails(
        &run(&[
            "datasets",
            "digits",
            "--n",
            "1798",
            "--out",
            s(&dir.join("e.csv")),
        ]),
        "1797",
    );
    assert!(!dir.join("e.csv").exists());
}

/// Points -> PNG (`to-png`) -> points (`datasets images`) gives the values back to
/// the 8-bit quantisation, `max * 0.5 / 255`; bad folders are one-line errors.
#[test]
fn png_round_trip_and_bad_folders() {
    let dir = tmpdir("png");
    let f = dir.join("d.csv");
    ok(&run(&["datasets", "digits", "--n", "5", "--out", s(&f)]));
    let imgs = dir.join("imgs");
    fs::create_dir(&imgs).unwrap();
    ok(&run(&[
        "to-png",
        s(&f),
        "--shape",
        "8x8",
        "--max",
        "16",
        "--out",
        s(&imgs),
    ]));
    assert_eq!(fs::read_dir(&imgs).unwrap().count(), 5);
    let back = dir.join("back.csv");
    ok(&run(&["datasets", "images", s(&imgs), "--out", s(&back)]));
    let x = fieldflow::io::read_points(&f).unwrap();
    let y = fieldflow::io::read_points(&back).unwrap();
    assert_eq!(y.dim(), (5, 64));
    for (a, b) in x.iter().zip(y.iter()) {
        assert!(
            (a - 16.0 * b).abs() <= 16.0 * 0.5 / 255.0 + 1e-12,
            "{a} {b}"
        );
    }
    // not overwritten without --force
    assert_fails(
        &run(&[
            "to-png",
            s(&f),
            "--shape",
            "8x8",
            "--max",
            "16",
            "--out",
            s(&imgs),
        ]),
        "exists",
    );
    // a non-PNG file in the folder is named
    fs::write(imgs.join("zz.txt"), "text").unwrap();
    assert_fails(
        &run(&[
            "datasets",
            "images",
            s(&imgs),
            "--out",
            s(&dir.join("x.csv")),
        ]),
        "zz.txt",
    );
    let empty = dir.join("empty");
    fs::create_dir(&empty).unwrap();
    assert_fails(
        &run(&[
            "sample",
            "--field",
            "poisson",
            "--data",
            s(&empty),
            "--n",
            "2",
            "--out",
            s(&dir.join("y.csv")),
        ]),
        "no image files",
    );
    assert_fails(
        &run(&["to-png", s(&f), "--shape", "8x9", "--out", s(&empty)]),
        "not 9 x 8",
    );
}

/// `sample --standardize global` builds the field on standardised digits and writes
/// the samples in pixel units: each lands on one of the 60 training images (the exact
/// field of an empirical set transports onto its points; s_min = 1e-3 leaves a blur of
/// order 1e-3 sqrt(64) in standardised units, about 0.05 pixel units), which would be
/// impossible without the inverse map (the standardised images are ~6 times smaller).
#[test]
fn standardized_sampling_writes_pixel_units() {
    let dir = tmpdir("std");
    let out = dir.join("gen.csv");
    ok(&run(&[
        "sample",
        "--field",
        "gaussian",
        "--dataset",
        "digits",
        "--data-n",
        "60",
        "--standardize",
        "global",
        "--n",
        "8",
        "--rtol",
        "1e-6",
        "--atol",
        "1e-6",
        "--out",
        s(&out),
    ]));
    let x = fieldflow::io::read_points(&out).unwrap();
    let data = Digits::draw(Some(60), 0).unwrap().images;
    for row in x.rows() {
        let (_, dist) = fieldflow::plots::digits::nearest(data.view(), row);
        assert!(dist < 0.5, "a sample is {dist} from every training image");
    }
    assert_fails(
        &run(&[
            "marginal",
            "--field",
            "poisson",
            "--dataset",
            "digits",
            "--standardize",
            "global",
            "--s",
            "1",
            "--n",
            "2",
            "--out",
            s(&dir.join("m.csv")),
        ]),
        "only supported by `fieldflow sample`",
    );
}
