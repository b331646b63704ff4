//! Figures: PNG and SVG from one drawing, scatter plots and colour maps.
//!
//! A figure is anything that implements [`Figure`]: one `draw` method, generic over the
//! plotters backend, which [`save_figure`] runs twice, once into an in-memory RGB
//! bitmap (encoded as PNG) and once into an SVG string, and then writes both files
//! atomically (see [`crate::io`]). Text is rendered with the DejaVu Sans font bundled
//! in the crate (`assets/fonts`, registered once with plotters' `ab_glyph` backend
//! under the families `sans-serif`, `serif` and `monospace`), so no system font
//! library is needed. Library functions return [`crate::Result`]; plotters errors
//! become [`Error::Plot`].
//!
//! On top of that: [`Scatter`], a scatter plot of several point sets with a title,
//! axis labels, optional legend and optional colouring by a scalar ([`viridis`]); and
//! [`datasets_grid`], which draws all eight toy data sets.
//!
//! The project's figures (one file each, listed in [`FigureKind`]) compute what they
//! draw from the library at the time they are drawn (nothing is hard-coded): field
//! lines, trajectories, velocities, densities, checks of generated samples, Su's 1-D
//! demo, valid and invalid force laws, a work-precision diagram, PFGM++ across
//! `D`, the few-step samplers against the exact solution, and the exact fields on the
//! 8 x 8 digits ([`digits`]), and what a trained network learned against the exact field of
//! its training set ([`learned`]: velocities, memorisation, training loss, memorisation
//! against the training-set size; [`learned_digits`]: a learned field on the digits). Each takes [`FigureOptions`] (full or quick size, seed, overwrite) and returns
//! the [`FigureFiles`] it wrote. The drawing helpers they share live here: [`axes`]
//! (a titled chart with labelled axes), [`colorbar`], [`heatmap`] (runs of equal
//! colour merged, so SVGs stay small), [`colored_path`] (a polyline coloured by a
//! scalar, clipped to the plot box with [`clip_segment`]), [`arrow`] and
//! [`text_lines`].

pub mod compare;
pub mod density;
pub mod digits;
pub mod field_lines;
pub mod force_laws;
pub mod gallery;
pub mod learned;
pub mod learned_digits;
pub mod pfgmpp;
pub mod samplers;
pub mod su1d;
pub mod trajectories;
pub mod velocity;
pub mod work_precision;

pub use gallery::{make_all, make_figure, FigureKind, FigureOptions, MadeFigure, Size, UserData};

use crate::data::Dataset;
use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView2};
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The bundled font (DejaVu Sans, Bitstream Vera licence in `assets/fonts`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font with plotters (once per process). Every drawing function
/// of this module calls it; call it yourself before drawing text with plotters
/// directly.
pub fn register_fonts() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            plotters::style::register_font(family, FontStyle::Normal, FONT)
                .map_err(|_| "the bundled font is not a valid TrueType font".to_string())?;
        }
        Ok(())
    })
    .clone()
    .map_err(Error::Plot)
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Error {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Error::Plot(e.to_string())
    }
}

/// Something that can draw itself on any plotters drawing area.
pub trait Figure {
    /// Draws the figure on `root` (which is already filled white). Use `?` on plotters
    /// results: their errors convert into [`Error::Plot`].
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// The two files written by [`save_figure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureFiles {
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
}

/// `stem` with `.ext` appended (not replacing any dot already in the name).
fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(stem.as_os_str());
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Draws `figure` at `width x height` pixels and writes `STEM.png` and `STEM.svg`
/// (the extensions are appended to `stem`). Existing files are replaced only if
/// `overwrite`; the directory must exist. The two files appear together or not at
/// all (an [`crate::io::OutputSet`]); nothing partial is left on error.
pub fn save_figure(
    figure: &impl Figure,
    stem: impl AsRef<Path>,
    (width, height): (u32, u32),
    overwrite: bool,
) -> Result<FigureFiles> {
    let stem = stem.as_ref();
    if !(16..=20_000).contains(&width) || !(16..=20_000).contains(&height) {
        return Err(Error::Invalid(format!(
            "figure size {width} x {height} outside 16..=20000 pixels"
        )));
    }
    register_fonts()?;
    let files = FigureFiles {
        png: with_suffix(stem, "png"),
        svg: with_suffix(stem, "svg"),
    };
    if !overwrite {
        for f in [&files.png, &files.svg] {
            if std::fs::symlink_metadata(f).is_ok() {
                return Err(Error::FileExists {
                    path: f.display().to_string(),
                });
            }
        }
    }

    let mut rgb = vec![0u8; 3 * width as usize * height as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    // both files appear together or not at all
    let mut set = crate::io::OutputSet::new(overwrite);
    set.stage(&files.png, |w| {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&rgb)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })?;
    set.stage(&files.svg, |w| std::io::Write::write_all(w, svg.as_bytes()))?;
    set.commit()?;
    Ok(files)
}

