//! The pages' stylesheet, scripts and data, embedded in the binary (no build step).

use actix_web::{HttpResponse, http::header, web};

use crate::applications::regions::REGIONS_JSON;

/// Name, content type and content of each asset.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "site.css",
        "text/css; charset=utf-8",
        include_str!("../../../assets/site.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/common.js"),
    ),
    (
        "sm3.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/sm3.js"),
    ),
    (
        "slider.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/slider.js"),
    ),
    (
        "forms.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/forms.js"),
    ),
    ("regions.json", "application/json", REGIONS_JSON),
];

/// `GET /assets/{name}`: cached for a day (the names stay; a new release reloads them after).
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(*body),
        None => HttpResponse::NotFound()
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body("没有这个文件"),
    }
}
