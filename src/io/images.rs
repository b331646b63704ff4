//! Folders of PNG images as points, and points back to PNG images.
//!
//! [`read_png_folder`] reads every file of a folder, in sorted file-name order, as
//! one point: the pixels in row-major order, and for colour images the channels of a
//! pixel next to each other (`R, G, B` of pixel 0, then pixel 1, ...), so an `h x w`
//! grey image is a point in `d = h w` and a colour one in `d = 3 h w`. Grey, grey +
//! alpha, RGB, RGBA and palette images of any bit depth are read; palette and low bit
//! depths are expanded to 8 bits, an alpha channel is dropped (and a note says so), and
//! every value is scaled to `[0, 1]` (divided by 255, or by 65535 for 16-bit images).
//! All images must have the same size and the same number of channels after this;
//! the first one that differs is named in the error. An empty folder, a file that is
//! not a PNG, and a PNG that does not decode are errors naming the file.
//!
//! [`encode_png`] and [`write_png_images`] go the other way: each point becomes an
//! 8-bit PNG, values clipped to `[0, 1]` and rounded to the nearest of 256 levels.

use super::atomic::OutputSet;
use super::{io_err, show};
use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView2};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Images read from a folder.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    /// One image per row, values in `[0, 1]`.
    pub points: Array2<f64>,
    /// The files, in the order of the rows (sorted by name).
    pub files: Vec<PathBuf>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Channels per pixel: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// What was converted (alpha dropped, bit depths), for the caller to show.
    pub notes: Vec<String>,
}

/// One decoded image: its size, channels and values in `[0, 1]`.
struct Decoded {
    width: usize,
    height: usize,
    channels: usize,
    values: Vec<f64>,
    dropped_alpha: bool,
    bits16: bool,
}