/// The viridis colour at `t` in `[0, 1]` (clamped; NaN gives grey).
pub fn viridis(t: f64) -> RGBColor {
    if t.is_nan() {
        return RGBColor(128, 128, 128);
    }
    ViridisRGB::get_color(t.clamp(0.0, 1.0))
}

/// A categorical colour for series `i`, cycling through matplotlib's ten "tab10"
/// colours (blue, orange, green, red, purple, brown, pink, grey, olive, cyan), which
/// all read well on white.
pub fn category_color(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (0x1f, 0x77, 0xb4),
        (0xff, 0x7f, 0x0e),
        (0x2c, 0xa0, 0x2c),
        (0xd6, 0x27, 0x28),
        (0x94, 0x67, 0xbd),
        (0x8c, 0x56, 0x4b),
        (0xe3, 0x77, 0xc2),
        (0x7f, 0x7f, 0x7f),
        (0xbc, 0xbd, 0x22),
        (0x17, 0xbe, 0xcf),
    ];
    let (r, g, b) = TAB10[i % TAB10.len()];
    RGBColor(r, g, b)
}

/// Maps scalars linearly from `[min, max]` onto [`viridis`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorScale {
    min: f64,
    max: f64,
}

impl ColorScale {
    /// A scale from `min` to `max` (finite, `min < max`).
    pub fn new(min: f64, max: f64) -> Result<Self> {
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(Error::Invalid(format!(
                "colour scale needs finite min < max, got [{min}, {max}]"
            )));
        }
        Ok(Self { min, max })
    }

    /// A scale over the finite values of `values` (a unit interval around a constant);
    /// an error if none is finite.
    pub fn spanning(values: &[f64]) -> Result<Self> {
        let (lo, hi) = finite_range(values.iter().copied()).ok_or(Error::Empty {
            what: "finite colour values",
        })?;
        if lo < hi {
            Self::new(lo, hi)
        } else {
            Self::new(lo - 0.5, hi + 0.5)
        }
    }

    /// The colour of `v`.
    pub fn color(&self, v: f64) -> RGBColor {
        viridis((v - self.min) / (self.max - self.min))
    }

    /// The scale's bounds `(min, max)`.
    pub fn bounds(&self) -> (f64, f64) {
        (self.min, self.max)
    }
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// How the points of a [`Series`] are coloured.
#[derive(Debug, Clone)]
pub enum PointColor {
    /// One colour for all points.
    Fixed(RGBColor),
    /// Point `i` gets `scale.color(values[i])`.
    ByValue {
        /// One value per point.
        values: Vec<f64>,
        /// The colour scale.
        scale: ColorScale,
    },
}

/// One point set of a [`Scatter`] plot: an `n x 2` view, drawn as filled dots.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    points: ArrayView2<'a, f64>,
    color: PointColor,
    label: Option<String>,
    radius: u32,
}

impl<'a> Series<'a> {
    /// A series of `points` (`n x 2`) in the first categorical colour, radius 2 px.
    pub fn new(points: ArrayView2<'a, f64>) -> Result<Self> {
        if points.ncols() != 2 {
            return Err(Error::DimensionMismatch {
                what: "scatter points columns",
                expected: 2,
                got: points.ncols(),
            });
        }
        Ok(Self {
            points,
            color: PointColor::Fixed(category_color(0)),
            label: None,
            radius: 2,
        })
    }

    /// Draws all points in `color`.
    pub fn color(mut self, color: RGBColor) -> Self {
        self.color = PointColor::Fixed(color);
        self
    }

