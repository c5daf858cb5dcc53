//! End-to-end tests: one binary, every test starts its own server with fresh state.

mod applicants;
mod applications;
mod changes;
mod clock;
mod downloads;
mod expiry;
mod grants;
mod helpers;
mod initiator;
mod keys;
mod login;
mod oidc_client;
mod operations;
mod people;
mod phone;
mod pki;
mod renewal;
mod requests;
mod revocation;
mod seals;
mod signatures;
mod staff;
