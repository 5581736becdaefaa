//! The scoring service: rubrics (versioned), scorecards (revised, never changed) and
//! candidate reports, over HTTP (:8002). It asks auth who is calling and the interview
//! service about interviews, both over gRPC.

pub mod domain;
pub mod entities;
pub mod error;
pub mod interview_client;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::{EmbeddedDefaults, Settings};
pub use startup::Application;
