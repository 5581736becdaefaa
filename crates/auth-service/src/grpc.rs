//! The gRPC face of the auth service (:50051): token introspection and user lookup for
//! the other services, behind the internal service credential.

use crate::error::AuthError;
use crate::service::{AppState, auth};
use crate::store::users;
use auth_types::CompanyId;
use platform_proto::auth::v1::auth_service_server::AuthService;
use platform_proto::auth::v1::{
    IntrospectRequest, IntrospectResponse, LookupUsersRequest, LookupUsersResponse, UserSummary,
};
use service_runtime::grpc::authorize;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// At most this many ids per lookup.
pub const MAX_LOOKUP: usize = 500;

pub struct AuthGrpc {
    state: AppState,
}

impl AuthGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// A typed id argument; a malformed one is `INVALID_ARGUMENT` naming the field.
fn id_arg<T: From<Uuid>>(name: &'static str, raw: &str) -> Result<T, Status> {
    Ok(platform_proto::conversions::id(name, raw)?)
}

/// Who may ask what a token stands for: every service that takes bearer tokens.
const INTROSPECTORS: &[&str] = &["interview", "scoring", "audit-writer"];
/// Who may read users' names and emails: the services that show them (the audit-writer
/// never needs to).
const LOOKERS_UP: &[&str] = &["interview", "scoring"];

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    #[tracing::instrument(skip_all)]
    async fn introspect(
        &self,
        request: Request<IntrospectRequest>,
    ) -> Result<Response<IntrospectResponse>, Status> {
        authorize(&request, INTROSPECTORS)?;
        metrics::counter!("auth_introspections_total").increment(1);
        let token = request.into_inner().token;
        let principal = match auth::authenticate(&self.state, &token).await {
            Ok(p) => p,
            Err(AuthError::InvalidToken | AuthError::MissingToken) => {
                return Ok(Response::new(IntrospectResponse::default()));
            }
            Err(other) => return Err(other.into()),
        };
        Ok(Response::new(IntrospectResponse {
            active: true,
            sub: principal.user_id.to_string(),
            company_id: principal.company_id.to_string(),
            role: principal.role.to_string(),
            permissions: principal
                .permissions
                .iter()
                .map(|(page, allowed)| (page.to_string(), allowed))
                .collect(),
            jti: principal.token_id.to_string(),
            iat: principal.issued_at,
            exp: principal.expires_at,
            token_type: "access".to_owned(),
            session_id: principal.session_id.to_string(),
        }))
    }

    async fn lookup_users(
        &self,
        request: Request<LookupUsersRequest>,
    ) -> Result<Response<LookupUsersResponse>, Status> {
        authorize(&request, LOOKERS_UP)?;
        let req = request.into_inner();
        let company: CompanyId = id_arg("company_id", &req.company_id)?;
        if req.user_ids.len() > MAX_LOOKUP {
            return Err(Status::invalid_argument(format!(
                "at most {MAX_LOOKUP} user ids per lookup"
            )));
        }
        let ids = req
            .user_ids
            .iter()
            .map(|id| id_arg("user_ids", id))
            .collect::<Result<Vec<_>, _>>()?;
        let found = users::find_many_in_company(&self.state.db, company, ids)
            .await
            .map_err(AuthError::from)?;
        Ok(Response::new(LookupUsersResponse {
            users: found
                .into_iter()
                .map(|u| UserSummary {
                    id: u.id.to_string(),
                    email: u.email,
                    full_name: u.full_name,
                    role: u.role.as_str().to_owned(),
                    is_active: u.is_active,
                })
                .collect(),
        }))
    }
}
