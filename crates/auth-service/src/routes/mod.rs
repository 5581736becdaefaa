//! HTTP handlers, one module per resource.

pub mod account;
pub mod auth;
mod extract;
mod pages;
pub mod users;

pub use extract::Authenticated;

use actix_web::web;

/// Registers every `/api/v1` route of the auth service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    pages::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .service(web::resource("/auth/login").route(web::post().to(auth::login)))
            .service(web::resource("/auth/refresh").route(web::post().to(auth::refresh)))
            .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
            .service(
                web::resource("/auth/password-reset").route(web::post().to(account::request_reset)),
            )
            .service(
                web::resource("/auth/password-reset/confirm")
                    .route(web::post().to(account::confirm_reset)),
            )
            .service(web::resource("/auth/mfa/verify").route(web::post().to(account::mfa_verify)))
            .service(
                web::resource("/users/me/password").route(web::post().to(account::change_password)),
            )
            .service(
                web::resource("/users/me/mfa/totp")
                    .route(web::post().to(account::mfa_begin))
                    .route(web::delete().to(account::mfa_disable)),
            )
            .service(
                web::resource("/users/me/mfa/totp/confirm")
                    .route(web::post().to(account::mfa_confirm)),
            )
            .service(
                web::resource("/company/security")
                    .route(web::get().to(account::security_policy))
                    .route(web::put().to(account::set_security_policy)),
            )
            .service(web::resource("/users/me").route(web::get().to(users::me)))
            .service(
                web::resource("/users/me/permissions").route(web::get().to(users::my_permissions)),
            )
            .service(
                web::resource("/users/me/sessions")
                    .route(web::get().to(users::my_sessions))
                    .route(web::delete().to(users::end_my_other_sessions)),
            )
            .service(
                web::resource("/users/me/sessions/{id}")
                    .route(web::delete().to(users::end_my_session)),
            )
            .service(
                web::resource("/users")
                    .route(web::get().to(users::list))
                    .route(web::post().to(users::create)),
            )
            .service(
                web::resource("/users/{id}")
                    .route(web::get().to(users::get))
                    .route(web::patch().to(users::update))
                    .route(web::delete().to(users::deactivate)),
            )
            .service(web::resource("/users/{id}/unlock").route(web::post().to(users::unlock)))
            .service(web::resource("/users/{id}/export").route(web::get().to(users::export)))
            .service(web::resource("/users/{id}/erase").route(web::post().to(users::erase)))
            .service(
                web::resource("/users/{id}/sessions")
                    .route(web::get().to(users::user_sessions))
                    .route(web::delete().to(users::end_user_sessions)),
            )
            .service(
                web::resource("/users/{id}/permissions")
                    .route(web::get().to(users::permissions))
                    .route(web::put().to(users::set_permissions)),
            ),
    );
}
