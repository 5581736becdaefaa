//! What every gRPC server and client of the platform shares: the internal service
//! credential (RFC 7662 §2.1: the caller of an internal API authenticates itself), and the
//! standard health and reflection services, open without it.

use secrecy::{ExposeSecret, SecretString};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The shortest internal credential accepted.
pub const MIN_INTERNAL_KEY_BYTES: usize = 16;

/// A gRPC server's TLS identity (`GRPC_TLS_CERT`, `GRPC_TLS_KEY`): PEM certificate chain
/// and key.
#[derive(Clone)]
pub struct ServerTls {
    cert: String,
    key: SecretString,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls(..)")
    }
}

impl ServerTls {
    pub fn config(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
            &self.cert,
            self.key.expose_secret(),
        ))
    }
}

fn read_pem(
    env: &crate::config::Env,
    var: &str,
) -> Result<Option<String>, crate::config::ConfigError> {
    let Some(path) = env.get(var).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let pem = std::fs::read_to_string(path)
        .map_err(|e| crate::config::ConfigError::invalid(var, format!("{path}: {e}")))?;
    if !pem.contains("-----BEGIN ") {
        return Err(crate::config::ConfigError::invalid(
            var,
            format!("{path}: not a PEM file"),
        ));
    }
    Ok(Some(pem))
}

/// `GRPC_TLS_CERT` and `GRPC_TLS_KEY` (paths of PEM files, both or neither): the gRPC
/// server speaks TLS with them. Unset: plaintext (behind a mesh that encrypts, or on
/// loopback).
pub fn server_tls_from_env(
    env: &crate::config::Env,
) -> Result<Option<ServerTls>, crate::config::ConfigError> {
    match (
        read_pem(env, "GRPC_TLS_CERT")?,
        read_pem(env, "GRPC_TLS_KEY")?,
    ) {
        (Some(cert), Some(key)) => Ok(Some(ServerTls {
            cert,
            key: SecretString::from(key),
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(crate::config::ConfigError::Missing {
            name: "GRPC_TLS_KEY".into(),
        }),
        (None, Some(_)) => Err(crate::config::ConfigError::Missing {
            name: "GRPC_TLS_CERT".into(),
        }),
    }
}

/// `GRPC_TLS_CA`: the PEM CA certificate gRPC clients trust for `https://` URLs.
pub fn client_ca_from_env(
    env: &crate::config::Env,
) -> Result<Option<String>, crate::config::ConfigError> {
    read_pem(env, "GRPC_TLS_CA")
}

/// The endpoint of a gRPC client: `url` (read from `var`), with TLS when it is `https://`
/// (trusting `ca`, which it then needs). Connects lazily, with short timeouts.
pub fn client_endpoint(
    url: &str,
    var: &str,
    ca: Option<&str>,
) -> Result<tonic::transport::Endpoint, crate::config::ConfigError> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| crate::config::ConfigError::invalid(var, e.to_string()))?
        .connect_timeout(std::time::Duration::from_secs(1))
        .timeout(std::time::Duration::from_secs(3));
    if url.starts_with("https://") {
        let ca = ca.ok_or_else(|| crate::config::ConfigError::Missing {
            name: "GRPC_TLS_CA".into(),
        })?;
        endpoint = endpoint
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(ca)),
            )
            .map_err(|e| crate::config::ConfigError::invalid("GRPC_TLS_CA", e.to_string()))?;
    }
    Ok(endpoint)
}

/// Server side: refuses calls that do not carry `authorization: Bearer <key>`.
/// Who called, as the credential it presented names it: a service of `INTERNAL_CALLERS`,
/// or [`SHARED_CALLER`] for the one shared `INTERNAL_API_KEY`. The interceptor puts it in
/// the request's extensions; a method decides with [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCaller(pub String);

/// The caller of the shared credential (`INTERNAL_API_KEY` without `INTERNAL_CALLERS`, as
/// the embedded default runs): trusted with every method.
pub const SHARED_CALLER: &str = "internal";

