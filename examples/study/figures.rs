//! The study figures, drawn with plotters in the examples' style (common/plot.rs: its font,
//! palette and figure helper): [`box_plot`] (with the seconds per epoch beside it when asked),
//! [`median_curves`] (loss per epoch, integer epochs), [`heatmaps`] and [`error_bars`]
//! (positive values per name on a log scale). Each writes one PNG and returns its path.
//!
//! Category axes (settings, parameters, latent sizes, depths) are labelled by hand: the chart
//! runs over `0..n` and each label is written under the middle of its slot.

use super::common::plot::{color, figure, text, Drawn, FONT};
use super::summary::Summary;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::path::{Path, PathBuf};
use tapegrad::Result;

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Pixels per category slot.
const SLOT: u32 = 130;

/// `(lo, hi)` padded by 8% of the span (at least `1e-9`).
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let pad = ((hi - lo) * 0.08).max(1e-9);
    (lo - pad, hi + pad)
}

/// A tick label with a sensible number of digits.
fn tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Writes `labels` under the slots `0..n` of a chart whose x axis runs over `0..n`, on `root`
/// (the whole figure: `backend_coord` gives the figure's pixels).
fn slot_labels<Y: Ranged<ValueType = f64>>(
    root: &Area<'_>,
    chart: &ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    labels: &[String],
    y_bottom: f64,
) -> Drawn {
    for (i, label) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, y_bottom));
        root.draw_text(
            label,
            &text(15.0, &BLACK, HPos::Center, VPos::Top),
            (px, py + 8),
        )?;
    }
    Ok(())
}

/// A heading centred on the top 40 pixels of `root` (`width` wide); returns the rest.
fn headed<'a>(
    root: &Area<'a>,
    heading: &str,
    width: u32,
) -> std::result::Result<Area<'a>, Box<dyn std::error::Error>> {
    let (top, body) = root.split_vertically(40);
    top.draw_text(
        heading,
        &text(20.0, &BLACK, HPos::Center, VPos::Center),
        ((width / 2) as i32, 22),
    )?;
    Ok(body)
}

/// Tukey's whiskers: the most extreme values within 1.5 IQR of the box, and the values
/// beyond them (outliers).
fn whiskers(s: &Summary, scale: f64) -> ((f64, f64), Vec<f64>) {
    let (q1, q3) = (s.quartiles.0 * scale, s.quartiles.1 * scale);
    let reach = 1.5 * (q3 - q1);
    let vals: Vec<f64> = s.values.iter().map(|v| v * scale).collect();
    let inside = |v: &&f64| **v >= q1 - reach && **v <= q3 + reach;
    let lo = vals.iter().filter(inside).copied().fold(f64::MAX, f64::min);
    let hi = vals.iter().filter(inside).copied().fold(f64::MIN, f64::max);
    let out = vals.iter().filter(|v| !inside(v)).copied().collect();
    ((lo.min(q1), hi.max(q3)), out)
}

/// The box plot of every setting's runs on `area`: box from Q1 to Q3, median line, whiskers
/// to the furthest values within 1.5 IQR, the other values as circles; values times `scale`.
fn draw_boxes(
    root: &Area<'_>,
    area: &Area<'_>,
    summaries: &[Summary],
    y_label: &str,
    scale: f64,
) -> Drawn {
    let n = summaries.len().max(1);
    let all = summaries
        .iter()
        .flat_map(|s| s.values.iter().map(|v| v * scale));
    let (lo, hi) = all
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (y0, y1) = if lo > hi { (0.0, 1.0) } else { padded(lo, hi) };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n as f64, y0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .y_label_formatter(&tick)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, s) in summaries.iter().enumerate() {
        let c = color(i);
        let x = i as f64;
        let (q1, q3, med) = (
            s.quartiles.0 * scale,
            s.quartiles.1 * scale,
            s.median * scale,
        );
        let ((lo, hi), outliers) = whiskers(s, scale);
        let mid = x + 0.5;
        chart.draw_series([
            PathElement::new(vec![(mid, lo), (mid, q1)], BLACK.stroke_width(1)),
            PathElement::new(vec![(mid, q3), (mid, hi)], BLACK.stroke_width(1)),
            PathElement::new(vec![(x + 0.38, lo), (x + 0.62, lo)], BLACK.stroke_width(1)),
            PathElement::new(vec![(x + 0.38, hi), (x + 0.62, hi)], BLACK.stroke_width(1)),
        ])?;
        chart.draw_series([
            Rectangle::new([(x + 0.25, q1), (x + 0.75, q3)], c.mix(0.35).filled()),
            Rectangle::new([(x + 0.25, q1), (x + 0.75, q3)], c.stroke_width(2)),
        ])?;
        chart.draw_series([PathElement::new(
            vec![(x + 0.25, med), (x + 0.75, med)],
            BLACK.stroke_width(3),
        )])?;
        chart.draw_series(
            outliers
                .into_iter()
                .map(|v| Circle::new((mid, v), 3, c.stroke_width(1))),
        )?;
    }
    let labels: Vec<String> = summaries.iter().map(|s| s.label.clone()).collect();
    slot_labels(root, &chart, &labels, y0)
}