    /// Colours point `i` by `values[i]` with viridis over `scale` (or over the range of
    /// the values when `scale` is `None`).
    pub fn color_by(mut self, values: Vec<f64>, scale: Option<ColorScale>) -> Result<Self> {
        if values.len() != self.points.nrows() {
            return Err(Error::DimensionMismatch {
                what: "colour values vs points",
                expected: self.points.nrows(),
                got: values.len(),
            });
        }
        let scale = match scale {
            Some(s) => s,
            None => ColorScale::spanning(&values)?,
        };
        self.color = PointColor::ByValue { values, scale };
        Ok(self)
    }

    /// A legend entry for the series.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Dot radius in pixels (at least 1).
    pub fn radius(mut self, radius: u32) -> Self {
        self.radius = radius.max(1);
        self
    }
}

/// A scatter plot: several [`Series`] on common axes with a title and axis labels.
/// Points with a non-finite coordinate are skipped.
///
/// ```no_run
/// use fieldflow::plots::{save_figure, Scatter, Series};
/// let pts = fieldflow::data::Dataset::Moons.sample_seeded(500, 0);
/// let plot = Scatter::new("moons").series(Series::new(pts.view())?.label("data"));
/// save_figure(&plot, "moons", (600, 500), true)?;
/// # Ok::<(), fieldflow::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scatter<'a> {
    title: String,
    x_label: String,
    y_label: String,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    series: Vec<Series<'a>>,
}

impl<'a> Scatter<'a> {
    /// An empty plot with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    /// Axis labels.
    pub fn axis_labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// Fixed axis ranges (otherwise the data range plus 5 % on each side).
    pub fn ranges(mut self, x: (f64, f64), y: (f64, f64)) -> Self {
        self.x_range = Some(x);
        self.y_range = Some(y);
        self
    }

    /// Adds a series (drawn in the order added).
    pub fn series(mut self, s: Series<'a>) -> Self {
        self.series.push(s);
        self
    }

    fn range(&self, fixed: Option<(f64, f64)>, col: usize) -> Result<(f64, f64)> {
        let (lo, hi) = match fixed {
            Some(r) => r,
            None => {
                let (lo, hi) = finite_range(
                    self.series
                        .iter()
                        .flat_map(|s| s.points.column(col).into_iter().copied()),
                )
                .unwrap_or((-1.0, 1.0));
                let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
                (lo - pad, hi + pad)
            }
        };
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::Invalid(format!(
                "axis range needs finite lo < hi, got [{lo}, {hi}]"
            )));
        }
        Ok((lo, hi))
    }

    /// Draws the plot on `area` (for grids of plots).
    pub fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        register_fonts()?;
        let (x0, x1) = self.range(self.x_range, 0)?;
        let (y0, y1) = self.range(self.y_range, 1)?;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 20))
            .margin(8)
            .x_label_area_size(if self.x_label.is_empty() { 24 } else { 40 })
            .y_label_area_size(if self.y_label.is_empty() { 36 } else { 52 })
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let mut any_label = false;
        for s in &self.series {
            let r = s.radius as i32;
            let dots = s
                .points
                .rows()
                .into_iter()
                .enumerate()
                .filter(|(_, p)| p[0].is_finite() && p[1].is_finite())
                .map(|(i, p)| {
                    let c = match &s.color {
                        PointColor::Fixed(c) => *c,
                        PointColor::ByValue { values, scale } => scale.color(values[i]),
                    };
                    Circle::new((p[0], p[1]), r, c.filled())
                });
            let drawn = chart.draw_series(dots)?;
            if let Some(label) = &s.label {
                any_label = true;
                let legend_color = match &s.color {
                    PointColor::Fixed(c) => *c,
                    PointColor::ByValue { scale, .. } => scale.color(0.5 * (scale.min + scale.max)),
                };
                drawn
                    .label(label.as_str())
                    .legend(move |(x, y)| Circle::new((x, y), 4, legend_color.filled()));
            }
        }
        if any_label {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 14)?;
        }
        Ok(())
    }
}

/// The legend box every figure uses: series labels at `position` in a 13-point font
/// (14 for scatter plots), on a translucent white box with a black border.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

impl Figure for Scatter<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.draw_on(root)
    }
}

