//! RabbitMQ users of a test's own on the local broker, made with `rabbitmqctl` (which
//! needs the broker's node on this machine) and deleted when dropped.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use uuid::Uuid;

pub struct RabbitUser {
    pub name: String,
    password: String,
}

pub fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `text` as a regular expression matching it literally (names with dots).
pub fn literal(text: &str) -> String {
    text.replace('.', "\\.")
}

impl RabbitUser {
    /// A user named after `role` with the `configure`, `write` and `read` permission
    /// regexes on the default virtual host.
    pub fn create(role: &str, configure: &str, write: &str, read: &str) -> Self {
        let name = format!("aipt-{role}-{}", Uuid::new_v4().simple());
        let password = Uuid::new_v4().simple().to_string();
        rabbitmqctl(&["add_user", &name, &password]);
        rabbitmqctl(&["set_permissions", "-p", "/", &name, configure, write, read]);
        Self { name, password }
    }

    /// The test broker's URL, as this user.
    pub fn url(&self) -> String {
        crate::amqp_url().replacen(
            "guest:guest",
            &format!("{}:{}", self.name, self.password),
            1,
        )
    }
}

impl Drop for RabbitUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["delete_user", &self.name])
            .output();
    }
}

/// Publishes `payload` to `exchange` under `routing_key` as `user`, its AMQP `user_id` set
/// to `claimed`: whether the broker confirmed it. Mandatory: a message no queue takes
/// (the topology half declared) comes back rather than vanishing.
pub async fn publish_as(
    user: &RabbitUser,
    claimed: &str,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
) -> bool {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use lapin::{BasicProperties, Connection, ConnectionProperties};
    let connection = Connection::connect(&user.url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let sent = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            payload,
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_user_id(claimed.into()),
        )
        .await;
    let confirmed = match sent {
        Ok(confirm) => matches!(
            tokio::time::timeout(std::time::Duration::from_secs(5), confirm).await,
            Ok(Ok(lapin::Confirmation::Ack(None)))
        ),
        Err(_) => false,
    };
    let _ = connection.close(0, "done".into()).await;
    confirmed
}