/// The median seconds per epoch of each setting as bars on `area`, the value above each.
fn draw_times(root: &Area<'_>, area: &Area<'_>, summaries: &[Summary]) -> Drawn {
    let n = summaries.len().max(1);
    let top = summaries
        .iter()
        .map(|s| s.seconds_per_epoch)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y1 = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n as f64, 0.0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("seconds per epoch (median, one thread)")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .y_label_formatter(&tick)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, s) in summaries.iter().enumerate() {
        let (x, v) = (i as f64, s.seconds_per_epoch);
        chart.draw_series([Rectangle::new(
            [(x + 0.2, 0.0), (x + 0.8, v)],
            color(i).mix(0.8).filled(),
        )])?;
        chart.draw_series([Text::new(
            format!("{} s", tick(&v)),
            (x + 0.5, v + y1 * 0.02),
            text(14.0, &BLACK, HPos::Center, VPos::Bottom),
        )])?;
    }
    let labels: Vec<String> = summaries.iter().map(|s| s.label.clone()).collect();
    slot_labels(root, &chart, &labels, 0.0)
}

/// A box plot of each setting's metric over its runs (values times `scale`, e.g. 100 for
/// percent), titled `title`; with `times`, the median seconds per epoch as bars beside it.
///
/// # Errors
/// [`tapegrad::Error::Io`] naming the file when it cannot be drawn or written.
pub fn box_plot(
    path: &Path,
    title: &str,
    summaries: &[Summary],
    y_label: &str,
    scale: f64,
    times: bool,
) -> Result<PathBuf> {
    let panel = (SLOT * summaries.len().max(1) as u32 + 110).max(560);
    let panels = if times { 2 } else { 1 };
    let width = panel * panels;
    figure(path, (width, 500), |root| {
        let body = headed(root, title, width)?;
        if times {
            let (left, right) = body.split_horizontally(panel);
            draw_boxes(root, &left, summaries, y_label, scale)?;
            draw_times(root, &right, summaries)
        } else {
            draw_boxes(root, &body, summaries, y_label, scale)
        }
    })
}

/// One setting's median curves for [`median_curves`].
#[derive(Clone, Debug)]
pub struct Curves {
    /// The legend entry.
    pub label: String,
    /// The validation loss per epoch (drawn solid).
    pub val: Vec<f64>,
    /// The training loss per epoch (drawn dashed).
    pub train: Vec<f64>,
}

/// Draws the curves on a chart with integer epochs on x.
fn draw_curves<'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordi32, Y>>,
    curves: &[Curves],
    epochs: i32,
    log: bool,
) -> Drawn
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(if log { "loss (log scale)" } else { "loss" })
        .x_labels((epochs as usize).min(12) + 1)
        .x_label_formatter(&|e: &i32| e.to_string())
        .y_label_formatter(&tick)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let points = |c: &[f64]| -> Vec<(i32, f64)> {
        c.iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && (!log || **v > 0.0))
            .map(|(e, v)| (e as i32 + 1, *v))
            .collect()
    };
    for (i, c) in curves.iter().enumerate() {
        let col = color(i);
        chart
            .draw_series(LineSeries::new(points(&c.val), col.stroke_width(2)))?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
        chart.draw_series(DashedLineSeries::new(
            points(&c.train),
            6,
            4,
            col.stroke_width(1),
        ))?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

/// Each setting's median validation loss per epoch (solid) and training loss (dashed, same
/// color), epochs labelled as integers; a log scale when the losses span more than 20x.
///
/// # Errors
/// [`tapegrad::Error::Io`] naming the file when it cannot be drawn or written.
pub fn median_curves(path: &Path, title: &str, curves: &[Curves]) -> Result<PathBuf> {
    let epochs = curves
        .iter()
        .map(|c| c.val.len().max(c.train.len()))
        .max()
        .unwrap_or(1)
        .max(1) as i32;
    let vals = curves
        .iter()
        .flat_map(|c| c.val.iter().chain(&c.train))
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = vals.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo > hi { (0.1, 1.0) } else { (lo, hi) };
    let log = hi / lo > 20.0;
    let width = 900;
    figure(path, (width, 560), |root| {
        let body = headed(root, title, width)?;
        let mut builder = ChartBuilder::on(&body);
        builder
            .margin(12)
            .margin_right(24)
            .x_label_area_size(45)
            .y_label_area_size(70);
        let x = 1..epochs.max(2);
        if log {
            let chart = builder.build_cartesian_2d(x, (lo / 1.2..hi * 1.2).log_scale())?;
            draw_curves(chart, curves, epochs, true)
        } else {
            let (y0, y1) = padded(lo, hi);
            let chart = builder.build_cartesian_2d(x, y0.max(0.0)..y1)?;
            draw_curves(chart, curves, epochs, false)
        }
    })
}

/// One heatmap of [`heatmaps`]: `values[r][c]` for row label `rows[r]` and column `cols[c]`.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// The panel's title.
    pub title: String,
    /// The row labels (top to bottom).
    pub rows: Vec<String>,
    /// The column labels (left to right).
    pub cols: Vec<String>,
    /// The values, by row.
    pub values: Vec<Vec<f64>>,
}

