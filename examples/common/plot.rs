//! PNG figures with plotters: bitmap backend, text drawn by ab_glyph with the bundled
//! `assets/fonts/DejaVuSans.ttf` (registered on first use as "sans-serif"), so no system font
//! library is needed. Every function writes one PNG and returns its path.
//!
//! - [`line_chart`]: any curves (x, y) with a legend; [`history`]: a training [`History`] as
//!   loss and accuracy panels, train and validation.
//! - [`confusion_matrix`]: a heatmap with the counts written in the cells.
//! - [`image_grid`]: grayscale images (8x8 digits, 28x28 MNIST, reconstructions) with captions.
//! - [`scatter`]: 2-D points colored by class, with a legend (e.g. an autoencoder's latent space).
//! - [`decision_boundary`]: a function of (x, y) shaded on a grid, with the data points on top.

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Once;
use tapegrad::data::ConfusionMatrix;
use tapegrad::train::History;
use tapegrad::{Error, Result};

/// The font family name used by every figure.
pub const FONT: &str = "sans-serif";

/// Ten distinguishable colors (matplotlib's "tab10").
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The color of class or series `i` (cycling through [`PALETTE`]).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled DejaVu Sans as [`FONT`] (once per process).
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The bundled file is a valid TrueType font; if it were not, text would fail to
            // draw and the figure functions would return that error.
            let _ = plotters::style::register_font(FONT, style, FONT_BYTES);
        }
    });
}

/// What a drawing returns: plotters' errors, boxed.
pub type Drawn = std::result::Result<(), Box<dyn StdError>>;

/// Runs a drawing on a fresh white `w`x`h` bitmap at `path` and turns a plotters error into
/// an [`Error::Io`] naming the file.
pub fn figure(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
) -> Result<PathBuf> {
    register_font();
    let result: Drawn = (|| {
        let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })();
    result.map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("drawing the figure failed: {e}")),
    })?;
    Ok(path.to_path_buf())
}

/// A text style of `size` pixels, anchored at `pos`.
pub fn text(size: f64, color: &RGBColor, h: HPos, v: VPos) -> TextStyle<'_> {
    TextStyle::from((FONT, size).into_font())
        .color(color)
        .pos(Pos::new(h, v))
}

/// One curve of a [`line_chart`].
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
    /// The color.
    pub color: RGBColor,
    /// Dashed (e.g. the training curve next to a solid validation curve).
    pub dashed: bool,
}

impl Series {
    /// A solid curve.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Series {
            name: name.into(),
            points,
            color,
            dashed: false,
        }
    }

    /// The same curve, dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// The axes of one chart panel.
#[derive(Clone, Debug)]
pub struct Axes<'a> {
    /// The panel's title.
    pub title: &'a str,
    /// The x axis label.
    pub x_label: &'a str,
    /// The y axis label.
    pub y_label: &'a str,
    /// A logarithmic y axis (positive values only; others are left out).
    pub log_y: bool,
    /// An x axis of whole numbers (epochs, steps): ticks only at integers, labelled `1`, `2`,
    /// ... (see [`integer_ticks`] and [`integer_tick`]).
    pub integer_x: bool,
}

/// The x and y ranges of the series, padded a little.
fn bounds(series: &[Series], log_y: bool) -> ((f64, f64), (f64, f64)) {
    let pts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, if log_y { 0.1 } else { 0.0 }, 1.0);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if log_y {
        ((x0, x1), (y0 / 1.3, y1 * 1.3))
    } else {
        let pad = ((y1 - y0) * 0.05).max(1e-6);
        ((x0, x1), (y0 - pad, y1 + pad))
    }
}

/// A chart builder on `area` with the examples' look: `title` as its caption, the margins, and
/// `y_labels` pixels for the y axis labels.
fn panel<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    title: &str,
    y_labels: u32,
) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, (FONT, 22))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(45)
        .y_label_area_size(y_labels);
    builder
}

/// The mesh of a panel, ready to draw: the axis labels of `axes`, the examples' fonts and tick
/// labels, no light grid lines.
fn mesh<'a, 'b, X, Y>(
    chart: &'b mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    axes: &Axes,
) -> MeshStyle<'a, 'b, X, Y, BitMapBackend<'a>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut style = chart.configure_mesh();
    style
        .x_desc(axes.x_label)
        .y_desc(axes.y_label)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .x_label_formatter(if axes.integer_x {
            &integer_tick
        } else {
            &format_tick
        })
        .y_label_formatter(&format_tick)
        .light_line_style(WHITE.mix(0.0));
    style
}