#[derive(Clone)]
pub struct RequireCaller {
    /// `(caller, key)`: every key is compared, in constant time each.
    callers: std::sync::Arc<Vec<(String, SecretString)>>,
}

impl RequireCaller {
    /// One shared credential: its caller is [`SHARED_CALLER`].
    pub fn new(key: SecretString) -> Self {
        Self::for_callers(vec![(SHARED_CALLER.to_owned(), key)])
    }

    /// A credential of its own for each calling service.
    pub fn for_callers(callers: Vec<(String, SecretString)>) -> Self {
        Self {
            callers: std::sync::Arc::new(callers),
        }
    }

    /// `INTERNAL_CALLERS` when it names any, else the shared `INTERNAL_API_KEY`.
    pub fn from_settings(shared: &SecretString, callers: &[(String, SecretString)]) -> Self {
        if callers.is_empty() {
            Self::new(shared.clone())
        } else {
            Self::for_callers(callers.to_vec())
        }
    }
}

impl Interceptor for RequireCaller {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let presented = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        let mut found = None;
        for (caller, key) in self.callers.iter() {
            // No early exit: the time taken does not tell which key came close.
            if constant_time_eq(presented.as_bytes(), key.expose_secret().as_bytes()) {
                found = Some(caller.clone());
            }
        }
        match found {
            Some(caller) => {
                req.extensions_mut().insert(ServiceCaller(caller));
                Ok(req)
            }
            None => Err(Status::unauthenticated(
                "missing or invalid service credential",
            )),
        }
    }
}

/// Lets a call through when its caller is one of `allowed` (or the shared credential's);
/// another service is refused with `PERMISSION_DENIED` naming it.
pub fn authorize<T>(req: &Request<T>, allowed: &[&str]) -> Result<(), Status> {
    match req.extensions().get::<ServiceCaller>() {
        Some(ServiceCaller(c)) if c == SHARED_CALLER || allowed.contains(&c.as_str()) => Ok(()),
        Some(ServiceCaller(c)) => Err(Status::permission_denied(format!(
            "the {c} service may not call this method"
        ))),
        None => Err(Status::unauthenticated(
            "missing or invalid service credential",
        )),
    }
}

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
    fn each_service_is_known_by_its_own_credential_and_held_to_its_methods() {
        let callers = vec![
            (
                "interview".to_owned(),
                SecretString::from("interview-key-0123456789".to_owned()),
            ),
            (
                "audit-writer".to_owned(),
                SecretString::from("audit-key-0123456789abc".to_owned()),
            ),
        ];
        let mut server = RequireCaller::for_callers(callers);
        let call = |server: &mut RequireCaller, key: &str| {
            let mut req = Request::new(());
            req.metadata_mut()
                .insert("authorization", format!("Bearer {key}").parse().unwrap());
            server.call(req)
        };
        let req = call(&mut server, "interview-key-0123456789").unwrap();
        assert_eq!(
            req.extensions().get::<ServiceCaller>(),
            Some(&ServiceCaller("interview".into()))
        );
        assert!(authorize(&req, &["interview", "scoring"]).is_ok());
        let req = call(&mut server, "audit-key-0123456789abc").unwrap();
        let denied = authorize(&req, &["interview", "scoring"]).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("audit-writer"));
        let err = call(&mut server, "internal-key-0123456789").unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        // The shared credential may call everything.
        let shared = RequireCaller::new(SecretString::from("internal-key-0123456789".to_owned()))
            .call({
                let mut req = Request::new(());
                req.metadata_mut().insert(
                    "authorization",
                    "Bearer internal-key-0123456789".parse().unwrap(),
                );
                req
            })
            .unwrap();
        assert!(authorize(&shared, &["scoring"]).is_ok());
        assert!(authorize(&Request::new(()), &["scoring"]).is_err());
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
