//! Webhook endpoints, for the dashboard and the backend API: register, change, remove, see
//! each delivery and send one again.

use serde::Deserialize;

use super::{AdminError, AdminResult};
use crate::crypto::{random_id, SealPurpose};
use crate::model::{Webhook, WebhookDelivery, WebhookEvent};
use crate::store::{events_column, DeliveryRow, WebhookEndpointRow};
use crate::webhooks::{check_endpoint_url, new_secret};
use crate::Latchkey;

/// `POST /v1/admin/webhooks`. Without `events`, every event type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: String,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `PATCH /v1/admin/webhooks/{id}`: only the fields sent change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl Latchkey {
    pub async fn list_webhooks(&self) -> AdminResult<Vec<Webhook>> {
        Ok(self.store.webhook_endpoints().await?.iter().map(|row| to_model(row, None)).collect())
    }

    pub async fn get_webhook(&self, id: &str) -> AdminResult<Webhook> {
        Ok(to_model(&self.webhook_row(id).await?, None))
    }

    /// Registers an endpoint. The answer carries its signing secret.
    pub async fn create_webhook(&self, input: WebhookInput) -> AdminResult<Webhook> {
        let url = self.endpoint_url(&input.url)?;
        let events = events_of(input.events.as_deref())?;
        let secret = new_secret();
        let now = self.now();
        let row = WebhookEndpointRow {
            id: random_id("whk"),
            url,
            events,
            secret_sealed: self.sealer.seal(SealPurpose::WebhookSecret, &secret),
            enabled: input.enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_webhook_endpoint(&row).await?;
        Ok(to_model(&row, Some(secret)))
    }

    pub async fn update_webhook(&self, id: &str, patch: WebhookPatch) -> AdminResult<Webhook> {
        let mut row = self.webhook_row(id).await?;
        if let Some(url) = &patch.url {
            row.url = self.endpoint_url(url)?;
        }
        if let Some(events) = &patch.events {
            row.events = events_of(Some(events))?;
        }
        if let Some(enabled) = patch.enabled {
            row.enabled = enabled;
        }
        row.updated_at = self.now();
        if !self.store.update_webhook_endpoint(&row).await? {
            return Err(AdminError::not_found("webhook"));
        }
        Ok(to_model(&row, None))
    }

    /// Removes an endpoint; deliveries not yet made are not made.
    pub async fn delete_webhook(&self, id: &str) -> AdminResult<()> {
        if !self.store.delete_webhook_endpoint(id).await? {
            return Err(AdminError::not_found("webhook"));
        }
        Ok(())
    }

    /// The endpoint with its signing secret (the dashboard's "Reveal").
    pub async fn reveal_webhook_secret(&self, id: &str) -> AdminResult<Webhook> {
        let row = self.webhook_row(id).await?;
        let secret = self.sealer.open(SealPurpose::WebhookSecret, &row.secret_sealed).map_err(|_| {
            AdminError::new(
                500,
                "secret_unreadable",
                "This endpoint's secret was sealed with another master key; rotate it.",
            )
        })?;
        Ok(to_model(&row, Some(secret.expose().clone())))
    }

    /// A new signing secret, used from the next attempt on; the old one stops at once.
    pub async fn rotate_webhook_secret(&self, id: &str) -> AdminResult<Webhook> {
        let mut row = self.webhook_row(id).await?;
        let secret = new_secret();
        row.secret_sealed = self.sealer.seal(SealPurpose::WebhookSecret, &secret);
        row.updated_at = self.now();
        if !self.store.set_webhook_secret(id, &row.secret_sealed, row.updated_at).await? {
            return Err(AdminError::not_found("webhook"));
        }
        Ok(to_model(&row, Some(secret)))
    }

    pub async fn webhook_deliveries(
        &self,
        id: &str,
        limit: i64,
        offset: i64,
    ) -> AdminResult<(Vec<WebhookDelivery>, i64)> {
        self.webhook_row(id).await?;
        let (rows, total) = self.store.webhook_deliveries(id, limit.clamp(1, 500), offset.max(0)).await?;
        Ok((rows.into_iter().map(delivery_model).collect(), total))
    }

    /// Sends a delivery again now, whatever became of it.
    pub async fn retry_webhook_delivery(&self, id: &str, delivery_id: &str) -> AdminResult<WebhookDelivery> {
        if !self.store.retry_webhook_delivery(id, delivery_id, self.now()).await? {
            return Err(AdminError::not_found("delivery"));
        }
        let row =
            self.store.webhook_delivery(id, delivery_id).await?.ok_or_else(|| AdminError::not_found("delivery"))?;
        Ok(delivery_model(row))
    }

    async fn webhook_row(&self, id: &str) -> AdminResult<WebhookEndpointRow> {
        self.store.webhook_endpoint(id).await?.ok_or_else(|| AdminError::not_found("webhook"))
    }

    fn endpoint_url(&self, text: &str) -> AdminResult<String> {
        check_endpoint_url(&self.config, text).map(String::from).map_err(|why| AdminError::invalid("url", &why))
    }
}

/// The events column for what was asked: every type when nothing was, else the named ones
/// (each known, at least one).
fn events_of(asked: Option<&[String]>) -> AdminResult<String> {
    let Some(asked) = asked else {
        return Ok(events_column(&WebhookEvent::ALL.map(WebhookEvent::as_str)));
    };
    if asked.is_empty() {
        return Err(AdminError::invalid("events", "choose at least one event type"));
    }
    let mut chosen = Vec::new();
    for name in asked {
        let Some(event) = WebhookEvent::parse(name.trim()) else {
            let known: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            return Err(AdminError::invalid(
                "events",
                &format!("`{name}` is not an event type; the types are {}", known.join(", ")),
            ));
        };
        if !chosen.contains(&event.as_str()) {
            chosen.push(event.as_str());
        }
    }
    Ok(events_column(&chosen))
}

fn to_model(row: &WebhookEndpointRow, secret: Option<String>) -> Webhook {
    Webhook {
        id: row.id.clone(),
        object: "webhook".into(),
        url: row.url.clone(),
        events: row.events.split_whitespace().filter_map(WebhookEvent::parse).collect(),
        enabled: row.enabled,
        created_at: row.created_at,
        updated_at: row.updated_at,
        secret,
    }
}

fn delivery_model(row: DeliveryRow) -> WebhookDelivery {
    WebhookDelivery {
        id: row.id,
        event_id: row.event_id,
        event_type: row.event_type,
        status: row.status,
        attempts: row.attempts,
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
