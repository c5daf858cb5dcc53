//! End-to-end tests: one binary, every test starts its own server with fresh state.

mod helpers;
mod operations;
mod pki;
