//! The one page the auth service serves: where a password-reset mail links to by default
//! (`PASSWORD_RESET_URL`). Static files built into the binary; the script posts the token
//! and the new password to `POST /api/v1/auth/password-reset/confirm`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const HTML: &str = include_str!("../../static/reset-password.html");
const SCRIPT: &str = include_str!("../../static/reset-password.js");
const STYLE: &str = include_str!("../../static/reset-password.css");

fn file(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        // The page carries no data; its address carries a token, which the script drops.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub async fn reset_password() -> HttpResponse {
    file("text/html; charset=utf-8", HTML)
}

pub async fn reset_password_js() -> HttpResponse {
    file("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn reset_password_css() -> HttpResponse {
    file("text/css; charset=utf-8", STYLE)
}

/// `/reset-password` and its script and style.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reset-password").route(web::get().to(reset_password)))
        .service(web::resource("/reset-password.js").route(web::get().to(reset_password_js)))
        .service(web::resource("/reset-password.css").route(web::get().to(reset_password_css)));
}
