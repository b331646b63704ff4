//! Draws the eight toy data sets into `OUT_DIR/datasets.png` and `.svg`.
//!
//! ```text
//! cargo run --release --example datasets_figure -- OUT_DIR
//! ```

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: datasets_figure OUT_DIR"))?;
    std::fs::create_dir_all(&out)?;
    let files = fieldflow::plots::datasets_grid(&out, true)?;
    println!("wrote {} and {}", files.png.display(), files.svg.display());
    Ok(())
}
