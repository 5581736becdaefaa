//! HTTP handlers, one module per resource.

pub mod auth;
mod extract;
pub mod users;

pub use extract::Authenticated;

use actix_web::web;

/// Registers every `/api/v1` route of the auth service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(web::resource("/auth/login").route(web::post().to(auth::login)))
            .service(web::resource("/auth/refresh").route(web::post().to(auth::refresh)))
            .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
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
