//! The gRPC servers' request layer: every call is counted and timed by service, method
//! and status (`grpc_requests_total`, `grpc_request_duration_seconds`), and logged.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::codegen::http::{Request, Response};

/// Adds [`Observe`] around a gRPC router.
#[derive(Clone, Copy, Debug, Default)]
pub struct ObserveLayer;

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner }
    }
}

/// Counts, times and logs each gRPC call.
#[derive(Clone, Debug)]
pub struct Observe<S> {
    inner: S,
}

/// `/auth.v1.AuthService/Introspect` → (`auth.v1.AuthService`, `Introspect`).
pub fn split_path(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    (service.to_owned(), method.to_owned())
}

/// The status a response carries in its headers (an error is trailers-only); a response
/// without one succeeded, its `OK` following in the trailers.
pub fn status_of<B>(res: &Response<B>) -> tonic::Code {
    res.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32)
}

impl<S, B, R> tower::Service<Request<B>> for Observe<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (service, method) = split_path(req.uri().path());
        let started = Instant::now();
        let future = self.inner.call(req);
        Box::pin(async move {
            let result = future.await;
            let elapsed = started.elapsed();
            let code = match &result {
                Ok(res) => status_of(res),
                Err(_) => tonic::Code::Internal,
            };
            let code_name = format!("{code:?}");
            metrics::counter!("grpc_requests_total", "service" => service.clone(),
                "method" => method.clone(), "code" => code_name.clone())
            .increment(1);
            metrics::histogram!("grpc_request_duration_seconds", "service" => service.clone(),
                "method" => method.clone())
            .record(elapsed.as_secs_f64());
            let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
            match &result {
                Err(e) => {
                    tracing::error!(%service, %method, error = %e, duration_ms = ms, "gRPC call failed")
                }
                Ok(_)
                    if matches!(
                        code,
                        tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss
                    ) =>
                {
                    tracing::error!(%service, %method, code = %code_name, duration_ms = ms, "gRPC call")
                }
                // Introspection runs on every uncached request: one line each at debug.
                Ok(_) => {
                    tracing::debug!(%service, %method, code = %code_name, duration_ms = ms, "gRPC call")
                }
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_its_service_and_method() {
        assert_eq!(
            split_path("/auth.v1.AuthService/Introspect"),
            ("auth.v1.AuthService".to_owned(), "Introspect".to_owned())
        );
        assert_eq!(split_path("/"), (String::new(), String::new()));
    }

    #[test]
    fn the_status_is_read_from_the_headers_and_defaults_to_ok() {
        let ok = Response::new(());
        assert_eq!(status_of(&ok), tonic::Code::Ok);
        let mut denied = Response::new(());
        denied.headers_mut().insert(
            "grpc-status",
            tonic::codegen::http::HeaderValue::from_static("16"),
        );
        assert_eq!(status_of(&denied), tonic::Code::Unauthenticated);
    }
}
