//! One login is one trace: the HTTP handler in auth, the outbox relay's publish, and the
//! audit-writer's insert share its trace id — checked with a real OTLP receiver (the
//! collector's gRPC protocol) running in this test.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

#[expect(
    dead_code,
    unused_imports,
    reason = "shared with the api suite; this test uses a part"
)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use reqwest::StatusCode;
use service_runtime::telemetry::{LogFormat, init_with};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// (trace id, span name, service) of a span received.
type Received = (Vec<u8>, String, String);

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for span in ss.spans {
                    let service = span
                        .attributes
                        .iter()
                        .find(|a| a.key == "service")
                        .and_then(|a| a.value.as_ref())
                        .map(|v| format!("{:?}", v.value))
                        .unwrap_or_default();
                    spans.push((span.trace_id, span.name, service));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test]
async fn a_login_is_one_trace_from_the_http_handler_to_the_audit_insert() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = TraceServiceServer::new(receiver.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(server)
            .serve_with_incoming(tokio_stream_from(listener)),
    );
    let telemetry = init_with(
        "info",
        LogFormat::Text,
        Some(endpoint),
        "platform-under-test",
    )
    .unwrap();

    let p = spawn_pipeline().await;
    let res = p.login("admin@acme.example", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = tokens_of(&body(res).await);
    p.wait_for(&admin.access, "?action=LOGIN", 1).await;

    let mut found = None;
    for _ in 0..50 {
        telemetry.flush();
        let spans = receiver.0.lock().unwrap().clone();
        let login = spans
            .iter()
            .find(|(_, name, _)| name == "POST /api/v1/auth/login");
        if let Some((trace, _, _)) = login {
            let names: Vec<&str> = spans
                .iter()
                .filter(|(t, _, _)| t == trace)
                .map(|(_, n, _)| n.as_str())
                .collect();
            if names.contains(&"outbox.publish") && names.contains(&"audit.insert") {
                found = Some(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let names = found.unwrap_or_else(|| {
        let spans = receiver.0.lock().unwrap();
        panic!(
            "no trace joined the login to the audit insert; got {:?}",
            spans
                .iter()
                .map(|s| (s.0.iter().take(3).collect::<Vec<_>>(), &s.1))
                .collect::<Vec<_>>()
        )
    });
    assert!(
        names.iter().any(|n| n == "login"),
        "the handler's own span: {names:?}"
    );
}

fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |l| async move {
        let next = l.accept().await.map(|(s, _)| s);
        Some((next, l))
    })
}
