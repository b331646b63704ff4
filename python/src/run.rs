//! Running Rust work with the GIL released, Ctrl-C and a progress callback.
//!
//! The work runs on a helper thread (which drives rayon's pool) while the calling
//! thread, the one that holds the interpreter, waits for it in slices of 50 ms with
//! the GIL released. Between slices it takes the GIL, lets Python run its signal
//! handlers (`PyErr_CheckSignals`: a Ctrl-C raises `KeyboardInterrupt` there) and
//! reports progress to the Python callback. On an exception it raises the library's
//! cancel flag, waits for the work to stop (the samplers look at the flag between
//! steps, so this takes a fraction of a second) and re-raises. The callback is only
//! ever called from the calling thread with the GIL, never from a rayon worker.

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How often the waiting thread looks at signals and progress.
const SLICE: Duration = Duration::from_millis(50);

/// What the work sees: a cancel flag to poll and a progress counter to add to.
pub struct Watch {
    /// Set when the caller wants the work to stop (Ctrl-C, an exception in the
    /// progress callback).
    pub cancel: AtomicBool,
    /// Units of work done so far (particles).
    pub done: AtomicUsize,
}

impl Watch {
    /// Adds `k` units of progress (called from any thread).
    pub fn tick(&self, k: usize) {
        self.done.fetch_add(k, Ordering::Relaxed);
    }
}

/// Reports progress to a Python object: `update(k)` when it has that method (a
/// `tqdm` bar), otherwise a call `f(done, total)`.
fn report(obj: &Bound<'_, PyAny>, delta: usize, done: usize, total: usize) -> PyResult<()> {
    if delta == 0 {
        return Ok(());
    }
    if obj.hasattr("update")? {
        obj.call_method1("update", (delta,))?;
    } else {
        obj.call1((done, total))?;
    }
    Ok(())
}

/// Sets the finished flag when dropped: at the end of the work, or when it panics.
struct Done<'a>(&'a (Mutex<bool>, Condvar));

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let (lock, cv) = self.0;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }
}

/// Runs `work` on a helper thread with the GIL released; see the module docs.
/// `total` is the number of progress units that `work` will report.
pub fn watched<T, F>(
    py: Python<'_>,
    total: usize,
    progress: Option<&Bound<'_, PyAny>>,
    work: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Watch) -> T + Send,
{
    let watch = Watch {
        cancel: AtomicBool::new(false),
        done: AtomicUsize::new(0),
    };
    let watch = &watch;
    // set (and signalled) by the helper thread when the work has returned or panicked
    let finished_flag = (Mutex::new(false), Condvar::new());
    let finished = &finished_flag;
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            let _done = Done(finished);
            work(watch)
        });
        let mut reported = 0usize;
        let mut failure: Option<PyErr> = None;
        loop {
            let finished = py.detach(|| {
                let (lock, cv) = finished;
                let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                let (guard, _) = cv
                    .wait_timeout_while(guard, SLICE, |done| !*done)
                    .unwrap_or_else(|e| e.into_inner());
                *guard
            });
            if let Some(p) = progress {
                let done = watch.done.load(Ordering::Relaxed).min(total);
                if let Err(e) = report(p, done - reported, done, total) {
                    failure = Some(e);
                }
                reported = done;
            }
            if finished || failure.is_some() {
                break;
            }
            if let Err(e) = py.check_signals() {
                failure = Some(e);
                break;
            }
        }
        if failure.is_some() {
            watch.cancel.store(true, Ordering::SeqCst);
        }
        let out = py.detach(|| handle.join());
        match (failure, out) {
            (Some(e), _) => Err(e),
            (None, Ok(v)) => Ok(v),
            (None, Err(_)) => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "fieldflow: the computation panicked (a bug: please report it)",
            )),
        }
    })
}

/// [`watched`] for a library run that takes [`fieldflow::run::Hooks`]: `work` gets
/// hooks whose progress ticks the watch (one unit per particle) and whose cancel
/// flag is the watch's.
pub fn watched_run<T, F>(
    py: Python<'_>,
    total: usize,
    progress: Option<&Bound<'_, PyAny>>,
    work: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce(fieldflow::run::Hooks<'_>) -> T + Send,
{
    watched(py, total, progress, |watch| {
        let tick = |k: usize| watch.tick(k);
        work(fieldflow::run::Hooks {
            progress: Some(&tick),
            cancel: Some(&watch.cancel),
        })
    })
}
