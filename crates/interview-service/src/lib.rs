//! The interview service: candidates, interviews, their lifecycle and calendar files,
//! over HTTP (:8001), and interview lookup for scoring over gRPC (:50052).

pub mod domain;
pub mod entities;
pub mod error;
pub mod grpc;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::{EmbeddedDefaults, Settings};
pub use startup::Application;