/// All eight toy data sets, `n` points each from seed `seed`, in a 2 x 4 grid on
/// common axes `[-4.5, 4.5]^2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetsGrid {
    /// Points per data set.
    pub n: usize,
    /// Seed of every data set's stream.
    pub seed: u64,
}

impl Figure for DatasetsGrid {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            &format!(
                "fieldflow toy data sets ({} points each, seed {})",
                self.n, self.seed
            ),
            ("sans-serif", 24),
        )?;
        let panels = root.split_evenly((2, 4));
        for (k, (set, panel)) in Dataset::ALL.iter().zip(&panels).enumerate() {
            let pts = set.sample_seeded(self.n, self.seed);
            Scatter::new(set.name())
                .ranges((-4.5, 4.5), (-4.5, 4.5))
                .series(Series::new(pts.view())?.color(category_color(k)).radius(1))
                .draw_on(panel)?;
        }
        Ok(())
    }
}

/// Writes `datasets.png` and `datasets.svg` (2000 points per set, seed 0) into the
/// existing directory `out_dir`, replacing them if `overwrite`.
pub fn datasets_grid(out_dir: impl AsRef<Path>, overwrite: bool) -> Result<FigureFiles> {
    let grid = DatasetsGrid { n: 2000, seed: 0 };
    save_figure(
        &grid,
        out_dir.as_ref().join("datasets"),
        (1600, 850),
        overwrite,
    )
}

/// A tick-label formatter.
pub type TickFmt<'f> = Option<&'f dyn Fn(&f64) -> String>;

/// The chart [`axes`] returns for coordinate specs `X` and `Y`.
pub type ChartOf<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// A chart with `f64` coordinates on both axes.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart on `area` with axis descriptions and tick labels in the figures'
/// common style (no inner grid). `x` and `y` are any plotters coordinate specs
/// (`a..b`, or `(a..b).log_scale()` for a logarithmic axis).
pub fn axes<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: X,
    y: Y,
    labels: (&str, &str),
) -> Result<ChartOf<'a, DB, X, Y>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    axes_fmt(area, title, x, y, labels, (None, None))
}

/// [`axes`] with tick formatters for `x` and `y` (e.g. [`fmt_log_tick`]).
pub fn axes_fmt<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: X,
    y: Y,
    (x_label, y_label): (&str, &str),
    (fx, fy): (TickFmt<'_>, TickFmt<'_>),
) -> Result<ChartOf<'a, DB, X, Y>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    register_fonts()?;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(if x_label.is_empty() { 26 } else { 42 })
        .y_label_area_size(if y_label.is_empty() { 40 } else { 58 })
        .build_cartesian_2d(x, y)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .x_labels(7)
        .y_labels(7)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08));
    if let Some(f) = fx {
        mesh.x_label_formatter(f);
    }
    if let Some(f) = fy {
        mesh.y_label_formatter(f);
    }
    mesh.draw()?;
    Ok(chart)
}

/// Tick label for a logarithmic axis: `0.01`, `1`, `1000`, `1e-6`, `1e5`.
pub fn fmt_log_tick(v: &f64) -> String {
    let k = v.log10().round();
    if (v / 10f64.powf(k) - 1.0).abs() < 1e-6 {
        if (-2.0..=4.0).contains(&k) {
            format!("{}", 10f64.powf(k))
        } else {
            format!("1e{k}")
        }
    } else {
        format!("{v:.2e}")
    }
}