fn decode(path: &Path) -> Result<Decoded> {
    let bytes = fs::read(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(io_err(
            path,
            "not a PNG file (every file of the folder must be a PNG)",
        ));
    }
    let corrupt = |e: png::DecodingError| io_err(path, format!("corrupt PNG: {e}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(corrupt)?;
    let (width, height) = (info.width as usize, info.height as usize);
    let bits16 = info.bit_depth == png::BitDepth::Sixteen;
    let (stored, keep) = match info.color_type {
        png::ColorType::Grayscale => (1, 1),
        png::ColorType::GrayscaleAlpha => (2, 1),
        png::ColorType::Rgb => (3, 3),
        png::ColorType::Rgba => (4, 3),
        png::ColorType::Indexed => {
            return Err(io_err(path, "palette image was not expanded"));
        }
    };
    let bytes_per = if bits16 { 2 } else { 1 };
    let data = &buf[..info.buffer_size()];
    let mut values = Vec::with_capacity(width * height * keep);
    for row in data.chunks_exact(info.line_size) {
        for px in row[..width * stored * bytes_per].chunks_exact(stored * bytes_per) {
            for c in 0..keep {
                let v = if bits16 {
                    f64::from(u16::from_be_bytes([px[2 * c], px[2 * c + 1]])) / 65535.0
                } else {
                    f64::from(px[c]) / 255.0
                };
                values.push(v);
            }
        }
    }
    Ok(Decoded {
        width,
        height,
        channels: keep,
        values,
        dropped_alpha: stored != keep,
        bits16,
    })
}

/// Reads every file of `dir` (sorted by name; sub-folders and hidden files are
/// skipped) as one image; see the module documentation.
pub fn read_png_folder(dir: impl AsRef<Path>) -> Result<ImageFolder> {
    let dir = dir.as_ref();
    let entries = fs::read_dir(dir).map_err(|e| io_err(dir, format!("cannot list: {e}")))?;
    let mut files = Vec::new();
    for e in entries {
        let e = e.map_err(|e| io_err(dir, format!("cannot list: {e}")))?;
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if !hidden && e.path().is_file() {
            files.push(e.path());
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(io_err(dir, "no image files in the folder"));
    }
    let first = decode(&files[0])?;
    let (w, h, c) = (first.width, first.height, first.channels);
    let d = w * h * c;
    let len = crate::limits::array_len("images", &[files.len(), d])?;
    crate::limits::check_alloc("images", len)?;
    let mut values = Vec::with_capacity(files.len() * d);
    let (mut alpha, mut bits16) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        let img = if i == 0 { None } else { Some(decode(f)?) };
        let img = img.as_ref().unwrap_or(&first);
        if (img.width, img.height, img.channels) != (w, h, c) {
            return Err(io_err(
                f,
                format!(
                    "{} x {} with {} channel(s), but {} is {w} x {h} with {c} (all images must have one size)",
                    img.width,
                    img.height,
                    img.channels,
                    show(&files[0])
                ),
            ));
        }
        alpha += usize::from(img.dropped_alpha);
        bits16 += usize::from(img.bits16);
        values.extend_from_slice(&img.values);
    }
    let mut notes = Vec::new();
    if alpha > 0 {
        notes.push(format!(
            "dropped the alpha channel of {alpha} image(s) in {}",
            show(dir)
        ));
    }
    notes.push(format!(
        "read {} {w} x {h} {} image(s) from {} as points in d = {d}, values scaled to [0, 1]{}",
        files.len(),
        if c == 1 { "grey" } else { "RGB" },
        show(dir),
        if bits16 > 0 {
            " (16-bit values divided by 65535)"
        } else {
            ""
        }
    ));
    let points = Array2::from_shape_vec((files.len(), d), values)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(ImageFolder {
        points,
        files,
        width: w,
        height: h,
        channels: c,
        notes,
    })
}

/// Checks that a point of `d` values is a `width x height` image with `channels` 1 or 3.
fn check_shape(d: usize, width: usize, height: usize, channels: usize) -> Result<()> {
    if channels != 1 && channels != 3 {
        return Err(Error::Invalid(format!(
            "images have 1 (grey) or 3 (RGB) channels, not {channels}"
        )));
    }
    if width == 0 || height == 0 || width * height * channels != d {
        return Err(Error::Invalid(format!(
            "points of dimension {d} are not {width} x {height} images with {channels} channel(s)"
        )));
    }
    Ok(())
}

/// An 8-bit PNG of one point (`width * height * channels` values, row-major, channels
/// interleaved), values clipped to `[0, 1]` and rounded to 256 levels; NaN is black.
pub fn encode_png(values: &[f64], width: usize, height: usize, channels: usize) -> Result<Vec<u8>> {
    check_shape(values.len(), width, height, channels)?;
    let bytes: Vec<u8> = values
        .iter()
        .map(|&v| (if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) } * 255.0).round() as u8)
        .collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(if channels == 1 {
            png::ColorType::Grayscale
        } else {
            png::ColorType::Rgb
        });
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| Error::Invalid(format!("cannot encode PNG: {e}")))?;
        w.write_image_data(&bytes)
            .map_err(|e| Error::Invalid(format!("cannot encode PNG: {e}")))?;
    }
    Ok(out)
}

