//! What every gRPC server and client of the platform shares: the internal service
//! credential (RFC 7662 §2.1: the caller of an internal API authenticates itself), and the
//! standard health and reflection services, open without it.

use secrecy::{ExposeSecret, SecretString};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The shortest internal credential accepted.
pub const MIN_INTERNAL_KEY_BYTES: usize = 16;

/// Server side: refuses calls that do not carry `authorization: Bearer <key>`.
#[derive(Clone)]
pub struct RequireCaller {
    expected: SecretString,
}

impl RequireCaller {
    pub fn new(key: SecretString) -> Self {
        Self { expected: key }
    }
}

impl Interceptor for RequireCaller {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let presented = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if constant_time_eq(
            presented.as_bytes(),
            self.expected.expose_secret().as_bytes(),
        ) {
            Ok(req)
        } else {
            Err(Status::unauthenticated(
                "missing or invalid service credential",
            ))
        }
    }
}

/// Client side: adds the credential to every call.
#[derive(Clone)]
pub struct PresentCredential {
    header: MetadataValue<tonic::metadata::Ascii>,
}

impl PresentCredential {
    pub fn new(key: &SecretString) -> Result<Self, crate::config::ConfigError> {
        let header = format!("Bearer {}", key.expose_secret())
            .parse()
            .map_err(|e| {
                crate::config::ConfigError::invalid(
                    "INTERNAL_API_KEY",
                    format!("must be printable ASCII ({e})"),
                )
            })?;
        Ok(Self { header })
    }
}

impl Interceptor for PresentCredential {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut()
            .insert("authorization", self.header.clone());
        // W3C trace context, so the callee's spans join the caller's trace.
        for (key, value) in crate::telemetry::current_context_headers() {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::MetadataKey::<tonic::metadata::Ascii>::from_bytes(key.as_bytes()),
                value.parse(),
            ) {
                req.metadata_mut().insert(k, v);
            }
        }
        Ok(req)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Server reflection for grpcurl and friends, listing exactly `service`, the standard
/// health service and reflection itself (the platform's descriptor set describes more).
pub fn reflection(
    descriptor_set: &'static [u8],
    service: &str,
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::Error,
> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(service)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .build_v1()
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(key: &str, header: Option<&str>) -> Result<(), Status> {
        let mut req = Request::new(());
        if let Some(h) = header {
            req.metadata_mut()
                .insert("authorization", h.parse().unwrap());
        }
        RequireCaller::new(SecretString::from(key.to_owned()))
            .call(req)
            .map(|_| ())
    }

    #[test]
    fn only_the_shared_credential_passes() {
        let key = "internal-key-0123456789";
        assert!(call(key, Some("Bearer internal-key-0123456789")).is_ok());
        for bad in [
            None,
            Some("Bearer wrong"),
            Some("internal-key-0123456789"),
            Some("Bearer "),
        ] {
            let err = call(key, bad).unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unauthenticated);
        }
    }

    #[test]
    fn the_client_side_sets_what_the_server_side_checks() {
        let key = SecretString::from("internal-key-0123456789".to_owned());
        let req = PresentCredential::new(&key)
            .unwrap()
            .call(Request::new(()))
            .unwrap();
        assert!(RequireCaller::new(key).call(req).is_ok());
    }
}
