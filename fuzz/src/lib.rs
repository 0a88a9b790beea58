//! The targets of `tests/fuzz/targets.rs`, shared with the corpus replay in the test suite.

#[path = "../../tests/fuzz/targets.rs"]
pub mod targets;