/// Draws the curves of one panel on `area`.
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    axes: &Axes,
    series: &[Series],
) -> Drawn {
    let ((x0, x1), (y0, y1)) = bounds(series, axes.log_y);
    let x_ticks = if axes.integer_x {
        integer_ticks(x0, x1)
    } else {
        10
    };
    let mut builder = panel(area, axes.title, 70);
    if axes.log_y {
        let chart = builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
        draw_curves(chart, axes, series, x_ticks)
    } else {
        let chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        draw_curves(chart, axes, series, x_ticks)
    }
}

/// The most x ticks an axis of whole numbers from `x0` to `x1` may ask plotters for: at most
/// one per integer (and at most 10), so that its steps of 1, 2 or 5 times a power of ten are
/// never fractions.
pub fn integer_ticks(x0: f64, x1: f64) -> usize {
    let span = (x1 - x0).abs();
    if span.is_finite() {
        (span.floor() as usize + 1).clamp(1, 10)
    } else {
        10
    }
}

/// The label of a tick on an axis of whole numbers: the integer (`3`, not `3.0`), or nothing
/// for a tick that is not one.
pub fn integer_tick(v: &f64) -> String {
    let r = v.round();
    if (v - r).abs() < 1e-6 && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        String::new()
    }
}

/// Draws the mesh (at most `x_ticks` x ticks), the curves (finite points only; positive ones
/// only on a log scale) and the legend of one panel on a `chart` built for `axes`.
fn draw_curves<'a, X, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    axes: &Axes,
    series: &[Series],
    x_ticks: usize,
) -> Drawn
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    mesh(&mut chart, axes).x_labels(x_ticks).draw()?;
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite() && (p.1 > 0.0 || !axes.log_y))
            .collect();
        add_series(&mut chart, s, pts)?;
    }
    legend_box(&mut chart, series.len(), quiet_corner(series, axes.log_y))?;
    Ok(())
}

/// The corner where the legend covers the fewest points (upper right on a tie).
fn quiet_corner(series: &[Series], log_y: bool) -> SeriesLabelPosition {
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    corner_for(&pts, log_y)
}

/// The corner of the plot of `pts` with the fewest points under a legend-sized box.
fn corner_for(pts: &[(f64, f64)], log_y: bool) -> SeriesLabelPosition {
    let f = |y: f64| if log_y { y.max(1e-300).ln() } else { y };
    let ok: Vec<(f64, f64)> = pts
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0))
        .map(|&(x, y)| (x, f(y)))
        .collect();
    let (x0, x1) = ok
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = ok
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (wx, wy) = ((x1 - x0).max(1e-12), (y1 - y0).max(1e-12));
    let count = |right: bool, upper: bool| {
        ok.iter()
            .filter(|p| {
                let (u, v) = ((p.0 - x0) / wx, (p.1 - y0) / wy);
                (if right { u > 0.6 } else { u < 0.4 }) && (if upper { v > 0.7 } else { v < 0.3 })
            })
            .count()
    };
    [
        (SeriesLabelPosition::UpperRight, count(true, true)),
        (SeriesLabelPosition::LowerRight, count(true, false)),
        (SeriesLabelPosition::UpperLeft, count(false, true)),
        (SeriesLabelPosition::LowerLeft, count(false, false)),
    ]
    .into_iter()
    .min_by_key(|c| c.1)
    .map_or(SeriesLabelPosition::UpperRight, |c| c.0)
}

/// A tick label with a sensible number of digits.
fn format_tick(v: &f64) -> String {
    let v = *v;
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn add_series<'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    s: &Series,
    pts: Vec<(f64, f64)>,
) -> Drawn
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let c = s.color;
    let style = c.stroke_width(2);
    if s.dashed {
        chart
            .draw_series(DashedLineSeries::new(pts, 6, 4, style))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (7, 0)], c.stroke_width(2))
                    + PathElement::new(vec![(12, 0), (20, 0)], c.stroke_width(2))
            });
    } else if pts.len() == 1 {
        chart
            .draw_series(std::iter::once(Circle::new(pts[0], 4, c.filled())))?
            .label(s.name.clone())
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
    } else {
        chart
            .draw_series(LineSeries::new(pts, style))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    Ok(())
}

