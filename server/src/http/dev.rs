//! Development-mode endpoints (`MCERT_DEV_MODE=true`): they stand in for staff tools so that the
//! SDK, `mcert-phone` and portal developers can exercise mcert on their own machine. The route
//! table mounts them only in development mode.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::{
    ca::{HolderDraft, UnitDraft},
    domain::{PersonName, PhoneNumber, ResidentId, UnitName, Uscc},
    error::AppError,
};

/// Who the ticket is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevTicketRequest {
    /// Unified social credit code.
    pub uscc: String,
    /// Employer name.
    pub unit_name: String,
    /// Holder name.
    pub holder_name: String,
    /// Holder resident ID number.
    pub id_number: String,
    /// Holder mobile phone.
    pub phone: String,
}

/// A new ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevTicketResponse {
    /// The ticket, shown once.
    pub ticket: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Creates an enrolment ticket without a staff login (development mode only).
#[utoipa::path(post, path = "/dev/enrolment-tickets", tag = "development",
    request_body = DevTicketRequest,
    responses((status = 201, body = DevTicketResponse), (status = 400, body = crate::error::ErrorBody)))]
#[post("/dev/enrolment-tickets")]
pub async fn enrolment_ticket(
    state: web::Data<AppState>,
    body: web::Json<DevTicketRequest>,
) -> Result<HttpResponse, AppError> {
    let unit = UnitDraft {
        uscc: Uscc::parse(&body.uscc)?,
        name: UnitName::parse(&body.unit_name)?,
    };
    let holder = HolderDraft {
        name: PersonName::parse(&body.holder_name)?,
        id_number: ResidentId::parse(&body.id_number)?,
        phone: PhoneNumber::parse(&body.phone)?,
    };
    let issued = state
        .enrolment
        .create_ticket(unit, holder, "dev-endpoint")
        .await?;
    Ok(HttpResponse::Created().json(DevTicketResponse {
        ticket: issued.ticket.to_string(),
        expires_at: issued.expires_at,
    }))
}