/// Writes each row of `points` as `DIR/PREFIX00000.png`, `...00001.png`, ... (five
/// digits or more), all together or none (see [`OutputSet`]); existing files are
/// replaced only with `overwrite`. The folder must exist. Returns the paths.
pub fn write_png_images(
    dir: impl AsRef<Path>,
    prefix: &str,
    points: ArrayView2<'_, f64>,
    (width, height, channels): (usize, usize, usize),
    overwrite: bool,
) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    check_shape(points.ncols(), width, height, channels)?;
    if !dir.is_dir() {
        return Err(io_err(dir, "not an existing folder"));
    }
    let mut set = OutputSet::new(overwrite);
    let mut paths = Vec::with_capacity(points.nrows());
    for (i, row) in points.rows().into_iter().enumerate() {
        let values: Vec<f64> = row.iter().copied().collect();
        let bytes = encode_png(&values, width, height, channels)?;
        let path = dir.join(format!("{prefix}{i:05}.png"));
        set.stage(&path, |w| w.write_all(&bytes))?;
        paths.push(path);
    }
    set.commit()?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ff-img-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn png_bytes(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(color);
            e.set_depth(depth);
            e.write_header().unwrap().write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn grey_rgba_and_16_bit_images_read_back_exactly() {
        let d = tmp("read");
        // 2 x 1 grey 8-bit: 0 and 255 -> 0, 1; file names sort b < c
        fs::write(
            d.join("b.png"),
            png_bytes(
                2,
                1,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                &[0, 255],
            ),
        )
        .unwrap();
        // 16-bit grey: 65535 and 32768
        fs::write(
            d.join("c.png"),
            png_bytes(
                2,
                1,
                png::ColorType::Grayscale,
                png::BitDepth::Sixteen,
                &[255, 255, 128, 0],
            ),
        )
        .unwrap();
        let f = read_png_folder(&d).unwrap();
        assert_eq!((f.width, f.height, f.channels), (2, 1, 1));
        assert_eq!(f.points.row(0).to_vec(), vec![0.0, 1.0]);
        assert_eq!(f.points.row(1).to_vec(), vec![1.0, 32768.0 / 65535.0]);
        assert!(f.files[0].ends_with("b.png"));
        // RGBA: alpha dropped with a note
        let e = tmp("rgba");
        fs::write(
            e.join("a.png"),
            png_bytes(
                1,
                1,
                png::ColorType::Rgba,
                png::BitDepth::Eight,
                &[51, 102, 255, 7],
            ),
        )
        .unwrap();
        let g = read_png_folder(&e).unwrap();
        assert_eq!(g.points.row(0).to_vec(), vec![0.2, 0.4, 1.0]);
        assert!(g.notes[0].contains("alpha"));
        // written images read back to the same 8-bit levels
        let out = tmp("write");
        let x = ndarray::array![[0.0, 0.5, 1.0, 2.0], [-1.0, 0.25, 0.75, 1.0]];
        write_png_images(&out, "s", x.view(), (2, 2, 1), false).unwrap();
        let back = read_png_folder(&out).unwrap();
        for (a, b) in back.points.iter().zip(x.iter()) {
            assert!((a - b.clamp(0.0, 1.0)).abs() <= 0.5 / 255.0 + 1e-12);
        }
        // nothing overwritten without the flag
        assert!(write_png_images(&out, "s", x.view(), (2, 2, 1), false).is_err());
        for p in [d, e, out] {
            fs::remove_dir_all(p).unwrap();
        }
    }

    #[test]
    fn bad_folders_are_clear_errors() {
        let d = tmp("bad");
        assert!(read_png_folder(&d)
            .unwrap_err()
            .to_string()
            .contains("no image files"));
        fs::write(
            d.join("a.png"),
            png_bytes(
                2,
                1,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                &[0, 1],
            ),
        )
        .unwrap();
        fs::write(
            d.join("b.png"),
            png_bytes(
                1,
                2,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                &[0, 1],
            ),
        )
        .unwrap();
        let msg = read_png_folder(&d).unwrap_err().to_string();
        assert!(msg.contains("b.png") && msg.contains("one size"), "{msg}");
        fs::remove_file(d.join("b.png")).unwrap();
        fs::write(d.join("c.txt"), "hello").unwrap();
        let msg = read_png_folder(&d).unwrap_err().to_string();
        assert!(msg.contains("c.txt") && msg.contains("not a PNG"), "{msg}");
        fs::remove_file(d.join("c.txt")).unwrap();
        let mut broken = png_bytes(
            2,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[0, 1],
        );
        broken.truncate(30);
        fs::write(d.join("d.png"), broken).unwrap();
        let msg = read_png_folder(&d).unwrap_err().to_string();
        assert!(msg.contains("d.png") && msg.contains("corrupt"), "{msg}");
        fs::remove_dir_all(d).unwrap();
    }
}