fn legend_box<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    n: usize,
    position: SeriesLabelPosition,
) -> Drawn {
    if n > 1 {
        chart
            .configure_series_labels()
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .position(position)
            .draw()?;
    }
    Ok(())
}

/// A line chart of `series` in one panel, `w`x`h` pixels.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written.
pub fn line_chart(
    path: &Path,
    size: (u32, u32),
    axes: &Axes,
    series: &[Series],
) -> Result<PathBuf> {
    figure(path, size, |root| draw_panel(root, axes, series))
}

/// The training loss of every epoch (or step) of `h` on a log scale, 720x460 pixels, x labelled
/// `step`: the figure of the examples that train one full batch per step.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written.
pub fn loss_curve(path: &Path, title: &str, h: &History) -> Result<PathBuf> {
    let points: Vec<(f64, f64)> = h
        .epochs
        .iter()
        .map(|e| (e.epoch as f64, e.train_loss))
        .collect();
    line_chart(
        path,
        (720, 460),
        &Axes {
            title,
            x_label: "step",
            y_label: "loss (log scale)",
            log_y: true,
            integer_x: true,
        },
        &[Series::new("train", points, color(0))],
    )
}

/// A training [`History`] as figures side by side: the loss per epoch (train dashed, validation
/// solid; a log scale when it spans more than a factor 20) and, when the history has
/// accuracies, the accuracy per epoch in percent. `title` heads the figure.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written.
pub fn history(path: &Path, title: &str, h: &History) -> Result<PathBuf> {
    let x = |e: &tapegrad::train::EpochStats| e.epoch as f64;
    let curve = |f: &dyn Fn(&tapegrad::train::EpochStats) -> Option<f64>| -> Vec<(f64, f64)> {
        h.epochs
            .iter()
            .filter_map(|e| f(e).map(|v| (x(e), v)))
            .collect()
    };
    let mut loss = vec![Series::new("train", curve(&|e| Some(e.train_loss)), color(0)).dashed()];
    let val_loss = curve(&|e| e.val_loss);
    if !val_loss.is_empty() {
        loss.push(Series::new("validation", val_loss, color(1)));
    }
    let mut acc = Vec::new();
    let train_acc = curve(&|e| e.train_accuracy.map(|a| 100.0 * a));
    if !train_acc.is_empty() {
        acc.push(Series::new("train", train_acc, color(0)).dashed());
    }
    let val_acc = curve(&|e| e.val_accuracy.map(|a| 100.0 * a));
    if !val_acc.is_empty() {
        acc.push(Series::new("validation", val_acc, color(1)));
    }
    let (lo, hi) = loss
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let log_y = lo > 0.0 && hi / lo > 20.0;
    let panels = if acc.is_empty() { 1 } else { 2 };
    let best = h
        .best_epoch
        .map(|b| {
            format!(
                "  (best epoch {b}{})",
                if h.restored_best { ", restored" } else { "" }
            )
        })
        .unwrap_or_default();
    let heading = format!("{title}{best}");
    figure(path, (560 * panels, 460), |root| {
        let (top, body) = root.split_vertically(40);
        top.draw_text(
            &heading,
            &text(24.0, &BLACK, HPos::Center, VPos::Center),
            ((280 * panels) as i32, 22),
        )?;
        let areas = body.split_evenly((1, panels as usize));
        draw_panel(
            &areas[0],
            &Axes {
                title: if log_y { "loss (log scale)" } else { "loss" },
                x_label: "epoch",
                y_label: "loss",
                log_y,
                integer_x: true,
            },
            &loss,
        )?;
        if panels == 2 {
            draw_panel(
                &areas[1],
                &Axes {
                    title: "accuracy",
                    x_label: "epoch",
                    y_label: "accuracy (%)",
                    log_y: false,
                    integer_x: true,
                },
                &acc,
            )?;
        }
        Ok(())
    })
}

