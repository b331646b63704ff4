//! How fast a sampling run stops when its cancel flag is set.
//!
//! Starts a long run (10^6 particles, dopri5 at `rtol = atol = 1e-9`, then the
//! few-step sampler edm-heun with 10^5 levels, each for minutes), sets the flag from
//! another thread after 200 ms, and prints the time from the flag to the return of
//! `Error::Cancelled`.
//!
//! ```text
//! cargo run --release --example cancel_latency
//! ```

use fieldflow::run::{datasets, sample, FieldSpec, Hooks, SampleRequest};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() -> fieldflow::Result<()> {
    let data = datasets("8gaussians", Some(1000), 0)?;
    let mf = FieldSpec::new("poisson").build(data.view(), None)?;
    let ode = SampleRequest {
        n: Some(1_000_000),
        rtol: 1e-9,
        atol: 1e-9,
        ..SampleRequest::default()
    };
    let few = SampleRequest {
        n: Some(1_000_000),
        method: "edm-heun".into(),
        steps: Some(100_000),
        ..SampleRequest::default()
    };
    for req in [ode, few] {
        let flag = AtomicBool::new(false);
        let set_at = std::sync::Mutex::new(None);
        let (res, returned) = std::thread::scope(|sc| {
            sc.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                *set_at.lock().unwrap() = Some(Instant::now());
                flag.store(true, Ordering::Relaxed);
            });
            let hooks = Hooks {
                progress: None,
                cancel: Some(&flag),
            };
            let r = sample(&mf, &req, None, hooks);
            (r, Instant::now())
        });
        let set = set_at.lock().unwrap().expect("the flag was set");
        println!(
            "{:>8}: {:?} {:.1} ms after the flag ({} threads)",
            req.method,
            res.err(),
            returned.saturating_duration_since(set).as_secs_f64() * 1e3,
            rayon::current_num_threads()
        );
    }
    Ok(())
}
