//! The integration tests, as one test binary.
//!
//! Each module is one theme (the file names say which); they share the helpers in
//! `common` (statistics) and `support` (running the `fieldflow` binary). One binary
//! instead of one per file: the suite links once, which keeps the README's test command
//! fast. Run one theme with `cargo test --release --test suite cli_sample::`.

mod common;
mod support {
    pub mod cli;
}

mod checks_bad_input;
mod checks_calibration;
mod checks_cli;
mod checks_determinism;
mod checks_fields_prior;
mod checks_golden;
mod checks_not_applicable;
mod checks_power;
mod cli_datasets;
mod cli_digits;
mod cli_hardening;
mod cli_lab;
mod cli_measure;
mod cli_sample;
mod cli_sample_model;
mod cli_samplers;
mod cli_train;
mod data_mixture;
mod data_toy;
mod field_error;
mod field_trait;
mod fields_extreme;
mod fields_math;
mod figures;
mod files_people_have;
mod io_points;
mod io_proptest;
mod io_tables;
mod learn_model;
mod measure_meter;
mod ode_arenstorf;
mod ode_batch;
mod ode_order;
mod ode_problems;
mod outputs_all_or_nothing;
mod plot_files;
mod plots;
mod prior_bound;
mod prop_validation;
mod run_api;
mod run_learned;
mod samplers;
mod sampling;
