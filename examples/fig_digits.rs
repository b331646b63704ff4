//! Makes the `digits` figure (`OUT_DIR/digits.png` and `.svg`, replacing them).
//!
//! ```text
//! cargo run --release --example fig_digits -- OUT_DIR
//! ```

use fieldflow::plots::{make_figure, FigureKind, FigureOptions};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: fig_digits OUT_DIR"))?;
    std::fs::create_dir_all(&out)?;
    let opts = FigureOptions {
        overwrite: true,
        ..FigureOptions::default()
    };
    let made = make_figure(FigureKind::Digits, &out, &opts)?;
    println!(
        "wrote {} in {:.1} s",
        made.files.png.display(),
        made.elapsed.as_secs_f64()
    );
    Ok(())
}
