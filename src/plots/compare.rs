//! Figure (in progress).

use super::{FigureFiles, FigureOptions};
use crate::Result;
use std::path::Path;

/// Makes the figure in `out_dir`.
pub fn make(_out_dir: &Path, _opts: &FigureOptions) -> Result<FigureFiles> {
    Err(crate::Error::Invalid("not yet".into()))
}
