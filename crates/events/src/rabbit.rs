//! RabbitMQ: the topology (declared idempotently by publishers and consumers alike) and
//! the confirming publisher.

use crate::bus::{BusError, Publisher};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::Mutex;
use uuid::Uuid;

/// The names of the platform's exchanges and queues, under one prefix (one per deployment,
/// or per test).
#[derive(Debug, Clone)]
pub struct Topology {
    pub prefix: String,
    /// Queues unused for this long are deleted by the broker (tests); none in production.
    pub expire_unused_ms: Option<u32>,
}

impl Topology {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            expire_unused_ms: None,
        }
    }

    pub fn exchange(&self) -> String {
        format!("{}events", self.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}dead-letter", self.prefix)
    }

    pub fn audit_queue(&self) -> String {
        format!("{}audit", self.prefix)
    }

    pub fn notification_queue(&self) -> String {
        format!("{}notifications", self.prefix)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}dead-letter", self.prefix)
    }

    /// Declares everything; declaring what exists with the same arguments is a no-op.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                self.exchange().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                self.dead_letter_exchange().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await?;
        let queue = QueueDeclareOptions::durable();
        let mut plain = FieldTable::default();
        if let Some(ms) = self.expire_unused_ms {
            plain.insert(ShortString::from("x-expires"), AMQPValue::LongUInt(ms));
        }
        let mut dead_lettered = plain.clone();
        dead_lettered.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(LongString::from(self.dead_letter_exchange())),
        );
        for (name, binding) in [
            (self.audit_queue(), "event.#"),
            (self.notification_queue(), "notification.#"),
        ] {
            channel
                .queue_declare(name.clone().into(), queue, dead_lettered.clone())
                .await?;
            channel
                .queue_bind(
                    name.into(),
                    self.exchange().into(),
                    binding.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        channel
            .queue_declare(self.dead_letter_queue().into(), queue, plain)
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue().into(),
                self.dead_letter_exchange().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }
}

/// How long a publish may wait for the broker's confirm before it counts as failed.
pub const PUBLISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects lazily and reconnects after any failure; every message is persistent,
/// mandatory (an unroutable message is an error, not silently dropped) and confirmed.
pub struct RabbitPublisher {
    url: String,
    topology: Topology,
    channel: Mutex<Option<(Connection, Channel)>>,
    /// The user it connects as, set as every message's AMQP `user_id`: RabbitMQ refuses a
    /// message whose `user_id` is not the connection's user, so a consumer can trust it
    /// to name the publisher.
    user: String,
}

/// The user an AMQP URL connects as (`guest` when it names none).
pub fn amqp_user(url: &str) -> String {
    url.parse::<lapin::uri::AMQPUri>()
        .map(|uri| uri.authority.userinfo.username)
        .unwrap_or_else(|_| "guest".to_owned())
}

fn err(e: impl std::fmt::Display) -> BusError {
    BusError(e.to_string())
}

impl RabbitPublisher {
    pub fn new(url: &str, topology: Topology) -> Self {
        Self {
            url: url.to_owned(),
            topology,
            channel: Mutex::new(None),
            user: amqp_user(url),
        }
    }

    async fn open(&self) -> Result<(Connection, Channel), BusError> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .map_err(err)?;
        let mut channel = connection.create_channel().await.map_err(err)?;
        if let Err(e) = self.topology.declare(&channel).await {
            // A least-privileged publisher may write the events exchange only: the
            // audit-writer declares the topology, and until it has, a publish is refused
            // (mandatory) and stays in the outbox.
            tracing::debug!(error = %e, "publisher: not declaring the topology");
            channel = connection.create_channel().await.map_err(err)?;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(err)?;
        Ok((connection, channel))
    }

    /// The open channel, (re)connecting when there is none; held only while looking, so
    /// many publishes share it at once.
    async fn channel(&self) -> Result<Channel, BusError> {
        let mut guard = self.channel.lock().await;
        let usable = guard
            .as_ref()
            .is_some_and(|(c, ch)| c.status().connected() && ch.status().connected());
        if !usable {
            *guard = Some(self.open().await?);
        }
        guard
            .as_ref()
            .map(|(_, ch)| ch.clone())
            .ok_or_else(|| BusError("no channel".into()))
    }

    async fn try_publish(
        channel: &Channel,
        user: &str,
        exchange: &str,
        routing_key: &str,
        id: Uuid,
        payload: &[u8],
        traceparent: Option<&str>,
    ) -> Result<(), BusError> {
        let mut headers = FieldTable::default();
        if let Some(tp) = traceparent {
            headers.insert(
                ShortString::from("traceparent"),
                AMQPValue::LongString(LongString::from(tp)),
            );
        }
        let properties = BasicProperties::default()
            .with_headers(headers)
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(id.to_string().into())
            .with_user_id(user.into());
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                payload,
                properties,
            )
            .await
            .map_err(err)?
            .await
            .map_err(err)?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => {
                Err(BusError(format!("no queue is bound for '{routing_key}'")))
            }
            Confirmation::Nack(_) => Err(BusError("the broker refused the message".into())),
            Confirmation::NotRequested => Err(BusError("publisher confirms are off".into())),
        }
    }
}

#[async_trait::async_trait]
impl Publisher for RabbitPublisher {
    async fn publish(
        &self,
        routing_key: &str,
        message_id: Uuid,
        payload: &[u8],
        traceparent: Option<&str>,
    ) -> Result<(), BusError> {
        self.send(routing_key, message_id, payload, traceparent)
            .await
    }

    /// One message: the array of the entries (its id the first one's; each entry carries
    /// its own trace context in its envelope).
    async fn publish_many(
        &self,
        routing_key: &str,
        entries: &[(Uuid, &str)],
    ) -> Result<(), BusError> {
        let Some((first, _)) = entries.first() else {
            return Ok(());
        };
        let payloads: Vec<&str> = entries.iter().map(|(_, p)| *p).collect();
        self.send(routing_key, *first, &crate::batch::encode(&payloads), None)
            .await
    }
}

impl RabbitPublisher {
    async fn send(
        &self,
        routing_key: &str,
        message_id: Uuid,
        payload: &[u8],
        traceparent: Option<&str>,
    ) -> Result<(), BusError> {
        // A blocked broker (e.g. past its memory alarm) or a black-holed connection can
        // hold a connect, a publish or its confirm forever: give up after a while so the
        // relay retries with its backoff instead of hanging.
        let attempt = async {
            let channel = self.channel().await?;
            Self::try_publish(
                &channel,
                &self.user,
                &self.topology.exchange(),
                routing_key,
                message_id,
                payload,
                traceparent,
            )
            .await
        };
        let result = tokio::time::timeout(PUBLISH_TIMEOUT, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(BusError(format!(
                    "no publisher confirm within {} s",
                    PUBLISH_TIMEOUT.as_secs()
                )))
            });
        if result.is_err() {
            // Start afresh next time: the channel may be closed or in an unknown state.
            // Closing waits for the broker's answer: not for long on a dead connection.
            if let Some((connection, _)) = self.channel.lock().await.take() {
                let close = connection.close(0, "reconnecting".into());
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), close).await;
            }
        }
        result
    }
}
