//! mcert server: a certificate authority for phone-bound employer certificates and the
//! services around it. `main.rs` only wires; the modules below hold the system.

pub mod applicants;
pub mod applications;
pub mod audit;
pub mod ca;
pub mod captcha;
pub mod certificates;
pub mod cli;
pub mod clock;
pub mod configuration;
pub mod cosign;
pub mod demo;
pub mod domain;
pub mod downloads;
pub mod enrol;
pub mod error;
pub mod failure;
pub mod geo;
pub mod http;
pub mod kv;
pub mod login;
pub mod notify;
pub mod otp;
pub mod outbox;
pub mod people;
pub mod portals;
pub mod providers;
pub mod signing;
pub mod staff;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tokens;
pub mod uploads;
