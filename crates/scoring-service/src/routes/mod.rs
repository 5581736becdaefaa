//! HTTP handlers. Every scoring endpoint belongs to the page `interviews` (a person's
//! export parts: user management, candidates), declared here where the routes are
//! registered; the `Caller` extractor enforces it.

pub mod privacy;
pub mod reports;
pub mod rubrics;
pub mod scorecards;

use actix_web::web;
use auth_types::{Page, RequiredPage};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // A person's export parts belong to the pages of the export that gathers them;
    // registered first, so `/api/v1` below does not take their paths.
    cfg.service(
        web::scope("/api/v1/export/users")
            .app_data(RequiredPage(Page::UserManagement))
            .service(web::resource("/{id}").route(web::get().to(privacy::user_part))),
    )
    .service(
        web::scope("/api/v1/export/candidates")
            .app_data(RequiredPage(Page::Candidates))
            .service(web::resource("/{id}").route(web::get().to(privacy::candidate_part))),
    );
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