/// Maps `t` in [0, 1] to white → dark blue.
fn blues(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// A confusion matrix as a heatmap: rows are the true classes, columns the predicted ones; each
/// cell shows its count, shaded by the fraction of its row (so each class's recall reads as the
/// diagonal's darkness). `names` label the classes (the matrix's own names when empty).
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written.
pub fn confusion_matrix(path: &Path, title: &str, cm: &ConfusionMatrix) -> Result<PathBuf> {
    let k = cm.classes();
    let names: Vec<String> = if cm.names().len() == k {
        cm.names().to_vec()
    } else {
        (0..k).map(|i| i.to_string()).collect()
    };
    // row labels are right-aligned before the grid; the axis title goes left of the longest;
    // a cell is wide enough for its column's name (up to 160 px)
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as f64;
    let base = (560 / k.max(1)).clamp(24, 64) as i32;
    let base_size = (base as f64 * 0.4).clamp(12.0, 18.0);
    let cell = base.max(((longest * base_size * 0.62).ceil() as i32 + 12).min(160));
    let label_size = (cell as f64 * 0.4).clamp(12.0, 18.0);
    let name_px = (longest * label_size * 0.62).ceil() as i32;
    let (left, top) = (name_px + 56, 90);
    let size = (
        (left + cell * k as i32 + 40) as u32,
        (top + cell * k as i32 + 40) as u32,
    );
    figure(path, size, |root| {
        root.draw_text(
            title,
            &text(22.0, &BLACK, HPos::Center, VPos::Center),
            (size.0 as i32 / 2, 22),
        )?;
        root.draw_text(
            "predicted class",
            &text(18.0, &BLACK, HPos::Center, VPos::Center),
            (left + cell * k as i32 / 2, 52),
        )?;
        let ylab =
            text(18.0, &BLACK, HPos::Center, VPos::Center).transform(FontTransform::Rotate270);
        root.draw_text(
            "true class",
            &ylab,
            (left - name_px - 34, top + cell * k as i32 / 2),
        )?;
        for (i, name) in names.iter().enumerate() {
            let c = left + cell * i as i32 + cell / 2;
            root.draw_text(
                name,
                &text(label_size, &BLACK, HPos::Center, VPos::Center),
                (c, top - 14),
            )?;
            root.draw_text(
                name,
                &text(label_size, &BLACK, HPos::Right, VPos::Center),
                (left - 8, top + cell * i as i32 + cell / 2),
            )?;
        }
        for t in 0..k {
            let row: usize = (0..k).map(|p| cm.get(t, p)).sum();
            for p in 0..k {
                let n = cm.get(t, p);
                let frac = if row > 0 { n as f64 / row as f64 } else { 0.0 };
                let (x, y) = (left + cell * p as i32, top + cell * t as i32);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    blues(frac).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(200, 200, 200).stroke_width(1),
                ))?;
                if n > 0 {
                    let ink = if frac > 0.5 { WHITE } else { BLACK };
                    root.draw_text(
                        &n.to_string(),
                        &text(
                            (cell as f64 * 0.36).clamp(10.0, 18.0),
                            &ink,
                            HPos::Center,
                            VPos::Center,
                        ),
                        (x + cell / 2, y + cell / 2),
                    )?;
                }
            }
        }
        Ok(())
    })
}

/// One image of an [`image_grid`]: row-major grayscale pixels, `width`x`height`.
#[derive(Clone, Debug)]
pub struct GridImage {
    /// `width * height` intensities; shown from `range.0` (black) to `range.1` (white) (see
    /// [`GridImage::range`]).
    pub pixels: Vec<f32>,
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// A caption under the image (may be empty).
    pub caption: String,
    /// The caption's color (e.g. red for a wrong prediction).
    pub caption_color: RGBColor,
    /// The intensity range mapped to black..white; `None` = the image's own min..max.
    pub range: Option<(f32, f32)>,
    /// Draw dark ink on white (digits as on paper) instead of white on black.
    pub invert: bool,
}

impl GridImage {
    /// An image with a black caption, scaled to its own min..max, dark ink on white.
    pub fn new(pixels: Vec<f32>, width: usize, height: usize, caption: impl Into<String>) -> Self {
        GridImage {
            pixels,
            width,
            height,
            caption: caption.into(),
            caption_color: BLACK,
            range: None,
            invert: true,
        }
    }

    /// Sets the caption color.
    pub fn caption_color(mut self, c: RGBColor) -> Self {
        self.caption_color = c;
        self
    }

    /// Maps `lo..hi` to the gray ramp (the same scale for every image, e.g. `(0.0, 1.0)`).
    pub fn range(mut self, lo: f32, hi: f32) -> Self {
        self.range = Some((lo, hi));
        self
    }

    /// White ink on black (as MNIST is usually shown) instead of dark ink on white.
    pub fn white_on_black(mut self) -> Self {
        self.invert = false;
        self
    }
}

