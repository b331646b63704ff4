//! How many threads the network library (candle's CPU backend) works with.
//!
//! candle does not size its parallel work from the rayon pool it is called in, and
//! it has no setting in code: it reads environment variables. Its matrix products
//! (through the `gemm` crate) split each product into `RAYON_NUM_THREADS` parts (else
//! one per physical core), which then run on the rayon pool of the caller; its
//! elementwise operations on tensors of 65,536 elements or more (AdamW's update of a
//! 256 x 256 weight matrix, for example) run on a pool of its own, started at the
//! first such operation with `CANDLE_NUM_THREADS` threads (else `RAYON_NUM_THREADS`,
//! else one per physical core) counting the caller, whose threads spin while they wait
//! for each other. When that pool is larger than the cores free for it, every
//! operation waits for a thread that is not running: on a busy 2-core machine, 200
//! training steps of a 3 x 256 network on the 8 x 8 digits took 1.4 to 9.2 s with
//! the rayon pool on one thread and candle on two, against 0.9 s with candle on one
//! thread too.
//!
//! The library neither prints nor changes the environment, so a program that trains
//! or evaluates networks sets these variables before its first network operation
//! (the `fieldflow` binary writes its `--threads` count into both before it starts
//! any thread); [`candle_threads`] reports what candle uses. No result depends on
//! them: products and elementwise operations give the same bits for any split.

/// The thread counts of candle's CPU backend in this process (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandleThreads {
    /// The parts a matrix product is split into (`RAYON_NUM_THREADS`, else one per
    /// physical core; read at every product). They run on the caller's rayon pool.
    pub products: usize,
    /// The threads of candle's pool for large elementwise operations, the caller
    /// included (fixed when the pool starts).
    pub elementwise: usize,
}

/// The thread counts candle uses in this process. Starts candle's elementwise pool
/// if no operation has yet.
pub fn candle_threads() -> CandleThreads {
    CandleThreads {
        products: candle_core::utils::get_num_threads(),
        elementwise: candle_core::utils::barrier_pool().n_workers() + 1,
    }
}
