//! Passwords, password reset by mail and TOTP MFA, against the real PostgreSQL, Redis
//! and an SMTP server the test starts. The broker is unreachable on purpose where a test
//! reads the events it recorded from the outbox.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use test_support::smtp::SmtpServer;

const NEW_PASSWORD: &str = "Brand-new-Passphrase-7";

async fn change_password(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.send_json(
        Method::POST,
        "/api/v1/users/me/password",
        token,
        &json!({"current_password": current, "new_password": new}),
    )
    .await
}

async fn login_body(app: &TestApp, email: &str, password: &str) -> Value {
    let res = app.login(email, password).await;
    assert_eq!(res.status(), StatusCode::OK, "login of {email}");
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no session, no cookie"
    );
    body(res).await
}

#[tokio::test]
async fn a_user_changes_their_password_and_their_other_sessions_end() {
    let app = spawn_app_with(&[("AMQP_URL", NO_BROKER)]).await;
    let here = app.admin_tokens().await;
    let elsewhere = app.admin_tokens().await;

    let wrong = change_password(&app, &here.access, "Not-my-password-1", NEW_PASSWORD).await;
    assert_eq!(
        assert_error(wrong, StatusCode::BAD_REQUEST).await,
        "Current password is incorrect"
    );
    for (new, rule) in [
        ("short1A", "8 to 128"),
        ("alllowercase1", "upper-case"),
        ("Password1", "too common"),
        (ADMIN_PASSWORD, "last 5 passwords"),
    ] {
        let res = change_password(&app, &here.access, ADMIN_PASSWORD, new).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            detail.contains("new_password") && detail.contains(rule),
            "{new}: {detail}"
        );
    }

    let res = change_password(&app, &here.access, ADMIN_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // This session lives on; the other one ended (its tokens stop working).
    assert_eq!(
        app.get("/api/v1/users/me", &here.access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/users/me", &elsewhere.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&elsewhere.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&app.admin_email, ADMIN_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = app.login_ok(&app.admin_email, NEW_PASSWORD).await;

    // Back to the old one: refused by the history.
    let res = change_password(&app, &again.access, NEW_PASSWORD, ADMIN_PASSWORD).await;
    let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(detail.contains("last 5 passwords"), "{detail}");

    let changed = outbox(&app, "event.auth.password_changed").await;
    assert_eq!(changed.len(), 1);
    let text = changed[0].to_string();
    assert!(
        !text.contains(NEW_PASSWORD) && !text.contains(ADMIN_PASSWORD),
        "{text}"
    );
    assert_eq!(changed[0]["details"]["sessions_ended"], 1);
    let ended = outbox(&app, "event.auth.session_ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["details"]["reason"], "password_change");
}

#[tokio::test]
async fn a_wrong_current_password_counts_toward_lockout() {
    let app = spawn_app_with(&[("LOCKOUT_THRESHOLD", "3")]).await;
    let t = app.admin_tokens().await;
    for _ in 0..3 {
        let res = change_password(&app, &t.access, "Wrong-password-1", NEW_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = change_password(&app, &t.access, ADMIN_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        app.login(&app.admin_email, ADMIN_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "locked"
    );
}

#[tokio::test]
async fn after_an_admin_sets_a_password_the_user_must_change_it_first() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let id = app
        .create_user(
            &admin.access,
            "ben@acme.example",
            "Bens-first-Pass-1",
            "agent",
        )
        .await;
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &json!({"password": "Set-by-admin-Pass-2"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let answer = login_body(&app, "ben@acme.example", "Set-by-admin-Pass-2").await;
    assert_eq!(answer["password_change_required"], true, "{answer}");
    assert!(answer.get("refresh_token").is_none(), "{answer}");
    let restricted = answer["access_token"].as_str().unwrap().to_owned();
    // Good for nothing but the password change.
    for path in ["/api/v1/users/me", "/api/v1/users/me/sessions"] {
        assert_eq!(
            app.get(path, &restricted).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = change_password(&app, &restricted, "Set-by-admin-Pass-2", "Bens-own-Pass-3").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Used up, and the sign-in now gives a session.
    let res = change_password(&app, &restricted, "Bens-own-Pass-3", "Bens-next-Pass-4").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let t = app.login_ok("ben@acme.example", "Bens-own-Pass-3").await;
    assert_eq!(
        app.get("/api/v1/users/me", &t.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_older_than_the_maximum_age_must_be_changed() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = spawn_app_with(&[("PASSWORD_MAX_AGE_DAYS", "30")]).await;
    app.login_ok(&app.admin_email, ADMIN_PASSWORD).await;
    app.db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET password_changed_at = now() - interval '31 days' WHERE id = $1",
            [uuid::Uuid::from(app.admin_id).into()],
        ))
        .await
        .unwrap();
    let answer = login_body(&app, &app.admin_email, ADMIN_PASSWORD).await;
    assert_eq!(answer["password_change_required"], true, "{answer}");
    let restricted = answer["access_token"].as_str().unwrap();
    let res = change_password(&app, restricted, ADMIN_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.login_ok(&app.admin_email, NEW_PASSWORD).await;
}

/// The token of the reset link in a mail.
fn reset_token_in(text: &str) -> String {
    let start = text.find("?token=").expect("a reset link") + "?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn ask_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/password-reset"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

async fn confirm_reset(app: &TestApp, token: &str, new: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/password-reset/confirm"))
        .json(&json!({ "token": token, "new_password": new }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_a_mailed_link() {
    let smtp = SmtpServer::start().unwrap();
    let app = spawn_app_with(&[
        ("SMTP_URL", &smtp.url()),
        ("MAIL_FROM", "Platform <no-reply@platform.test>"),
        ("PASSWORD_RESET_URL", "https://app.example/reset"),
    ])
    .await;
    let old = app.admin_tokens().await;

    let res = ask_reset(&app, &app.admin_email).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mail = smtp
        .wait_for(&app.admin_email, Duration::from_secs(10))
        .await
        .expect("the reset mail");
    assert_eq!(mail.subject(), "Reset your password");
    let text = mail.text_body();
    assert!(text.contains("https://app.example/reset?token="), "{text}");
    let token = reset_token_in(&text);
    assert!(token.len() >= 40, "{token}");

    // An unknown address gets the same answer, and no mail.
    let res = ask_reset(&app, "nobody@acme.example").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);

    // A refused password leaves the token usable.
    let res = confirm_reset(&app, &token, "password").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Single use; and an unknown token is the same 400.
    for t in [token.as_str(), "not-a-token"] {
        let res = confirm_reset(&app, t, "Another-Passphrase-8").await;
        assert_eq!(
            assert_error(res, StatusCode::BAD_REQUEST).await,
            "Invalid or expired reset token"
        );
    }
    // Every session ended; the new password works.
    assert_eq!(
        app.refresh(&old.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/users/me", &old.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login_ok(&app.admin_email, NEW_PASSWORD).await;
    assert_eq!(smtp.count_to("nobody@acme.example"), 0);
}

#[tokio::test]
async fn an_expired_reset_link_is_refused_like_an_unknown_one() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let smtp = SmtpServer::start().unwrap();
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    assert_eq!(
        ask_reset(&app, &app.admin_email).await.status(),
        StatusCode::ACCEPTED
    );
    let mail = smtp
        .wait_for(&app.admin_email, Duration::from_secs(10))
        .await
        .expect("the reset mail");
    let token = reset_token_in(&mail.text_body());
    // Thirty minutes later.
    app.db
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "UPDATE password_resets SET expires_at = now() - interval '1 second'".to_owned(),
        ))
        .await
        .unwrap();
    let res = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(
        assert_error(res, StatusCode::BAD_REQUEST).await,
        "Invalid or expired reset token"
    );
    app.login_ok(&app.admin_email, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn an_account_gets_at_most_three_reset_mails_an_hour() {
    let smtp = SmtpServer::start().unwrap();
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    for _ in 0..5 {
        assert_eq!(
            ask_reset(&app, &app.admin_email).await.status(),
            StatusCode::ACCEPTED
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while smtp.count_to(&app.admin_email) < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.count_to(&app.admin_email), 3);
}

#[tokio::test]
async fn reset_requests_are_limited_per_address() {
    let app = spawn_app_with(&[("PASSWORD_RESET_RATE_LIMIT_PER_IP_PER_HOUR", "2")]).await;
    for _ in 0..2 {
        assert_eq!(
            ask_reset(&app, "x@acme.example").await.status(),
            StatusCode::ACCEPTED
        );
    }
    let res = ask_reset(&app, "y@acme.example").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_reset_mail_waits_out_an_smtp_server_that_is_down() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let smtp = SmtpServer::start().unwrap();
    smtp.set_transient_failure(true);
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    assert_eq!(
        ask_reset(&app, &app.admin_email).await.status(),
        StatusCode::ACCEPTED
    );
    // Tried and refused (451): still on the outbox, with why.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT attempts, last_error FROM mail_outbox",
            ))
            .await
            .unwrap()
            .expect("the mail waits on the outbox");
        let attempts: i32 = row.try_get("", "attempts").unwrap();
        if attempts >= 1
            && row
                .try_get::<Option<String>>("", "last_error")
                .unwrap()
                .is_some()
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(smtp.count_to(&app.admin_email), 0);
    smtp.set_transient_failure(false);
    let mail = smtp
        .wait_for(&app.admin_email, Duration::from_secs(15))
        .await;
    assert!(mail.is_some(), "delivered once the server takes mail again");
    // Sent, it leaves the outbox (and the link with it).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = app
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM mail_outbox",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(left, 0);
}

/// The secret of an enrolment, decoded from base32.
fn secret_of(enrolment: &Value) -> Vec<u8> {
    data_encoding::BASE32_NOPAD
        .decode(enrolment["secret"].as_str().unwrap().as_bytes())
        .unwrap()
}

/// The code an authenticator app shows now, by an implementation of RFC 6238 that is
/// not the service's (the totp-lite crate).
fn code_now(secret: &[u8]) -> String {
    code_in(secret, 0)
}

/// The code `steps` 30-second steps from now (the service accepts one step either way).
fn code_in(secret: &[u8], steps: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, now + 30 * steps)
}

/// Enrols `token`'s user: the secret and the recovery codes.
async fn enrol(app: &TestApp, token: &str) -> (Vec<u8>, Vec<String>) {
    let res = app
        .send_json(Method::POST, "/api/v1/users/me/mfa/totp", token, &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let enrolment = body(res).await;
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("issuer="), "{uri}");
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = secret_of(&enrolment);

    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users/me/mfa/totp/confirm",
            token,
            &json!({"code": "000000"}),
        )
        .await;
    // One chance in a million that 000000 is the code now.
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users/me/mfa/totp/confirm",
            token,
            &json!({"code": code_now(&secret)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> = body(res).await["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn verify(app: &TestApp, mfa_token: &str, code: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/mfa/verify"))
        .json(&json!({"mfa_token": mfa_token, "code": code}))
        .send()
        .await
        .unwrap()
}

async fn mfa_token(app: &TestApp, email: &str, password: &str) -> String {
    let res = app.login(email, password).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no cookie before the second factor"
    );
    let answer = body(res).await;
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert_eq!(answer["expires_in"], 300);
    assert!(answer.get("access_token").is_none(), "{answer}");
    answer["mfa_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn totp_mfa_guards_the_sign_in_and_no_code_works_twice() {
    let app = spawn_app_with(&[("AMQP_URL", NO_BROKER)]).await;
    let t = app.admin_tokens().await;
    let (secret, recovery) = enrol(&app, &t.access).await;
    let me = body(app.get("/api/v1/users/me", &t.access).await).await;
    assert_eq!(me["mfa_enabled"], true, "{me}");
    // Enrolling again while on is a conflict.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users/me/mfa/totp",
            &t.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // The code that confirmed the enrolment is spent: the same step is never accepted again.
    let token = mfa_token(&app, &app.admin_email, ADMIN_PASSWORD).await;
    let res = verify(&app, &token, &code_now(&secret)).await;
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid authentication code"
    );
    // The mfa_token is no access token.
    assert_eq!(
        app.get("/api/v1/users/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A recovery code signs in (with the cookie), once.
    let res = verify(&app, &token, &recovery[0].to_uppercase()).await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    assert!(res.headers().get("set-cookie").is_some());
    let signed_in = tokens_of(body(res).await);
    assert_eq!(
        app.get("/api/v1/users/me", &signed_in.access)
            .await
            .status(),
        StatusCode::OK
    );
    // The mfa_token is single-use.
    let res = verify(&app, &token, &recovery[1]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let token = mfa_token(&app, &app.admin_email, ADMIN_PASSWORD).await;
    let res = verify(&app, &token, &recovery[0]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a used recovery code"
    );
    let res = verify(&app, &token, &recovery[1]).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Turning it off takes the password and a code.
    let res = app
        .send_json(
            Method::DELETE,
            "/api/v1/users/me/mfa/totp",
            &t.access,
            &json!({"password": "Wrong-password-1", "code": recovery[2]}),
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::BAD_REQUEST).await,
        "Password is incorrect"
    );
    let res = app
        .send_json(
            Method::DELETE,
            "/api/v1/users/me/mfa/totp",
            &t.access,
            &json!({"password": ADMIN_PASSWORD, "code": recovery[2]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.login_ok(&app.admin_email, ADMIN_PASSWORD).await;

    for (key, n) in [
        ("event.auth.mfa_enabled", 1),
        ("event.auth.mfa_disabled", 1),
        ("event.auth.mfa_recovery_code_used", 3),
    ] {
        assert_eq!(outbox(&app, key).await.len(), n, "{key}");
    }
    let failed = outbox(&app, "event.auth.mfa_failed").await;
    let reasons: Vec<&str> = failed
        .iter()
        .map(|e| e["details"]["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"replayed_code"), "{reasons:?}");
    assert!(reasons.contains(&"wrong_recovery_code"), "{reasons:?}");
}

#[tokio::test]
async fn a_totp_code_is_accepted_once_across_replicas() {
    // Two replicas on one database and Redis: the first to see a code takes it.
    let (database_url, conn) = test_support::fresh_database().await;
    let first = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    let second = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    let (_, _) = seed_company(&conn, "Acme", "admin@acme.example").await;
    let client = test_support::client();
    let t = test_support::login_ok(
        &client,
        &first.address,
        "admin@acme.example",
        ADMIN_PASSWORD,
    )
    .await;
    let one = TestApp::on(&first, &client, conn.clone());
    let (secret, _) = enrol(&one, &t.access).await;
    // The next step's code (the current one confirmed the enrolment): both replicas get it.
    let code = code_in(&secret, 1);
    let two = TestApp::on(&second, &client, conn.clone());
    let a = mfa_token(&one, "admin@acme.example", ADMIN_PASSWORD).await;
    let b = mfa_token(&two, "admin@acme.example", ADMIN_PASSWORD).await;
    let (ra, rb) = tokio::join!(verify(&one, &a, &code), verify(&two, &b, &code));
    let mut statuses = [ra.status(), rb.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn wrong_codes_count_toward_lockout() {
    let app = spawn_app_with(&[("LOCKOUT_THRESHOLD", "3")]).await;
    let t = app.admin_tokens().await;
    enrol(&app, &t.access).await;
    let token = mfa_token(&app, &app.admin_email, ADMIN_PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(
            verify(&app, &token, "999999").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login(&app.admin_email, ADMIN_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "locked by the wrong codes"
    );
}

#[tokio::test]
async fn an_mfa_token_tries_five_codes_at_most() {
    let app = spawn_app().await;
    let t = app.admin_tokens().await;
    enrol(&app, &t.access).await;
    let token = mfa_token(&app, &app.admin_email, ADMIN_PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(
            verify(&app, &token, "abcde-fghjk").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = verify(&app, &token, "abcde-fghjk").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_company_policy_makes_a_role_enrol_before_it_gets_tokens() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let email = "agent@acme.example";
    app.create_user(&admin.access, email, test_support::USER_PASSWORD, "agent")
        .await;
    let agent = app.login_ok(email, test_support::USER_PASSWORD).await;
    let policy = json!({"mfa_required_roles": ["agent"]});
    let res = app
        .send_json(
            Method::PUT,
            "/api/v1/company/security",
            &agent.access,
            &policy,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .send_json(
            Method::PUT,
            "/api/v1/company/security",
            &admin.access,
            &json!({"mfa_required_roles": ["wizard"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .send_json(
            Method::PUT,
            "/api/v1/company/security",
            &admin.access,
            &policy,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = body(app.get("/api/v1/company/security", &admin.access).await).await;
    assert_eq!(got, policy);

    let answer = login_body(&app, email, test_support::USER_PASSWORD).await;
    assert_eq!(answer["mfa_enrolment_required"], true, "{answer}");
    let restricted = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/users/me", &restricted).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, recovery) = enrol(&app, &restricted).await;
    // Enrolled: the next sign-in asks for the second factor, and gets tokens with it.
    let token = mfa_token(&app, email, test_support::USER_PASSWORD).await;
    let res = verify(&app, &token, &recovery[0]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let full = tokens_of(body(res).await);
    // The policy keeps the user from turning it off.
    let res = app
        .send_json(
            Method::DELETE,
            "/api/v1/users/me/mfa/totp",
            &full.access,
            &json!({"password": test_support::USER_PASSWORD, "code": recovery[1]}),
        )
        .await;
    let detail = assert_error(res, StatusCode::CONFLICT).await;
    assert!(detail.contains("requires MFA"), "{detail}");
}
