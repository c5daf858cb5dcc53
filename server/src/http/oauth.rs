//! OAuth 2 / OIDC endpoints (so far: the token-signing keys).

use actix_web::{HttpResponse, get, web};

use super::AppState;
use crate::ca::Jwks;

/// The public keys that sign ID tokens (ES256).
#[utoipa::path(get, path = "/oauth2/jwks", tag = "oauth2", responses((status = 200, body = Jwks)))]
#[get("/oauth2/jwks")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300, public"))
        .json(state.authority.token_keys().jwks())
}