/// `t` in [0, 1] as white → dark blue.
fn shade(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// A value as written in a heatmap cell.
fn cell_text(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// Draws one heatmap on `area` (each panel shaded from its own smallest to largest value).
fn draw_heatmap(root: &Area<'_>, area: &Area<'_>, map: &Heatmap) -> Drawn {
    let (nr, nc) = (map.rows.len().max(1), map.cols.len().max(1));
    let finite = map
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(&map.title, (FONT, 19))
        .margin(12)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..nc as f64, 0.0..nr as f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .draw()?;
    for (r, row) in map.values.iter().enumerate() {
        // row 0 at the top
        let y = (nr - 1 - r) as f64;
        for (c, &v) in row.iter().enumerate() {
            let t = (v - lo) / span;
            let x = c as f64;
            chart.draw_series([Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                shade(t).filled(),
            )])?;
            let ink = if t > 0.55 { WHITE } else { BLACK };
            chart.draw_series([Text::new(
                cell_text(v),
                (x + 0.5, y + 0.5),
                text(14.0, &ink, HPos::Center, VPos::Center),
            )])?;
        }
    }
    slot_labels(root, &chart, &map.cols, 0.0)?;
    for (r, label) in map.rows.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, (nr - 1 - r) as f64 + 0.5));
        root.draw_text(
            label,
            &text(15.0, &BLACK, HPos::Right, VPos::Center),
            (px - 8, py),
        )?;
    }
    let (px, py) = chart.backend_coord(&(nc as f64 / 2.0, 0.0));
    root.draw_text(
        "latent size",
        &text(16.0, &BLACK, HPos::Center, VPos::Top),
        (px, py + 30),
    )?;
    Ok(())
}

/// Heatmaps side by side under `title`, each cell shaded within its panel and labelled with
/// its value.
///
/// # Errors
/// [`tapegrad::Error::Io`] naming the file when it cannot be drawn or written.
pub fn heatmaps(path: &Path, title: &str, maps: &[Heatmap]) -> Result<PathBuf> {
    let panel = 560u32;
    let width = panel * maps.len().max(1) as u32;
    figure(path, (width.max(900), 540), |root| {
        let body = headed(root, title, width.max(900))?;
        let areas = body.split_evenly((1, maps.len().max(1)));
        for (area, map) in areas.iter().zip(maps) {
            draw_heatmap(root, area, map)?;
        }
        Ok(())
    })
}

/// Positive `values` (name, value) as bars on a log scale, each with its value above.
///
/// # Errors
/// [`tapegrad::Error::Io`] naming the file when it cannot be drawn or written.
pub fn error_bars(path: &Path, title: &str, values: &[(String, f64)]) -> Result<PathBuf> {
    let n = values.len().max(1);
    let pos = values
        .iter()
        .map(|v| v.1)
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = pos.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo > hi { (1e-12, 1.0) } else { (lo, hi) };
    let (y0, y1) = (lo / 10.0, hi * 10.0);
    let width = (SLOT * n as u32 + 120).max(720);
    figure(path, (width, 480), |root| {
        let body = headed(root, title, width)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_right(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..n as f64, (y0..y1).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("relative error (log scale)")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|v: &f64| format!("{v:.0e}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, (_, v)) in values.iter().enumerate() {
            let x = i as f64;
            let v = if v.is_finite() && *v > 0.0 { *v } else { y0 };
            chart.draw_series([Rectangle::new(
                [(x + 0.2, y0), (x + 0.8, v)],
                color(i).mix(0.8).filled(),
            )])?;
            chart.draw_series([Text::new(
                format!("{v:.1e}"),
                (x + 0.5, v * 1.3),
                text(14.0, &BLACK, HPos::Center, VPos::Bottom),
            )])?;
        }
        let labels: Vec<String> = values.iter().map(|v| v.0.clone()).collect();
        for (i, label) in labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, y0));
            root.draw_text(
                label,
                &text(15.0, &BLACK, HPos::Center, VPos::Top),
                (px, py + 8),
            )?;
        }
        Ok(())
    })
}