/// Grayscale images in a grid of `cols` columns, each pixel drawn as a `scale`x`scale` square,
/// with its caption underneath and `title` on top. An empty list draws the title and a note.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written; [`Error::InvalidArgument`]
/// when an image's pixel count is not `width * height`.
pub fn image_grid(
    path: &Path,
    title: &str,
    images: &[GridImage],
    cols: usize,
    scale: u32,
) -> Result<PathBuf> {
    for (i, im) in images.iter().enumerate() {
        if im.pixels.len() != im.width * im.height {
            return Err(Error::invalid(
                "image_grid",
                format!(
                    "image {i} has {} pixels, not {}x{}",
                    im.pixels.len(),
                    im.width,
                    im.height
                ),
            ));
        }
    }
    let cols = cols.clamp(1, images.len().max(1));
    let rows = images.len().div_ceil(cols).max(1);
    let (iw, ih) = images
        .iter()
        .fold((1, 1), |(w, h), im| (w.max(im.width), h.max(im.height)));
    let s = scale.max(1) as i32;
    let has_caption = images.iter().any(|im| !im.caption.is_empty());
    let caption_h = if has_caption { 24 } else { 6 };
    let pad = 10;
    // captions are 14 px text: about 8 px per character
    let caption_px = images
        .iter()
        .map(|im| im.caption.chars().count() as i32 * 8)
        .max()
        .unwrap_or(0);
    let cell_w = (iw as i32 * s).max(caption_px) + pad;
    let cell_h = ih as i32 * s + caption_h + pad;
    let top = 44;
    let width = (cell_w * cols as i32 + pad).max(320);
    let height = top + cell_h * rows as i32 + pad;
    figure(path, (width as u32, height as u32), |root| {
        root.draw_text(
            title,
            &text(22.0, &BLACK, HPos::Center, VPos::Center),
            (width / 2, 22),
        )?;
        if images.is_empty() {
            root.draw_text(
                "(none)",
                &text(18.0, &BLACK, HPos::Center, VPos::Center),
                (width / 2, top + 20),
            )?;
        }
        let x_off = (width - cell_w * cols as i32 - pad) / 2 + pad;
        for (n, im) in images.iter().enumerate() {
            let (r, c) = ((n / cols) as i32, (n % cols) as i32);
            let cx = x_off + c * cell_w + (cell_w - pad) / 2;
            let x0 = cx - im.width as i32 * s / 2;
            let y0 = top + r * cell_h;
            let (lo, hi) = im.range.unwrap_or_else(|| {
                im.pixels
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)))
            });
            let span = if hi > lo { hi - lo } else { 1.0 };
            for (i, &v) in im.pixels.iter().enumerate() {
                let t = ((v - lo) / span).clamp(0.0, 1.0);
                let g = if im.invert { 1.0 - t } else { t };
                let g = (g * 255.0).round() as u8;
                let (px, py) = ((i % im.width) as i32, (i / im.width) as i32);
                let (x, y) = (x0 + px * s, y0 + py * s);
                root.draw(&Rectangle::new(
                    [(x, y), (x + s, y + s)],
                    RGBColor(g, g, g).filled(),
                ))?;
            }
            root.draw(&Rectangle::new(
                [
                    (x0 - 1, y0 - 1),
                    (x0 + im.width as i32 * s, y0 + im.height as i32 * s),
                ],
                RGBColor(160, 160, 160).stroke_width(1),
            ))?;
            if !im.caption.is_empty() {
                root.draw_text(
                    &im.caption,
                    &text(14.0, &im.caption_color, HPos::Center, VPos::Top),
                    (cx, y0 + im.height as i32 * s + 5),
                )?;
            }
        }
        Ok(())
    })
}

/// The range of `v`, padded by 5 % on each side.
fn padded(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad, hi + pad)
}

