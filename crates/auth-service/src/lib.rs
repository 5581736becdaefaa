//! The auth service: sign-in, token rotation and revocation, sessions, and user
//! management, over HTTP (:8000).

pub mod bootstrap;

pub mod domain;
pub mod entities;
pub mod error;
pub mod grpc;
pub mod mail;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::{EmbeddedDefaults, Settings, TokenStoreSettings};
pub use startup::Application;
