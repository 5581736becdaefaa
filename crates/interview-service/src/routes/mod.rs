//! HTTP handlers, one module per resource. Each resource's page is declared here, where
//! it is registered; the `Caller` extractor enforces it (reads need the page, writes need
//! the page and a role that writes).

pub mod candidates;
pub mod interviews;
pub mod privacy;

use actix_web::web;
use auth_types::{Page, RequiredPage};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(
                web::scope("/candidates")
                    .app_data(RequiredPage(Page::Candidates))
                    .service(
                        web::resource("")
                            .route(web::get().to(candidates::list))
                            .route(web::post().to(candidates::create)),
                    )
                    .service(
                        web::resource("/{id}")
                            .route(web::get().to(candidates::get))
                            .route(web::patch().to(candidates::update))
                            .route(web::delete().to(candidates::delete)),
                    )
                    .service(web::resource("/{id}/export").route(web::get().to(privacy::export)))
                    .service(web::resource("/{id}/erase").route(web::post().to(privacy::erase))),
            )
            .service(
                web::scope("/export/users")
                    .app_data(RequiredPage(Page::UserManagement))
                    .service(web::resource("/{id}").route(web::get().to(privacy::user_part))),
            )
            .service(
                web::scope("/interviews")
                    .app_data(RequiredPage(Page::Interviews))
                    .service(
                        web::resource("")
                            .route(web::get().to(interviews::list))
                            .route(web::post().to(interviews::create)),
                    )
                    .service(
                        web::resource("/{id}")
                            .route(web::get().to(interviews::get))
                            .route(web::patch().to(interviews::update)),
                    )
                    .service(
                        web::resource("/{id}/calendar.ics")
                            .route(web::get().to(interviews::calendar)),
                    )
                    .service(web::resource("/{id}/start").route(web::post().to(interviews::start)))
                    .service(
                        web::resource("/{id}/complete").route(web::post().to(interviews::complete)),
                    )
                    .service(
                        web::resource("/{id}/cancel").route(web::post().to(interviews::cancel)),
                    )
                    .service(
                        web::resource("/{id}/no-show").route(web::post().to(interviews::no_show)),
                    ),
            ),
    );
}
