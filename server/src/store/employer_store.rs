//! The employer record (`employers`, one row per USCC) inside other stores' transactions: found
//! or registered for a new certificate, registered by a submitted application, updated from an
//! approved one, and its employee count. Callers hold the employer's lock ([`lock_employer`]).
//!
//! [`lock_employer`]: super::txn::lock_employer

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, sea_query::Expr,
};

use super::{
    entities::{certificate, employer},
    txn::{corrupt, unavailable},
};
use crate::{ca::UnitDraft, employers::EmployerProfile, failure::StorageError};

/// The employer of `uscc`, if registered.
pub(super) async fn employer_in(
    db: &impl ConnectionTrait,
    uscc: &str,
) -> Result<Option<employer::Model>, StorageError> {
    employer::Entity::find()
        .filter(employer::COLUMN.uscc.eq(uscc))
        .one(db)
        .await
        .map_err(unavailable)
}

/// The employer certificate `row` belongs to.
pub(super) async fn employer_of(
    db: &impl ConnectionTrait,
    row: &certificate::Model,
) -> Result<employer::Model, StorageError> {
    employer::Entity::find_by_id(row.employer_id)
        .one(db)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            corrupt(
                "certificates",
                format!("employer {} missing", row.employer_id),
            )
        })
}

/// Registers the employer `profile` names if it is not registered yet (a submitted application);
/// a registered employer keeps its details until an application of it is approved.
pub(super) async fn register_in(
    txn: &DatabaseTransaction,
    profile: &EmployerProfile,
    now: DateTime<Utc>,
) -> Result<employer::Model, StorageError> {
    if let Some(existing) = employer_in(txn, &profile.uscc).await? {
        return Ok(existing);
    }
    employer::ActiveModel {
        uscc: Set(profile.uscc.clone()),
        name: Set(profile.name.clone()),
        address: Set(Some(profile.address.clone())),
        region_code: Set(Some(profile.region_code.clone())),
        legal_rep_name: Set(Some(profile.legal_rep_name.clone())),
        legal_rep_id_number: Set(Some(profile.legal_rep_id_number.clone())),
        registration_authority: Set(profile.registration_authority.clone()),
        contact_phone: Set(profile.contact_phone.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(unavailable)
}

/// Writes the details of an approved application's `profile` to its employer (registering it
/// if need be): what a reviewer approved is the employer's record from then on.
pub(super) async fn take_profile_in(
    txn: &DatabaseTransaction,
    profile: &EmployerProfile,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    register_in(txn, profile, now).await?;
    use employer::Column as C;
    employer::Entity::update_many()
        .col_expr(C::Name, Expr::value(profile.name.clone()))
        .col_expr(C::Address, Expr::value(profile.address.clone()))
        .col_expr(C::RegionCode, Expr::value(profile.region_code.clone()))
        .col_expr(C::LegalRepName, Expr::value(profile.legal_rep_name.clone()))
        .col_expr(
            C::LegalRepIdNumber,
            Expr::value(profile.legal_rep_id_number.clone()),
        )
        .col_expr(
            C::RegistrationAuthority,
            Expr::value(profile.registration_authority.clone()),
        )
        .col_expr(C::ContactPhone, Expr::value(profile.contact_phone.clone()))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(employer::COLUMN.uscc.eq(profile.uscc.as_str()))
        .exec(txn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// The employer a new certificate of `unit` belongs to, registered if new. `Err` carries the
/// registered name when it differs from the certificate's (a renamed employer applies anew).
pub(super) async fn employer_for_certificate_in(
    txn: &DatabaseTransaction,
    unit: &UnitDraft,
    now: DateTime<Utc>,
) -> Result<Result<i64, employer::Model>, StorageError> {
    let name = unit.name.as_str();
    match employer_in(txn, unit.uscc.as_str()).await? {
        // A count recorded before the employer's name was known (see the merging migration).
        Some(found) if found.name.is_empty() => {
            employer::Entity::update_many()
                .col_expr(employer::Column::Name, Expr::value(name))
                .col_expr(employer::Column::UpdatedAt, Expr::value(now))
                .filter(employer::COLUMN.id.eq(found.id))
                .exec(txn)
                .await
                .map_err(unavailable)?;
            Ok(Ok(found.id))
        }
        Some(found) if found.name != name => Ok(Err(found)),
        Some(found) => Ok(Ok(found.id)),
        None => {
            let row = employer::ActiveModel {
                uscc: Set(unit.uscc.as_str().to_string()),
                name: Set(name.to_string()),
                region_code: Set(Some(unit.uscc.region_code().to_string())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await
            .map_err(unavailable)?;
            Ok(Ok(row.id))
        }
    }
}

/// Records the registered employee count of the employer `uscc`; false if no such employer is
/// registered.
pub(super) async fn set_employee_count_in(
    txn: &DatabaseTransaction,
    uscc: &str,
    count: u32,
    source: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    use employer::Column as C;
    let changed = employer::Entity::update_many()
        .col_expr(
            C::EmployeeCount,
            Expr::value(i32::try_from(count).unwrap_or(i32::MAX)),
        )
        .col_expr(C::EmployeeCountSource, Expr::value(source))
        .col_expr(C::EmployeeCountUpdatedBy, Expr::value(actor))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(employer::COLUMN.uscc.eq(uscc))
        .exec(txn)
        .await
        .map_err(unavailable)?;
    Ok(changed.rows_affected == 1)
}
