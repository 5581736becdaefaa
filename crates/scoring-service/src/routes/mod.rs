//! HTTP handlers. Every scoring endpoint belongs to the page `interviews`, declared here
//! where the routes are registered; the `Caller` extractor enforces it.

pub mod reports;
pub mod rubrics;
pub mod scorecards;

use actix_web::web;
use auth_types::{Page, RequiredPage};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(RequiredPage(Page::Interviews))
            .service(
                web::resource("/rubrics")
                    .route(web::get().to(rubrics::list))
                    .route(web::post().to(rubrics::create)),
            )
            .service(
                web::resource("/rubrics/{id}")
                    .route(web::get().to(rubrics::get))
                    .route(web::patch().to(rubrics::update)),
            )
            .service(
                web::resource("/interviews/{id}/scorecards")
                    .route(web::get().to(scorecards::of_interview))
                    .route(web::post().to(scorecards::submit)),
            )
            .service(web::resource("/scorecards/{id}").route(web::get().to(scorecards::get)))
            .service(
                web::resource("/scorecards/{id}/amendments")
                    .route(web::post().to(scorecards::amend)),
            )
            .service(
                web::resource("/candidates/{id}/report").route(web::get().to(reports::report)),
            ),
    );
}
