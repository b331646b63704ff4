//! NumPy arrays of any real numeric type, read as `f64`; `.npz` archives.
//!
//! Machine-learning frameworks export `float32` (PyTorch, JAX), sometimes `float16`
//! or integers. Every one of these converts to `f64` without rounding: `f32` and
//! `f16` are subsets of `f64`, and so are the integers up to `2^53` in magnitude. An
//! integer array holding a value that `f64` cannot represent exactly (some above
//! `2^53`) is refused rather than silently rounded. Both byte orders (`<`, `>`, `|`,
//! `=`) and both memory orders (C and Fortran) are read. The header is parsed by
//! `ndarray-npy`; the data must have exactly the size the header announces, which is
//! checked before anything is allocated, so a corrupt header cannot ask for more
//! memory than the file holds.
//!
//! An `.npz` file (NumPy's `savez`, a zip archive of `.npy` members, stored or
//! deflated) holds named arrays: [`npz_member`] picks one by name, or the only one.

use super::io_err;
use crate::error::Result;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::{Header, Layout};
use std::io::Read;
use std::path::Path;

/// The first bytes of every `.npy` file.
pub(crate) const NPY_MAGIC: &[u8] = b"\x93NUMPY";
/// The first bytes of a zip archive (and so of an `.npz` file).
pub(crate) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// An array read from a `.npy` file, converted to `f64`.
#[derive(Debug)]
pub(crate) struct NpyArray {
    /// The values, in the file's shape (standard layout).
    pub array: ArrayD<f64>,
    /// NumPy's name of the element type in the file (`float32`, `int64`, ...).
    pub dtype: &'static str,
}

/// The element kind and size of a descriptor such as `<f4`, and its byte order.
fn parse_descr(descr: &str) -> Option<(char, usize, bool)> {
    let (big, rest) = match descr.chars().next()? {
        '<' | '|' => (false, &descr[1..]),
        '>' => (true, &descr[1..]),
        '=' => (cfg!(target_endian = "big"), &descr[1..]),
        _ => (false, descr),
    };
    let mut chars = rest.chars();
    let kind = chars.next()?;
    let size: usize = chars.as_str().parse().ok()?;
    Some((kind, size, big))
}

fn dtype_name(kind: char, size: usize) -> Option<&'static str> {
    Some(match (kind, size) {
        ('f', 8) => "float64",
        ('f', 4) => "float32",
        ('f', 2) => "float16",
        ('i', 1) => "int8",
        ('i', 2) => "int16",
        ('i', 4) => "int32",
        ('i', 8) => "int64",
        ('u', 1) => "uint8",
        ('u', 2) => "uint16",
        ('u', 4) => "uint32",
        ('u', 8) => "uint64",
        _ => return None,
    })
}

/// `N` bytes from a chunk of exactly that length.
fn word<const N: usize>(chunk: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(chunk);
    a
}

macro_rules! convert {
    ($data:expr, $t:ty, $big:expr, $f:expr) => {{
        const N: usize = std::mem::size_of::<$t>();
        $data
            .chunks_exact(N)
            .map(|c| {
                let w = word::<N>(c);
                let v = if $big {
                    <$t>::from_be_bytes(w)
                } else {
                    <$t>::from_le_bytes(w)
                };
                $f(v)
            })
            .collect::<Vec<_>>()
    }};
}

/// Integers as `f64`, refusing the first one that `f64` cannot hold exactly.
fn exact_ints(path: &Path, values: Vec<i128>) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let f = v as f64;
        if f as i128 != v {
            return Err(io_err(
                path,
                format!(
                    "integer {v} at flat index {i} cannot be represented exactly as float64 \
                     (integers above 2^53 in magnitude are not all representable); \
                     convert the array yourself if rounding is acceptable"
                ),
            ));
        }
        out.push(f);
    }
    Ok(out)
}

