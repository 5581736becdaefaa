//! Every service of the platform in one process, on the embedded default: SQLite
//! instead of PostgreSQL, in-process token store instead of Redis, unless the
//! environment names the real ones. The services still talk over real gRPC. This is
//! what a newcomer runs first.

use anyhow::Context;
use auth_service::bootstrap::{AdminSpec, Outcome, ensure_admin};
use auth_service::{Application, EmbeddedDefaults, Settings};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use service_runtime::config::Env;
use service_runtime::db;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_DATA_DIR: &str = ".interviewer";
pub const DEFAULT_COMPANY: &str = "Demo Company";
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@demo.example";
pub const DEFAULT_ADMIN_PASSWORD: &str = "Interviewer1";

/// How to sign in to the demo company, printed at start-up.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: String,
    pub password: SecretString,
    /// False when the account existed already (its password may have been changed).
    pub created: bool,
}

pub struct Platform {
    pub auth: Application,
    pub interview: interview_service::Application,
    pub scoring: scoring_service::Application,
    pub audit: audit_writer::Application,
    pub demo: DemoLogin,
    pub data_dir: PathBuf,
}

impl Platform {
    pub async fn build(env: &Env) -> anyhow::Result<Self> {
        let data_dir = PathBuf::from(env.get("INTERVIEWER_DATA_DIR").unwrap_or(DEFAULT_DATA_DIR));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating INTERVIEWER_DATA_DIR {}", data_dir.display()))?;
        let secret_key = match env.get("SECRET_KEY") {
            Some(k) => SecretString::from(k.to_owned()),
            None => load_or_create_key(&data_dir.join("secret_key"))?,
        };
        // The services of this process share a credential that lives as long as it does.
        let internal_key = random_key();
        let defaults = EmbeddedDefaults {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            internal_key: internal_key.clone(),
            database_url: format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("interviewer.db").display()
            ),
            secret_key,
            mail_dir: data_dir.join("mail"),
        };
        let settings = Settings::from_env(env, Some(defaults))?;
        let conn = db::connect(
            settings.database_url.expose_secret(),
            settings.db_max_connections,
        )
        .await
        .context("opening the database")?;
        migration::migrate(&conn)
            .await
            .context("migrating the database")?;

        let email = env
            .get("DEMO_ADMIN_EMAIL")
            .unwrap_or(DEFAULT_ADMIN_EMAIL)
            .to_owned();
        // The documented password is for a demo on this machine only: listening beyond
        // loopback (the image's default command), the demo admin gets a generated one,
        // kept in the data directory and printed once, unless DEMO_ADMIN_PASSWORD is set.
        let password = match env.get("DEMO_ADMIN_PASSWORD") {
            Some(p) => SecretString::from(p.to_owned()),
            None if settings.http.addr.ip().is_loopback() => {
                SecretString::from(DEFAULT_ADMIN_PASSWORD.to_owned())
            }
            None => load_or_create_password(&data_dir.join(DEMO_PASSWORD_FILE))?,
        };
        let outcome = ensure_admin(
            &conn,
            AdminSpec {
                company: env
                    .get("DEMO_COMPANY")
                    .unwrap_or(DEFAULT_COMPANY)
                    .to_owned(),
                email: email.clone(),
                full_name: "Demo Admin".to_owned(),
                password: password.clone(),
            },
        )
        .await
        .context(
            "creating the demo company (DEMO_COMPANY, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)",
        )?;

