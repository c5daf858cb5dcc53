//! Durable state with sea-orm: SQLite (embedded default) or PostgreSQL.

mod applicant_store;
mod application_store;
mod cert_store;
mod change_store;
mod employer_store;
pub mod entities;
mod grant_store;
mod key_store;
mod notice_store;
mod outbox_store;
mod people_store;
mod portal_store;
mod reminder_store;
mod renewal_store;
mod seal_store;
mod session_store;
mod staff_store;
mod sync_store;
mod txn;
mod upload_store;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mcert_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;

/// Every store on one sea-orm connection: SQLite (embedded default) or PostgreSQL. The
/// `*_store` modules implement the core modules' storage traits on it; the times they record
/// (creation, updates, audit entries) come from its clock.
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl SeaStore {
    /// Wraps a migrated connection; `clock` dates what it writes.
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub(super) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The time to record.
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Connects (creating the SQLite file's directory if needed).
pub async fn connect(url: &SecretString) -> Result<DatabaseConnection, DbErr> {
    let url = url.expose_secret();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(file).parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite") {
        // SQLite has one writer; two pooled connections upgrading read transactions to write
        // ones fail with "database is locked" at once. One connection serialises them instead.
        options.max_connections(1);
    }
    Database::connect(options).await
}

/// Applies pending migrations.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Rolls back the last `steps` migrations.
pub async fn migrate_down(db: &DatabaseConnection, steps: u32) -> Result<(), DbErr> {
    Migrator::down(db, Some(steps)).await
}

/// `(name, applied)` for every migration.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    let migrations = Migrator::get_migration_with_status(db).await?;
    Ok(migrations
        .iter()
        .map(|m| {
            (
                m.name().to_string(),
                matches!(m.status(), sea_orm_migration::MigrationStatus::Applied),
            )
        })
        .collect())
}
