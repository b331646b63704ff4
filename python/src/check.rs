//! `fieldflow.check`: the test battery of `fieldflow check` on numpy arrays, and its
//! report.

use crate::arrays::matrix;
use crate::errors::to_py;
use crate::run::watched;
use fieldflow::checks::battery::BatteryReport;
use fieldflow::run::CheckRequest;
use pyo3::exceptions::{PyKeyError, PyUserWarning};
use pyo3::prelude::*;

/// The report of a battery: the verdict, each test's statistic and p-value, and
/// `str(report)`, the table that `fieldflow check` prints.
#[pyclass(frozen, module = "fieldflow")]
pub struct Report {
    inner: BatteryReport,
}

impl Report {
    fn find(&self, name: &str) -> PyResult<&fieldflow::checks::TestResult> {
        self.inner
            .tests
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.inner.tests.iter().map(|t| t.name.as_str()).collect();
                PyKeyError::new_err(format!(
                    "no test '{name}' in this report (tests: {})",
                    known.join(", ")
                ))
            })
    }
}

#[pymethods]
impl Report {
    /// Whether the samples are rejected at the family-wise level (Bonferroni).
    #[getter]
    fn reject(&self) -> bool {
        self.inner.reject
    }

    /// The family-wise level.
    #[getter]
    fn alpha(&self) -> f64 {
        self.inner.alpha
    }

    /// Number of samples.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n
    }

    /// Size of the reference sample (two-sample) or of the data set (landing).
    #[getter]
    fn m(&self) -> Option<usize> {
        self.inner.m
    }

    /// Dimension.
    #[getter]
    fn d(&self) -> usize {
        self.inner.d
    }

    /// Number of tests that ran (the `k` of the threshold `alpha / k`).
    #[getter]
    fn applicable(&self) -> usize {
        self.inner.applicable
    }

    /// The per-test threshold `alpha / k`.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.threshold()
    }

    /// The names of the tests, in the order run.
    #[getter]
    fn tests(&self) -> Vec<String> {
        self.inner.tests.iter().map(|t| t.name.clone()).collect()
    }

    /// The p-value of test `name` (NaN when it was not applicable).
    fn pvalue(&self, name: &str) -> PyResult<f64> {
        Ok(self.find(name)?.pvalue)
    }

    /// The statistic of test `name` (NaN when it was not applicable).
    fn statistic(&self, name: &str) -> PyResult<f64> {
        Ok(self.find(name)?.statistic)
    }

    /// Why test `name` could not run, or None when it ran.
    fn not_applicable(&self, name: &str) -> PyResult<Option<String>> {
        Ok(self.find(name)?.not_applicable.clone())
    }

    /// The report as JSON, the format of `fieldflow check --json`.
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().map_err(to_py)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        let parts: Vec<String> = self
            .inner
            .tests
            .iter()
            .map(|t| format!("{}={:.4}", t.name, t.pvalue))
            .collect();
        format!(
            "Report(reject={}, n={}, d={}, pvalues: {})",
            if self.inner.reject { "True" } else { "False" },
            self.inner.n,
            self.inner.d,
            parts.join(", ")
        )
    }
}

/// The names of `tests`: a list of names or one comma-separated string, as
/// `--tests`.
fn test_names(tests: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    Ok(match tests.extract::<String>() {
        Ok(s) => s.split(',').map(|t| t.trim().to_string()).collect(),
        Err(_) => tests.extract::<Vec<String>>()?,
    })
}

/// Tests `samples` against a `reference` sample (two-sample tests) or a known
/// `target` (one-sample tests, a spec string as `--target`), with the library's
/// `run::check`, the code of `fieldflow check`: same defaults, seeds and table.
#[pyfunction]
#[pyo3(signature = (samples, reference=None, target=None, alpha=0.01, seed=0, tests=None, permutations=999, bandwidths=None))]
#[allow(clippy::too_many_arguments)]
pub fn check(
    py: Python<'_>,
    samples: &Bound<'_, PyAny>,
    reference: Option<&Bound<'_, PyAny>>,
    target: Option<&str>,
    alpha: f64,
    seed: u64,
    tests: Option<&Bound<'_, PyAny>>,
    permutations: usize,
    bandwidths: Option<Vec<f64>>,
) -> PyResult<Report> {
    let req = CheckRequest {
        alpha,
        seed,
        permutations,
        bandwidths,
        tests: tests.map(test_names).transpose()?,
    };
    let x = matrix(samples, "samples")?;
    let y = reference.map(|r| matrix(r, "reference")).transpose()?;
    let (xv, yv) = (x.as_array(), y.as_ref().map(|y| y.as_array()));
    // the battery polls the call's flag between permutations and Monte Carlo draws
    let report = watched(py, 0, None, |w| {
        fieldflow::run::check(xv, yv, target, &req, Some(&w.cancel))
    })?
    .map_err(to_py)?;
    let needed = report.applicable as f64 / alpha;
    if (permutations as f64 + 1.0) < needed {
        let msg = format!(
            "with {} permutations a permutation test cannot reach p <= {:.3e}; \
             use permutations={} or more",
            permutations,
            report.threshold(),
            needed.ceil() as usize
        );
        let cat = py.get_type::<PyUserWarning>();
        PyErr::warn(
            py,
            &cat,
            &std::ffi::CString::new(msg).unwrap_or_default(),
            1,
        )?;
    }
    Ok(Report { inner: report })
}
