//! CSV point files: text with one point per line and comma-separated coordinates.
//!
//! Blank lines are skipped; fields are trimmed; a leading UTF-8 byte-order mark is
//! ignored. A first non-blank line of which no field parses as a number is a header
//! and is ignored (it must have as many fields as the data rows). A first line whose
//! first field is empty (`,x0,x1` or `,0,1`) is the header that pandas' `to_csv()`
//! writes above an index column: that first column is dropped from every row (the
//! caller reports it). Errors name the 1-based line and column.

use super::{clip, io_err, parse_err};
use crate::error::Result;
use ndarray::Array2;
use std::path::Path;

/// Points parsed from CSV text.
#[derive(Debug)]
pub(crate) struct CsvPoints {
    /// The `n x d` values.
    pub points: Array2<f64>,
    /// The 1-based line of every row.
    pub lines: Vec<usize>,
    /// Whether a pandas index column was dropped.
    pub dropped_index: bool,
}

/// Parses CSV `text` (the content of `path`) into points.
pub(crate) fn parse_points(path: &Path, text: &str) -> Result<CsvPoints> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut ncols: Option<usize> = None;
    let mut from_header = false;
    let mut skip = 0usize;
    let mut first = true;
    let mut values = Vec::new();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if first {
            first = false;
            let pandas = fields.len() >= 2 && fields[0].is_empty();
            if pandas || fields.iter().all(|f| f.parse::<f64>().is_err()) {
                ncols = Some(fields.len());
                from_header = true;
                skip = usize::from(pandas);
                continue;
            }
        }
        match ncols {
            Some(c) if c != fields.len() => {
                let origin = if from_header {
                    " (as in the header)"
                } else {
                    ""
                };
                return Err(parse_err(
                    path,
                    line_no,
                    format!("expected {c} columns{origin}, got {}", fields.len()),
                ));
            }
            Some(_) => {}
            None => ncols = Some(fields.len()),
        }
        for (j, field) in fields.iter().enumerate().skip(skip) {
            let v: f64 = field.parse().map_err(|_| {
                let what = if field.is_empty() {
                    "empty field".to_string()
                } else {
                    format!("cannot parse '{}' as a number", clip(field))
                };
                parse_err(path, line_no, format!("column {}: {what}", j + 1))
            })?;
            if !v.is_finite() {
                return Err(parse_err(
                    path,
                    line_no,
                    format!("column {}: non-finite value '{}'", j + 1, clip(field)),
                ));
            }
            values.push(v);
        }
        lines.push(line_no);
    }
    if lines.is_empty() {
        return Err(io_err(path, "no points in file"));
    }
    let d = ncols.unwrap_or(0) - skip;
    let points = Array2::from_shape_vec((lines.len(), d), values)
        .map_err(|e| io_err(path, format!("internal shape error: {e}")))?;
    Ok(CsvPoints {
        points,
        lines,
        dropped_index: skip == 1,
    })
}
