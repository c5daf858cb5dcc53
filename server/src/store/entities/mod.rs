//! sea-orm 2.0 entities, one per table.

pub mod applicant;
pub mod application;
pub mod audit_entry;
pub mod authority_key;
pub mod backchannel_logout;
pub mod certificate;
pub mod certificate_sync;
pub mod crl;
pub mod employer;
pub mod enrolment_ticket;
pub mod expiry_reminder;
pub mod grant_set;
pub mod information_change;
pub mod key_share;
pub mod notice;
pub mod person;
pub mod phone_binding;
pub mod portal;
pub mod portal_session;
pub mod renewal;
pub mod revocation;
pub mod staff;
pub mod sync_outbox;
pub mod upload;
pub mod wx_user;
