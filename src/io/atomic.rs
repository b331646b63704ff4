//! All-or-nothing output: several files appear together or not at all.
//!
//! An [`OutputSet`] writes every file of a run in two phases. Staging writes each
//! file's content to a hidden temporary file beside its target (`.NAME.PID-K.tmp`,
//! synced to disk); nothing visible changes. Committing then moves the temporaries
//! into place one after the other. A target that exists (allowed only when the set
//! may overwrite) is first renamed to a hidden backup (`.NAME.PID-K.bak`); if a later
//! move fails, the files already placed are removed and the backups renamed back, so
//! the directory is as it was before the run, replaced files included (a rename keeps
//! the very same file, so the restore is bit for bit). Only when every file is in
//! place are the backups deleted. Without overwriting, a target is placed with a hard
//! link, which fails atomically if the file appeared in the meantime.
//!
//! Every temporary, backup and freshly placed file is listed in a process-wide
//! registry while it exists. [`abandon_pending`] undoes all of them (removes the
//! temporaries and the new files, restores the backups) and blocks any further
//! write: a program calls it from its SIGINT/SIGTERM handler right before exiting, so
//! an interrupted run leaves nothing behind. Every change to the file system made here
//! happens while the registry's lock is held, so the handler always sees a consistent
//! list.

use super::{io_err, show};
use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What a registry entry stands for, and how [`abandon_pending`] undoes it.
#[derive(Debug)]
enum Entry {
    /// A temporary file: removed.
    Temp(PathBuf),
    /// A target moved aside: renamed back to `target`.
    Backup { backup: PathBuf, target: PathBuf },
    /// A target placed by an unfinished commit: removed.
    Placed(PathBuf),
}

#[derive(Debug)]
struct Registry {
    entries: Vec<(u64, Entry)>,
    abandoned: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    entries: Vec::new(),
    abandoned: false,
});

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn next_id() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// The registry, locked (a panic elsewhere does not make it unusable).
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    fn add(&mut self, entry: Entry) -> u64 {
        let id = next_id();
        self.entries.push((id, entry));
        id
    }

    fn remove(&mut self, id: u64) {
        self.entries.retain(|(i, _)| *i != id);
    }

    fn refuse_if_abandoned(&self, path: &Path) -> Result<()> {
        if self.abandoned {
            return Err(io_err(path, "not written: the program is stopping"));
        }
        Ok(())
    }
}

/// Undoes every unfinished write of the process (removes temporary and freshly placed
/// files, renames backups back) and blocks all further writes of this module.
///
/// Meant for a signal handler right before the process exits: it keeps the
/// registry locked for good, so a write in progress on another thread waits instead
/// of creating a new file. Never call it in a process that goes on writing.
pub fn abandon_pending() {
    let mut reg = registry();
    reg.abandoned = true;
    for (_, entry) in reg.entries.drain(..).rev() {
        match entry {
            Entry::Temp(p) | Entry::Placed(p) => {
                let _ = fs::remove_file(p);
            }
            Entry::Backup { backup, target } => {
                let _ = fs::rename(backup, target);
            }
        }
    }
    std::mem::forget(reg);
}

/// The number of unfinished writes in the registry (temporaries, backups, placed
/// files); 0 when no [`OutputSet`] is open.
pub fn pending_count() -> usize {
    registry().entries.len()
}

/// A staged file: its target and its temporary.
#[derive(Debug)]
struct Staged {
    target: PathBuf,
    tmp: PathBuf,
    tmp_id: u64,
}

/// A file placed by [`OutputSet::commit`], with its backup if it replaced one.
struct Placed {
    target: PathBuf,
    placed_id: u64,
    backup: Option<(PathBuf, u64)>,
}

/// Output files written all together or not at all (see the module docs).
///
/// ```no_run
/// use fieldflow::io::OutputSet;
/// let mut out = OutputSet::new(false);
/// out.points("gen.csv", ndarray::array![[1.0, 2.0]].view())?;
/// out.text("run.json", "{}\n")?;
/// out.commit()?; // both files appear, or neither
/// # Ok::<(), fieldflow::Error>(())
/// ```
#[derive(Debug)]
pub struct OutputSet {
    overwrite: bool,
    staged: Vec<Staged>,
}

impl OutputSet {
    /// An empty set; `overwrite` allows replacing existing files.
    pub fn new(overwrite: bool) -> Self {
        Self {
            overwrite,
            staged: Vec::new(),
        }
    }