/// A vertical colour bar for `scale` on `area` (a narrow strip), labelled `label`;
/// `fmt` formats the tick values.
pub fn colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: &ColorScale,
    label: &str,
    fmt: &dyn Fn(&f64) -> String,
) -> Result<()> {
    register_fonts()?;
    let (lo, hi) = scale.bounds();
    let (w, h) = area.dim_in_pixel();
    let (top, bottom) = (44i32, h as i32 - 50);
    let (left, right) = (8i32, 30i32.min(w as i32));
    let n = 128;
    for k in 0..n {
        let y0 = bottom - (bottom - top) * k / n;
        let y1 = bottom - (bottom - top) * (k + 1) / n;
        let v = lo + (hi - lo) * (k as f64 + 0.5) / n as f64;
        area.draw(&Rectangle::new(
            [(left, y1), (right, y0)],
            scale.color(v).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        BLACK.stroke_width(1),
    ))?;
    let style = TextStyle::from(("sans-serif", 12).into_font()).color(&BLACK);
    for v in nice_ticks(lo, hi, 6) {
        let y = bottom - ((bottom - top) as f64 * (v - lo) / (hi - lo)).round() as i32;
        area.draw(&PathElement::new(vec![(right, y), (right + 4, y)], BLACK))?;
        area.draw_text(&fmt(&v), &style, (right + 6, y - 6))?;
    }
    area.draw_text(
        label,
        &TextStyle::from(("sans-serif", 14).into_font()).color(&BLACK),
        (2, 18),
    )?;
    Ok(())
}

/// Round tick values in `[lo, hi]`: multiples of a step `1, 2, 2.5 or 5 x 10^k`
/// chosen so that there are at most `max` ticks.
pub fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || max == 0 {
        return Vec::new();
    }
    let raw = (hi - lo) / max as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&st| (hi - lo) / st <= max as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Draws `values` (`ny x nx`, row `0` at the bottom) as cells of the box `x` by `y`,
/// coloured by `scale` quantised to `levels` colours; horizontal runs of equal colour
/// are drawn as one rectangle (so an SVG of a smooth field stays small). Non-finite
/// values are left blank.
pub fn heatmap<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    x: (f64, f64),
    y: (f64, f64),
    values: &Array2<f64>,
    scale: &ColorScale,
    levels: usize,
) -> Result<()> {
    let (ny, nx) = values.dim();
    let levels = levels.max(2);
    let (lo, hi) = scale.bounds();
    let level = |v: f64| -> Option<usize> {
        v.is_finite().then(|| {
            (((v - lo) / (hi - lo)) * levels as f64).clamp(0.0, levels as f64 - 1.0) as usize
        })
    };
    let dx = (x.1 - x.0) / nx as f64;
    let dy = (y.1 - y.0) / ny as f64;
    let mut rects = Vec::new();
    for r in 0..ny {
        let mut c = 0;
        while c < nx {
            let q = level(values[[r, c]]);
            let mut e = c + 1;
            while e < nx && level(values[[r, e]]) == q {
                e += 1;
            }
            if let Some(q) = q {
                let color = viridis((q as f64 + 0.5) / levels as f64);
                let y0 = y.0 + r as f64 * dy;
                rects.push(Rectangle::new(
                    [(x.0 + c as f64 * dx, y0), (x.0 + e as f64 * dx, y0 + dy)],
                    color.filled(),
                ));
            }
            c = e;
        }
    }
    chart.draw_series(rects)?;
    Ok(())
}

/// The part of the segment `a -> b` inside the box `[x0, x1] x [y0, y1]`
/// (Liang-Barsky), or `None` when it misses the box.
pub fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x0),
        (dx, x1 - a.0),
        (-dy, a.1 - y0),
        (dy, y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some({
        (
            (a.0 + t0 * dx, a.1 + t0 * dy),
            (a.0 + t1 * dx, a.1 + t1 * dy),
        )
    })
}

/// Draws the polyline `points` clipped to the box `x` by `y`, segment `k` (from point
/// `k` to `k + 1`) coloured by `scale.color(values[k])` quantised to `bands` colours;
/// consecutive segments of one band form one path element. A fixed colour: pass
/// `scale = None` and `color`.
#[allow(clippy::too_many_arguments)]
pub fn colored_path<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: &[(f64, f64)],
    values: &[f64],
    scale: Option<&ColorScale>,
    color: RGBColor,
    bands: usize,
    width: u32,
    (x, y): ((f64, f64), (f64, f64)),
) -> Result<()> {
    let bands = bands.max(1);
    let band_of = |k: usize| -> usize {
        match scale {
            Some(s) => {
                let (lo, hi) = s.bounds();
                let t = ((values.get(k).copied().unwrap_or(lo) - lo) / (hi - lo)).clamp(0.0, 1.0);
                ((t * bands as f64) as usize).min(bands - 1)
            }
            None => 0,
        }
    };
    let color_of = |band: usize| -> RGBColor {
        match scale {
            Some(_) => viridis((band as f64 + 0.5) / bands as f64),
            None => color,
        }
    };
    let mut paths: Vec<(Vec<(f64, f64)>, usize)> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut current_band = usize::MAX;
    for k in 0..points.len().saturating_sub(1) {
        let band = band_of(k);
        match clip_segment(points[k], points[k + 1], x, y) {
            Some((p, q)) => {
                let joined = band == current_band && current.last() == Some(&p);
                if !joined {
                    if current.len() > 1 {
                        paths.push((std::mem::take(&mut current), current_band));
                    }
                    current.clear();
                    current.push(p);
                    current_band = band;
                }
                current.push(q);
            }
            None => {
                if current.len() > 1 {
                    paths.push((std::mem::take(&mut current), current_band));
                }
                current.clear();
                current_band = usize::MAX;
            }
        }
    }
    if current.len() > 1 {
        paths.push((current, current_band));
    }
    chart.draw_series(
        paths
            .into_iter()
            .map(|(p, b)| PathElement::new(p, color_of(b).stroke_width(width))),
    )?;
    Ok(())
}

