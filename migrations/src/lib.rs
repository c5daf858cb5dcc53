//! The mcert database schema as frozen history: one change per file, each with a working `down`.
//! Migrations never import server entities; they name tables and columns as strings.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_units;
mod m20261121_000002_create_certificates;
mod m20261121_000003_create_revocations;
mod m20261121_000004_create_audit_log;
mod m20261121_000005_create_authority_keys;
mod m20261121_000006_create_crls;
mod m20261121_000007_create_key_shares;
mod m20261121_000008_create_enrolment_tickets;
mod m20261121_000009_create_applicants;
mod m20261121_000010_create_uploads;
mod m20261121_000011_create_applications;
mod m20261121_000012_create_staff;
mod m20261121_000013_create_employers;
mod m20261121_000014_create_sync_outbox;
mod m20261121_000015_create_notices;
mod m20261121_000016_add_sync_outbox_accounts;
mod m20261121_000017_create_persons;
mod m20261121_000018_create_wx_users;
mod m20261121_000019_create_phone_bindings;
mod m20261121_000020_add_ticket_downloads;
mod m20261121_000021_add_application_agent_id;
mod m20261121_000022_add_person_default_certificate;
mod m20261121_000023_create_certificate_sync;
mod m20261121_000024_create_portals;
mod m20261204_000025_drop_staff_lock_columns;
mod m20261207_000026_add_notice_delivery_columns;
mod m20261207_000027_merge_employers;
mod m20261207_000028_create_grant_sets;
mod m20261207_000029_add_backchannel_logout;
mod m20261207_000030_add_grant_sweep;
mod m20261207_000031_add_revocation_cause;
mod m20261207_000032_create_expiry_reminders;
mod m20261207_000033_create_renewals;
mod m20261207_000034_create_information_changes;
mod m20261207_000035_create_seals;
mod m20261208_000036_add_staff_role;
mod m20261208_000037_add_upload_recognised;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_units::Migration),
            Box::new(m20261121_000002_create_certificates::Migration),
            Box::new(m20261121_000003_create_revocations::Migration),
            Box::new(m20261121_000004_create_audit_log::Migration),
            Box::new(m20261121_000005_create_authority_keys::Migration),
            Box::new(m20261121_000006_create_crls::Migration),
            Box::new(m20261121_000007_create_key_shares::Migration),
            Box::new(m20261121_000008_create_enrolment_tickets::Migration),
            Box::new(m20261121_000009_create_applicants::Migration),
            Box::new(m20261121_000010_create_uploads::Migration),
            Box::new(m20261121_000011_create_applications::Migration),
            Box::new(m20261121_000012_create_staff::Migration),
            Box::new(m20261121_000013_create_employers::Migration),
            Box::new(m20261121_000014_create_sync_outbox::Migration),
            Box::new(m20261121_000015_create_notices::Migration),
            Box::new(m20261121_000016_add_sync_outbox_accounts::Migration),
            Box::new(m20261121_000017_create_persons::Migration),
            Box::new(m20261121_000018_create_wx_users::Migration),
            Box::new(m20261121_000019_create_phone_bindings::Migration),
            Box::new(m20261121_000020_add_ticket_downloads::Migration),
            Box::new(m20261121_000021_add_application_agent_id::Migration),
            Box::new(m20261121_000022_add_person_default_certificate::Migration),
            Box::new(m20261121_000023_create_certificate_sync::Migration),
            Box::new(m20261121_000024_create_portals::Migration),
            Box::new(m20261204_000025_drop_staff_lock_columns::Migration),
            Box::new(m20261207_000026_add_notice_delivery_columns::Migration),
            Box::new(m20261207_000027_merge_employers::Migration),
            Box::new(m20261207_000028_create_grant_sets::Migration),
            Box::new(m20261207_000029_add_backchannel_logout::Migration),
            Box::new(m20261207_000030_add_grant_sweep::Migration),
            Box::new(m20261207_000031_add_revocation_cause::Migration),
            Box::new(m20261207_000032_create_expiry_reminders::Migration),
            Box::new(m20261207_000033_create_renewals::Migration),
            Box::new(m20261207_000034_create_information_changes::Migration),
            Box::new(m20261207_000035_create_seals::Migration),
            Box::new(m20261208_000036_add_staff_role::Migration),
            Box::new(m20261208_000037_add_upload_recognised::Migration),
        ]
    }
}