    /// Writes the content of `path` through `fill` into a hidden temporary file beside
    /// it. Refuses a directory, a missing parent directory, a path already staged in
    /// this set, and (unless overwriting) an existing file.
    pub(crate) fn stage(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let name = path
            .file_name()
            .ok_or_else(|| io_err(path, "not a file name"))?;
        let dir: PathBuf = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            let why = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(io_err(path, format!("directory {} {why}", dir.display())));
        }
        if path.is_dir() {
            return Err(io_err(path, "is a directory"));
        }
        if self.staged.iter().any(|s| s.target == path) {
            return Err(io_err(path, "named twice among the outputs"));
        }
        if !self.overwrite && fs::symlink_metadata(path).is_ok() {
            return Err(Error::FileExists { path: show(path) });
        }
        let (tmp, tmp_id, file) = {
            let mut reg = registry();
            reg.refuse_if_abandoned(path)?;
            let tmp = dir.join(format!(
                ".{}.{}-{}.tmp",
                name.to_string_lossy(),
                std::process::id(),
                next_id()
            ));
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| io_err(path, format!("cannot write: {e}")))?;
            let id = reg.add(Entry::Temp(tmp.clone()));
            (tmp, id, file)
        };
        let result = (|| -> std::io::Result<()> {
            let mut w = BufWriter::new(file);
            fill(&mut w)?;
            w.flush()?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()
        })();
        if let Err(e) = result {
            let mut reg = registry();
            let _ = fs::remove_file(&tmp);
            reg.remove(tmp_id);
            return Err(io_err(path, format!("cannot write: {e}")));
        }
        self.staged.push(Staged {
            target: path.to_path_buf(),
            tmp,
            tmp_id,
        });
        Ok(())
    }

    /// Moves every staged file into place. If one fails, the files placed before it
    /// are removed and the files they replaced restored, and the error is returned:
    /// the targets are then exactly as before.
    pub fn commit(mut self) -> Result<()> {
        let staged = std::mem::take(&mut self.staged);
        let mut placed: Vec<Placed> = Vec::new();
        let mut rest = staged.into_iter();
        while let Some(s) = rest.next() {
            match self.place(&s) {
                Ok(p) => placed.push(p),
                Err(e) => {
                    // the failed file's temporary, then the others not yet placed
                    self.staged = std::iter::once(s).chain(rest).collect();
                    rollback(placed);
                    return Err(e);
                }
            }
        }
        let mut reg = registry();
        for p in placed {
            if let Some((backup, id)) = p.backup {
                let _ = fs::remove_file(backup);
                reg.remove(id);
            }
            reg.remove(p.placed_id);
        }
        Ok(())
    }

    /// Places one staged file (the registry locked throughout).
    fn place(&self, s: &Staged) -> Result<Placed> {
        let mut reg = registry();
        let path = s.target.as_path();
        reg.refuse_if_abandoned(path)?;
        let exists = fs::symlink_metadata(path).is_ok();
        if exists && !self.overwrite {
            return Err(Error::FileExists { path: show(path) });
        }
        let mut backup = None;
        if exists {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let bak =
                s.tmp
                    .with_file_name(format!(".{name}.{}-{}.bak", std::process::id(), next_id()));
            fs::rename(path, &bak)
                .map_err(|e| io_err(path, format!("cannot move the old file aside: {e}")))?;
            let id = reg.add(Entry::Backup {
                backup: bak.clone(),
                target: path.to_path_buf(),
            });
            backup = Some((bak, id));
        }
        let moved = if self.overwrite {
            fs::rename(&s.tmp, path).map_err(|e| io_err(path, format!("cannot write: {e}")))
        } else {
            // A hard link fails atomically if the target appeared; fall back to a
            // checked rename on file systems without hard links.
            match fs::hard_link(&s.tmp, path) {
                Ok(()) => {
                    let _ = fs::remove_file(&s.tmp);
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::FileExists { path: show(path) })
                }
                Err(_) if fs::symlink_metadata(path).is_ok() => {
                    Err(Error::FileExists { path: show(path) })
                }
                Err(_) => {
                    fs::rename(&s.tmp, path).map_err(|e| io_err(path, format!("cannot write: {e}")))
                }
            }
        };
        if let Err(e) = moved {
            if let Some((bak, id)) = backup {
                let _ = fs::rename(&bak, path);
                reg.remove(id);
            }
            return Err(e);
        }
        reg.remove(s.tmp_id);
        let placed_id = reg.add(Entry::Placed(path.to_path_buf()));
        Ok(Placed {
            target: path.to_path_buf(),
            placed_id,
            backup,
        })
    }
}

/// Removes placed files and restores their backups, last first.
fn rollback(placed: Vec<Placed>) {
    let mut reg = registry();
    for p in placed.into_iter().rev() {
        let _ = fs::remove_file(&p.target);
        reg.remove(p.placed_id);
        if let Some((bak, id)) = p.backup {
            let _ = fs::rename(&bak, &p.target);
            reg.remove(id);
        }
    }
}

impl Drop for OutputSet {
    /// Removes the temporaries of files that were staged but not committed.
    fn drop(&mut self) {
        if self.staged.is_empty() {
            return;
        }
        let mut reg = registry();
        for s in self.staged.drain(..) {
            let _ = fs::remove_file(&s.tmp);
            reg.remove(s.tmp_id);
        }
    }
}