/// Parses a whole `.npy` file held in `bytes`; `path` names it in errors.
pub(crate) fn parse_npy(path: &Path, bytes: &[u8]) -> Result<NpyArray> {
    let mut data = bytes;
    let header = Header::from_reader(&mut data)
        .map_err(|e| io_err(path, format!("not a .npy array: {e}")))?;
    let unsupported = |d: &dyn std::fmt::Display| {
        io_err(
            path,
            format!(
                "unsupported element type {d} (supported: float64, float32, float16, \
                 int8..int64, uint8..uint64)"
            ),
        )
    };
    let descr = header
        .type_descriptor
        .as_string()
        .ok_or_else(|| unsupported(&header.type_descriptor))?;
    let (kind, size, big) = parse_descr(descr).ok_or_else(|| unsupported(&descr))?;
    let dtype = dtype_name(kind, size).ok_or_else(|| unsupported(&format!("'{descr}'")))?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b));
    let needed = count.and_then(|c| c.checked_mul(size));
    if needed != Some(data.len()) {
        return Err(io_err(
            path,
            format!(
                "the header announces shape {:?} of {dtype} ({} bytes) but the file holds {} bytes of data",
                header.shape,
                needed.map_or_else(|| "too many".to_string(), |n| n.to_string()),
                data.len()
            ),
        ));
    }
    let values: Vec<f64> = match (kind, size) {
        ('f', 8) => convert!(data, f64, big, |v| v),
        ('f', 4) => convert!(data, f32, big, f64::from),
        ('f', 2) => convert!(data, u16, big, |v| half::f16::from_bits(v).to_f64()),
        ('i', 1) => convert!(data, i8, big, f64::from),
        ('i', 2) => convert!(data, i16, big, f64::from),
        ('i', 4) => convert!(data, i32, big, f64::from),
        ('i', 8) => exact_ints(path, convert!(data, i64, big, i128::from))?,
        ('u', 1) => convert!(data, u8, big, f64::from),
        ('u', 2) => convert!(data, u16, big, f64::from),
        ('u', 4) => convert!(data, u32, big, f64::from),
        ('u', 8) => exact_ints(path, convert!(data, u64, big, i128::from))?,
        _ => return Err(unsupported(&format!("'{descr}'"))),
    };
    let shape = IxDyn(&header.shape);
    let array = match header.layout {
        Layout::Standard => ArrayD::from_shape_vec(shape, values),
        Layout::Fortran => ArrayD::from_shape_vec(shape.f(), values),
    }
    .map_err(|e| io_err(path, format!("bad shape: {e}")))?;
    Ok(NpyArray {
        array: array.as_standard_layout().into_owned(),
        dtype,
    })
}

/// The `.npy` bytes of the member `name` of the `.npz` archive in `bytes` (or of its
/// only member when `name` is `None`), and the member's name.
pub(crate) fn npz_member(
    path: &Path,
    bytes: &[u8],
    name: Option<&str>,
) -> Result<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| io_err(path, format!("not a .npz archive: {e}")))?;
    let mut names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.strip_suffix(".npy"))
        .map(str::to_string)
        .collect();
    names.sort();
    let listed = || {
        names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pick = match name {
        Some(n) if names.iter().any(|m| m == n) => n.to_string(),
        Some(n) => {
            return Err(io_err(
                path,
                format!("no array named '{n}' (arrays: {})", listed()),
            ))
        }
        None => match names.len() {
            1 => names[0].clone(),
            0 => return Err(io_err(path, "the .npz archive holds no arrays")),
            k => {
                return Err(io_err(
                    path,
                    format!(
                        "the .npz archive holds {k} arrays ({}): name one as FILE.npz:NAME",
                        listed()
                    ),
                ))
            }
        },
    };
    let mut member = zip
        .by_name(&format!("{pick}.npy"))
        .map_err(|e| io_err(path, format!("cannot read array '{pick}': {e}")))?;
    let mut out = Vec::new();
    member
        .read_to_end(&mut out)
        .map_err(|e| io_err(path, format!("cannot read array '{pick}': {e}")))?;
    Ok((pick, out))
}