/// An arrow from `from` to `to` in data coordinates, with a head of `head` pixels.
pub fn arrow<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    from: (f64, f64),
    to: (f64, f64),
    head: f64,
    style: ShapeStyle,
) -> Result<()> {
    let area = chart.plotting_area();
    let (bx, by) = area.get_base_pixel();
    let (fx, fy) = area.map_coordinate(&from);
    let (tx, ty) = area.map_coordinate(&to);
    let (fx, fy, tx, ty) = (fx - bx, fy - by, tx - bx, ty - by);
    let (dx, dy) = ((tx - fx) as f64, (ty - fy) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return Ok(());
    }
    let (ux, uy) = (dx / len, dy / len);
    let h = head.min(0.5 * len);
    let wing = |sign: f64| {
        (
            tx - (h * ux - sign * 0.5 * h * uy).round() as i32,
            ty - (h * uy + sign * 0.5 * h * ux).round() as i32,
        )
    };
    let root = area.strip_coord_spec();
    root.draw(&PathElement::new(vec![(fx, fy), (tx, ty)], style))?;
    root.draw(&Polygon::new(
        vec![(tx, ty), wing(1.0), wing(-1.0)],
        style.filled(),
    ))?;
    Ok(())
}

/// Draws lines of text from pixel `(x, y)` of `area` downwards, `size` pixels high.
pub fn text_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lines: &[String],
    (x, y): (i32, i32),
    size: u32,
) -> Result<()> {
    register_fonts()?;
    let style = TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
    for (k, line) in lines.iter().enumerate() {
        area.draw_text(line, &style, (x, y + k as i32 * (size as i32 * 5 / 4)))?;
    }
    Ok(())
}

/// A plot window `(x range, y range)`.
pub type Window = ((f64, f64), (f64, f64));

/// A plot window around 2-D points: the bounding box grown by `pad` times its
/// larger side on every side, made square around its centre, as `(x range, y range)`.
pub fn window(points: ArrayView2<f64>, pad: f64) -> Window {
    let (x0, x1) = finite_range(points.column(0).iter().copied()).unwrap_or((-1.0, 1.0));
    let (y0, y1) = finite_range(points.column(1).iter().copied()).unwrap_or((-1.0, 1.0));
    let half = 0.5 * (x1 - x0).max(y1 - y0).max(1e-9) * (1.0 + 2.0 * pad);
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    ((cx - half, cx + half), (cy - half, cy + half))
}

/// Formats a p-value for a caption: `0.42`, `3.1e-5`, `< 1e-300`.
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "n/a".to_string()
    } else if p >= 0.01 {
        format!("{p:.2}")
    } else if p >= 1e-300 {
        format!("{p:.1e}")
    } else {
        "< 1e-300".to_string()
    }
}

/// `n` levels from `hi` down to `lo` (both > 0), equally spaced in `ln s`.
pub fn log_levels(hi: f64, lo: f64, n: usize) -> Vec<f64> {
    let n = n.max(2);
    let (a, b) = (hi.ln(), lo.ln());
    (0..n)
        .map(|k| match k {
            0 => hi,
            k if k == n - 1 => lo,
            k => (a + (b - a) * k as f64 / (n - 1) as f64).exp(),
        })
        .collect()
}
