//! Figures: both files written, text actually rendered with the bundled font, errors.

use fieldflow::plots::{
    category_color, datasets_grid, save_figure, viridis, ColorScale, Scatter, Series,
};
use fieldflow::Error;
use ndarray::array;
use plotters::style::RGBColor;
use std::fs;
use std::path::PathBuf;

fn tmpdir(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fieldflow-plots-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    p
}

/// Decodes an RGB PNG: (width, height, pixels).
fn decode(path: &PathBuf) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(fs::File::open(path).unwrap());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Number of dark (all channels < 100) pixels in rows `r0..r1`.
fn dark_pixels(w: u32, px: &[u8], r0: u32, r1: u32) -> usize {
    (r0 as usize * w as usize..r1 as usize * w as usize)
        .filter(|&i| px[3 * i] < 100 && px[3 * i + 1] < 100 && px[3 * i + 2] < 100)
        .count()
}

#[test]
fn scatter_png_and_svg_with_text() {
    let dir = tmpdir("scatter");
    let a = array![[0.0, 0.0], [1.0, 1.0], [f64::NAN, 2.0], [2.0, -1.0]];
    let b = array![[0.5, 0.5], [1.5, 0.0]];
    let plot = Scatter::new("Title text")
        .axis_labels("x axis", "y axis")
        .series(Series::new(a.view()).unwrap().label("first").radius(3))
        .series(
            Series::new(b.view())
                .unwrap()
                .color_by(vec![0.0, 1.0], None)
                .unwrap()
                .label("second"),
        );
    let files = save_figure(&plot, dir.join("fig"), (400, 300), false).unwrap();
    assert_eq!(files.png, dir.join("fig.png"));
    assert_eq!(files.svg, dir.join("fig.svg"));
    let (w, h, px) = decode(&files.png);
    assert_eq!((w, h), (400, 300));
    // The title is drawn as dark glyph pixels in the top band (the plot area starts
    // below it); with no font, plotters would have failed instead.
    assert!(dark_pixels(w, &px, 0, 25) > 50, "no title glyphs");
    // Some pixels have the first series' colour.
    let c = category_color(0);
    let n_c = px
        .chunks(3)
        .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
        .count();
    assert!(n_c > 10, "series colour not found ({n_c} pixels)");
    let svg = fs::read_to_string(&files.svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Title text") && svg.contains("first"));

    // No overwrite: refused, files untouched; with overwrite: replaced.
    let before = fs::read(&files.png).unwrap();
    let plot2 = Scatter::new("Other").series(Series::new(b.view()).unwrap());
    assert!(matches!(
        save_figure(&plot2, dir.join("fig"), (400, 300), false),
        Err(Error::FileExists { .. })
    ));
    assert_eq!(fs::read(&files.png).unwrap(), before);
    save_figure(&plot2, dir.join("fig"), (300, 200), true).unwrap();
    assert_eq!(decode(&files.png).0, 300);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["fig.png", "fig.svg"]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn datasets_grid_draws() {
    let dir = tmpdir("grid");
    let files = datasets_grid(&dir, false).unwrap();
    let (w, h, px) = decode(&files.png);
    assert_eq!((w, h), (1600, 850));
    assert!(dark_pixels(w, &px, 0, 30) > 200, "no title glyphs");
    assert!(datasets_grid(dir.join("missing"), false).is_err());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn colours_and_errors() {
    // matplotlib's viridis starts at #440154 and ends at #fde725; plotters' table
    // is a coarser sampling of it, within 2 units per channel.
    let close = |a: RGBColor, b: RGBColor| {
        a.0.abs_diff(b.0) <= 2 && a.1.abs_diff(b.1) <= 2 && a.2.abs_diff(b.2) <= 2
    };
    assert!(
        close(viridis(0.0), RGBColor(0x44, 0x01, 0x54)),
        "{:?}",
        viridis(0.0)
    );
    assert!(
        close(viridis(1.0), RGBColor(0xfd, 0xe7, 0x25)),
        "{:?}",
        viridis(1.0)
    );
    // The middle of viridis is teal (#21918c).
    assert!(
        viridis(0.5).1 > viridis(0.5).0 && viridis(0.5).2 > viridis(0.5).0,
        "{:?}",
        viridis(0.5)
    );
    assert_eq!(viridis(-3.0), viridis(0.0));
    assert_eq!(viridis(7.0), viridis(1.0));
    assert_eq!(viridis(f64::NAN), RGBColor(128, 128, 128));
    let s = ColorScale::new(10.0, 20.0).unwrap();
    assert_eq!(s.color(10.0), viridis(0.0));
    assert_eq!(s.color(20.0), viridis(1.0));
    assert!(ColorScale::new(1.0, 1.0).is_err());
    assert!(ColorScale::new(0.0, f64::INFINITY).is_err());
    assert_eq!(
        ColorScale::spanning(&[3.0, f64::NAN, 1.0])
            .unwrap()
            .bounds(),
        (1.0, 3.0)
    );
    assert_eq!(ColorScale::spanning(&[2.0]).unwrap().bounds(), (1.5, 2.5));
    assert!(ColorScale::spanning(&[f64::NAN]).is_err());
    assert_eq!(category_color(10), category_color(0));

    let three = array![[0.0, 1.0, 2.0]];
    assert!(matches!(
        Series::new(three.view()),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 3,
            ..
        })
    ));
    let two = array![[0.0, 1.0], [1.0, 2.0]];
    assert!(Series::new(two.view())
        .unwrap()
        .color_by(vec![1.0], None)
        .is_err());
    let dir = tmpdir("err");
    let plot = Scatter::new("t").series(Series::new(two.view()).unwrap());
    assert!(save_figure(&plot, dir.join("a"), (0, 100), true).is_err());
    let bad = Scatter::new("t").ranges((1.0, 0.0), (0.0, 1.0));
    assert!(matches!(
        save_figure(&bad, dir.join("b"), (100, 100), true),
        Err(Error::Invalid(_))
    ));
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "partial files left");
    let _ = fs::remove_dir_all(&dir);
}