/// 2-D points colored by class with a legend (class `c` is named `names[c]`, or its number).
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written; [`Error::InvalidArgument`]
/// when `points` and `labels` differ in length.
pub fn scatter(
    path: &Path,
    axes: &Axes,
    points: &[(f64, f64)],
    labels: &[usize],
    names: &[String],
) -> Result<PathBuf> {
    if points.len() != labels.len() {
        return Err(Error::invalid(
            "scatter",
            format!("{} points but {} labels", points.len(), labels.len()),
        ));
    }
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let xr = padded(points.iter().map(|p| p.0));
    let yr = padded(points.iter().map(|p| p.1));
    figure(path, (760, 640), |root| {
        let mut chart = panel(root, axes.title, 70).build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
        mesh(&mut chart, axes).draw()?;
        for c in 0..classes {
            let col = color(c);
            let name = names.get(c).cloned().unwrap_or_else(|| c.to_string());
            chart
                .draw_series(
                    points
                        .iter()
                        .zip(labels)
                        .filter(|(_, &l)| l == c)
                        .map(|(&p, _)| Circle::new(p, 3, col.mix(0.7).filled())),
                )?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, col.filled()));
        }
        if classes > 1 {
            chart
                .configure_series_labels()
                .label_font((FONT, 16))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.5))
                .position(corner_for(points, false))
                .draw()?;
        }
        Ok(())
    })
}

/// A 2-D decision boundary: `f` (e.g. the model's probability of class 1) evaluated on a
/// `grid`x`grid` lattice over the points' range (padded), shaded from blue (0) through white
/// (0.5) to orange (1), with the 0.5 level visible as the color change, and the points drawn
/// on top in their class colors (class 0 blue, class 1 orange), outlined in black.
///
/// `f` receives every lattice point at once (rows `[x, y]`) and returns one value each.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be drawn or written; whatever `f` returns;
/// [`Error::InvalidArgument`] when `f` returns the wrong number of values or `points` and
/// `labels` differ in length.
pub fn decision_boundary(
    path: &Path,
    axes: &Axes,
    mut f: impl FnMut(&[(f64, f64)]) -> Result<Vec<f64>>,
    points: &[(f64, f64)],
    labels: &[usize],
    grid: usize,
) -> Result<PathBuf> {
    if points.len() != labels.len() {
        return Err(Error::invalid(
            "decision_boundary",
            format!("{} points but {} labels", points.len(), labels.len()),
        ));
    }
    let span = |v: (f64, f64)| {
        let pad = ((v.1 - v.0) * 0.25).max(0.25);
        (v.0 - pad, v.1 + pad)
    };
    let xr = span(padded(points.iter().map(|p| p.0)));
    let yr = span(padded(points.iter().map(|p| p.1)));
    let g = grid.max(2);
    let step = ((xr.1 - xr.0) / g as f64, (yr.1 - yr.0) / g as f64);
    let lattice: Vec<(f64, f64)> = (0..g * g)
        .map(|i| {
            let (ix, iy) = (i % g, i / g);
            (
                xr.0 + (ix as f64 + 0.5) * step.0,
                yr.0 + (iy as f64 + 0.5) * step.1,
            )
        })
        .collect();
    let values = f(&lattice)?;
    if values.len() != lattice.len() {
        return Err(Error::invalid(
            "decision_boundary",
            format!(
                "f returned {} values for {} points",
                values.len(),
                lattice.len()
            ),
        ));
    }
    let shade = |v: f64| {
        let v = if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let (lo, hi) = (color(0), color(1));
        let mix = |a: u8, w: f64| (255.0 + (a as f64 - 255.0) * w).round() as u8;
        let (c, w) = if v < 0.5 {
            (lo, (0.5 - v) * 2.0 * 0.55)
        } else {
            (hi, (v - 0.5) * 2.0 * 0.55)
        };
        RGBColor(mix(c.0, w), mix(c.1, w), mix(c.2, w))
    };
    figure(path, (640, 600), |root| {
        let mut chart = panel(root, axes.title, 60).build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
        chart.draw_series(lattice.iter().zip(&values).map(|(&(x, y), &v)| {
            Rectangle::new(
                [
                    (x - step.0 / 2.0, y - step.1 / 2.0),
                    (x + step.0 / 2.0, y + step.1 / 2.0),
                ],
                shade(v).filled(),
            )
        }))?;
        mesh(&mut chart, axes)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
        for c in 0..classes {
            let col = color(c);
            chart
                .draw_series(
                    points
                        .iter()
                        .zip(labels)
                        .filter(|(_, &l)| l == c)
                        .map(|(&p, _)| {
                            EmptyElement::at(p)
                                + Circle::new((0, 0), 7, col.filled())
                                + Circle::new((0, 0), 7, BLACK.stroke_width(1))
                        }),
                )?
                .label(format!("class {c}"))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, col.filled()));
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.5))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    })
}
