//! The 8 x 8 handwritten digits: a real image data set that ships inside the binary.
//!
//! These are the 1,797 test images of the UCI "Optical Recognition of Handwritten
//! Digits" data set (E. Alpaydin and C. Kaynak, 1998), the copy scikit-learn ships as
//! `load_digits`. Each image is a 32 x 32 bitmap of a handwritten digit whose 4 x 4
//! blocks were counted, so every pixel is an integer count 0..16 and an image is a
//! point in 64 dimensions (row-major: pixel `(r, c)` is column `8 r + c`). The file is
//! bundled compressed (`assets/data/digits.csv.gz`, 65 columns per line: 64 pixels
//! then the class 0..9) and decompressed with `flate2` when first asked for; licence
//! and citation are in `assets/data/README.md`.
//!
//! [`Digits::draw`] gives `n` images drawn without replacement (the first `n` of a
//! seeded random permutation of the 1,797 rows) or all of them in file order.

use crate::error::{Error, Result};
use ndarray::Array2;
use rand::seq::SliceRandom;
use std::io::Read;

/// The compressed CSV as bundled (gzip, 1,797 lines of 65 integers).
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../assets/data/digits.csv.gz");

/// Number of images.
pub const N_IMAGES: usize = 1797;
/// Side of an image in pixels.
pub const SIDE: usize = 8;
/// Pixels per image (the dimension d = 64).
pub const DIM: usize = SIDE * SIDE;
/// Largest pixel value (a count of on pixels in a 4 x 4 block).
pub const MAX_VALUE: f64 = 16.0;

/// Images of digits with their classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Digits {
    /// One image per row, `n x 64`, values 0..16 (integers stored as `f64`).
    pub images: Array2<f64>,
    /// The class 0..9 of each row.
    pub labels: Vec<u8>,
}

impl Digits {
    /// All 1,797 images in the order of the bundled file.
    pub fn all() -> Result<Digits> {
        parse(DIGITS_CSV_GZ)
    }

    /// `n` images drawn without replacement: the first `n` rows of a permutation of
    /// the 1,797 drawn with [`crate::rng::seeded`]`(seed)`, or all of them in file
    /// order when `n` is `None`. `n` must be 1..=1797.
    pub fn draw(n: Option<usize>, seed: u64) -> Result<Digits> {
        let all = Digits::all()?;
        let Some(n) = n else { return Ok(all) };
        if n == 0 || n > N_IMAGES {
            return Err(Error::Invalid(format!(
                "the digits data set has {N_IMAGES} images; ask for 1 to {N_IMAGES}, not {n}"
            )));
        }
        let mut order: Vec<usize> = (0..N_IMAGES).collect();
        order.shuffle(&mut crate::rng::seeded(seed));
        order.truncate(n);
        Ok(Digits {
            images: all.images.select(ndarray::Axis(0), &order),
            labels: order.iter().map(|&i| all.labels[i]).collect(),
        })
    }

    /// How many images of each class 0..9.
    pub fn class_counts(&self) -> [usize; 10] {
        let mut c = [0; 10];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }
}

/// Parses the gzip-compressed CSV (64 pixel columns then the class).
fn parse(gz: &[u8]) -> Result<Digits> {
    let bad = |message: String| Error::Io {
        path: "bundled digits.csv.gz".into(),
        message,
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot decompress: {e}")))?;
    let mut images = Vec::with_capacity(N_IMAGES * DIM);
    let mut labels = Vec::with_capacity(N_IMAGES);
    for (i, line) in text.lines().enumerate() {
        let vals: Vec<u8> = line
            .split(',')
            .map(|v| v.trim().parse::<u8>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        if vals.len() != DIM + 1 || vals[..DIM].iter().any(|&v| f64::from(v) > MAX_VALUE) {
            return Err(bad(format!(
                "line {}: not 64 pixels 0..16 and a class",
                i + 1
            )));
        }
        if vals[DIM] > 9 {
            return Err(bad(format!(
                "line {}: class {} is not 0..9",
                i + 1,
                vals[DIM]
            )));
        }
        images.extend(vals[..DIM].iter().map(|&v| f64::from(v)));
        labels.push(vals[DIM]);
    }
    let n = labels.len();
    let images = Array2::from_shape_vec((n, DIM), images).map_err(|e| bad(e.to_string()))?;
    Ok(Digits { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published facts of the data set: 1,797 rows of 64 integer pixels 0..16,
    /// the class counts of the UCI description, and the first image's top row.
    #[test]
    fn bundled_digits_match_the_published_facts() {
        let d = Digits::all().unwrap();
        assert_eq!(d.images.dim(), (1797, 64));
        assert_eq!(d.labels.len(), 1797);
        assert!(d
            .images
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        assert_eq!(
            d.class_counts(),
            [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
        // first row of the file: a zero, top row 0 0 5 13 9 1 0 0
        assert_eq!(d.labels[0], 0);
        let top: Vec<f64> = d.images.row(0).iter().take(8).copied().collect();
        assert_eq!(top, vec![0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
        // both extremes occur
        let max = d.images.iter().copied().fold(f64::NAN, f64::max);
        let min = d.images.iter().copied().fold(f64::NAN, f64::min);
        assert_eq!((min, max), (0.0, 16.0));
    }

    #[test]
    fn draws_are_seeded_without_replacement_and_checked() {
        let a = Digits::draw(Some(500), 3).unwrap();
        let b = Digits::draw(Some(500), 3).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, Digits::draw(Some(500), 4).unwrap());
        // without replacement: all 1797 drawn is a permutation of the file
        let p = Digits::draw(Some(1797), 9).unwrap();
        assert_eq!(p.class_counts(), Digits::all().unwrap().class_counts());
        let mut rows: Vec<Vec<u64>> = p
            .images
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect();
        let mut orig: Vec<Vec<u64>> = Digits::all()
            .unwrap()
            .images
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect();
        rows.sort();
        orig.sort();
        assert_eq!(rows, orig);
        assert!(Digits::draw(Some(0), 0).is_err());
        assert!(Digits::draw(Some(1798), 0).is_err());
        assert_eq!(Digits::draw(None, 0).unwrap().images.nrows(), 1797);
    }

    #[test]
    fn a_corrupt_archive_is_an_error() {
        assert!(parse(b"not gzip").is_err());
    }
}