        let database_url = settings.database_url.clone();
        // Without AMQP_URL every service hands its events to this in-process writer.
        // The audit chain's key: only the audit-writer's part of this process uses it.
        let chain_key = match env.get("AUDIT_CHAIN_KEY") {
            Some(k) => SecretString::from(k.to_owned()),
            None => load_or_create_key(&data_dir.join("audit_chain_key"))?,
        };
        // The writer first; then the scoring service's erasure of candidates, which it
        // hears on a queue of its own when it runs on its own.
        let sink: Arc<dyn events::Sink> = Arc::new(events::Fanout(vec![
            Arc::new(audit_writer::writer::InProcessWriter {
                db: conn.clone(),
                chain: audit_writer::chain::ChainKey::new(chain_key.clone()),
            }),
            Arc::new(events::subscriber::InProcess {
                routing_keys: vec![
                    scoring_service::service::privacy::CANDIDATE_ERASED_KEY.to_owned(),
                ],
                handler: Arc::new(scoring_service::service::privacy::Eraser { db: conn.clone() }),
            }),
        ]));
        let auth = Application::build_with_db(settings, conn.clone(), Some(sink.clone())).await?;
        let interview_settings = interview_service::Settings::from_env(
            env,
            Some(interview_service::EmbeddedDefaults {
                http_addr: SocketAddr::from(([127, 0, 0, 1], 8001)),
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50052)),
                database_url: database_url.expose_secret().to_owned(),
                // Real gRPC between the services, also in one process.
                auth_grpc_url: format!("http://127.0.0.1:{}", auth.grpc_port()),
                internal_key: internal_key.clone(),
            }),
        )?;
        let interview = interview_service::Application::build_with_db(
            interview_settings,
            conn.clone(),
            Some(sink.clone()),
        )
        .await?;
        let scoring_settings = scoring_service::Settings::from_env(
            env,
            Some(scoring_service::EmbeddedDefaults {
                http_addr: SocketAddr::from(([127, 0, 0, 1], 8002)),
                database_url: database_url.expose_secret().to_owned(),
                auth_grpc_url: format!("http://127.0.0.1:{}", auth.grpc_port()),
                interview_grpc_url: format!("http://127.0.0.1:{}", interview.grpc_port()),
                internal_key: internal_key.clone(),
            }),
        )?;
        let scoring = scoring_service::Application::build_with_db(
            scoring_settings,
            conn.clone(),
            Some(sink),
        )?;
        let audit_settings = audit_writer::Settings::from_env(
            env,
            Some(audit_writer::EmbeddedDefaults {
                http_addr: SocketAddr::from(([127, 0, 0, 1], 8003)),
                database_url: database_url.expose_secret().to_owned(),
                auth_grpc_url: format!("http://127.0.0.1:{}", auth.grpc_port()),
                internal_key,
                chain_key,
            }),
        )?;
        let audit = audit_writer::Application::build_with_db(audit_settings, conn)?;
        // A person's export gathers the parts the other services hold, here on this
        // process's own ports (unless *_HTTP_URL says otherwise).
        let local = |port: u16| format!("http://127.0.0.1:{port}");
        for (variable, name, port) in [
            ("INTERVIEW_HTTP_URL", "interview", interview.port()),
            ("SCORING_HTTP_URL", "scoring", scoring.port()),
            ("AUDIT_HTTP_URL", "audit", audit.port()),
        ] {
            if env.get(variable).is_none() {
                auth.export_parts().set_url(name, local(port));
                interview.export_parts().set_url(name, local(port));
            }
        }
        Ok(Self {
            auth,
            interview,
            scoring,
            audit,
            demo: DemoLogin {
                email,
                password,
                created: matches!(outcome, Outcome::Created { .. }),
            },
            data_dir,
        })
    }

    /// What to tell the person who just started it.
    pub fn banner(&self) -> String {
        let port = self.auth.port();
        let interview = self.interview.port();
        let scoring = self.scoring.port();
        let audit = self.audit.port();
        let password_line = if self.demo.created {
            format!("password: {}", self.demo.password.expose_secret())
        } else {
            "password: as set when the account was created (DEMO_ADMIN_PASSWORD)".to_owned()
        };
        format!(
            "AI Interviewer Platform (embedded default; data in {dir})\n\
             auth      http://127.0.0.1:{port}   docs: http://127.0.0.1:{port}/docs/\n\
             interview http://127.0.0.1:{interview}   docs: http://127.0.0.1:{interview}/docs/\n\
             scoring   http://127.0.0.1:{scoring}   docs: http://127.0.0.1:{scoring}/docs/\n\
             audit     http://127.0.0.1:{audit}   docs: http://127.0.0.1:{audit}/docs/\n\
             sign in:  {email}  {password_line}\n\
             try:      curl -s -X POST http://127.0.0.1:{port}/api/v1/auth/login \\\n\
             \x20           -H 'Content-Type: application/json' \\\n\
             \x20           -d '{{\"email\":\"{email}\",\"password\":\"<password>\"}}'",
            dir = self.data_dir.display(),
            email = self.demo.email,
        )
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tokio::try_join!(
            self.auth.run_until_stopped(),
            self.interview.run_until_stopped(),
            self.scoring.run_until_stopped(),
            self.audit.run_until_stopped()
        )
        .map(|_| ())
    }
}

/// Where a generated demo admin password is kept (mode 0600), in the data directory.
pub const DEMO_PASSWORD_FILE: &str = "demo_admin_password";

/// A demo admin password that meets the password policy: generated once, then reused.
fn load_or_create_password(path: &Path) -> anyhow::Result<SecretString> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let password = existing.trim().to_owned();
        if !password.is_empty() {
            return Ok(SecretString::from(password));
        }
    }
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    // The prefix guarantees an upper-case letter, a lower-case letter and a digit.
    let password = format!("Demo-1a-{}", URL_SAFE_NO_PAD.encode(bytes));
    write_private(path, &password)
        .with_context(|| format!("writing the demo admin password to {}", path.display()))?;
    tracing::warn!(path = %path.display(), "listening beyond loopback: the demo admin got a generated password (set DEMO_ADMIN_PASSWORD to choose it)");
    Ok(SecretString::from(password))
}

/// The embedded default keeps its own signing key across restarts (sessions, held in
/// process, do not survive one: after a restart everyone signs in again).
fn load_or_create_key(path: &Path) -> anyhow::Result<SecretString> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let key = existing.trim().to_owned();
        if key.len() >= auth_service::settings::MIN_SECRET_KEY_BYTES {
            return Ok(SecretString::from(key));
        }
    }
    let key = random_key();
    write_private(path, key.expose_secret())
        .with_context(|| format!("writing the signing key to {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a signing key for the embedded default (set SECRET_KEY to use your own)");
    Ok(key)
}

/// 48 random bytes, URL-safe base64: 64 printable characters.
fn random_key() -> SecretString {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
