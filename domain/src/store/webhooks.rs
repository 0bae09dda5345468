//! The webhook tables: endpoints, the outbox of events, and their deliveries.
//!
//! An event is written by [`record_event`] inside the transaction of the change it reports,
//! with one delivery for every enabled endpoint subscribed to its type; nobody subscribed, it
//! writes nothing. Workers (see `crate::webhooks`) claim due deliveries with a lease, so on
//! PostgreSQL two replicas never hold the same delivery at once.

use super::codec::IntFlag;
use super::engine::{Cells, Db, FromCells};
use super::{Store, StoreResult};
use crate::crypto::random_id;
use crate::model::WebhookEvent;
use crate::time::Millis;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookEndpointRow {
    pub id: String,
    pub url: String,
    /// Event types, each between spaces (see the migration).
    pub events: String,
    pub secret_sealed: String,
    #[sqlx(try_from = "IntFlag")]
    pub enabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A delivery a worker holds: what it sends, and where.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: String,
    pub attempts: i64,
    pub url: String,
    pub secret_sealed: String,
    pub payload: String,
}

impl FromCells for ClaimedDelivery {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(ClaimedDelivery {
            id: row.some_text(0)?,
            attempts: row.some_int(1)?,
            url: row.some_text(2)?,
            secret_sealed: row.some_text(3)?,
            payload: row.some_text(4)?,
        })
    }
}

/// How one attempt went, to write back.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery_id: String,
    /// `"delivered"`, `"pending"` (tried again at `next_attempt_at`) or `"failed"`.
    pub status: &'static str,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub next_attempt_at: Option<Millis>,
}

/// The event types column: each type between spaces.
pub fn events_column(types: &[&str]) -> String {
    format!(" {} ", types.join(" "))
}

/// Records an event of `kind` about `data` (the contract's object), with its deliveries, in
/// the caller's transaction; nobody subscribed, both statements write nothing. Neither reads
/// the other's effect (the same condition picks the endpoints), so on PostgreSQL they go out
/// as one statement with the write's other held-back statements.
pub(crate) async fn record_event<D: Db>(
    tx: &mut D,
    kind: WebhookEvent,
    data: &impl serde::Serialize,
    now: Millis,
) -> StoreResult<()> {
    let kind = kind.as_str();
    let subscribed = format!("% {kind} %");
    // On SQLite the transaction is the only writer and a read is in-process: nobody listening
    // (the usual case), the event's id, payload and both statements are skipped. Every sign-in
    // records two events. On PostgreSQL the look would be a round trip of its own.
    if D::RUNS_AT_ONCE {
        let listening: Option<i64> = tx
            .read(sql!("SELECT 1 FROM webhook_endpoints WHERE enabled = 1 AND events LIKE $1 LIMIT 1", &subscribed))
            .await?;
        if listening.is_none() {
            return Ok(());
        }
    }
    // Time first: ids (and the delivery ids made from them) grow, so the outbox's indexes are
    // appended to rather than written all over.
    let id = format!("evt_{now:012x}{}", &random_id("")[1..17]);
    let payload = serde_json::json!({"type": kind, "timestamp": now, "data": data}).to_string();
    tx.write(sql!(
        "INSERT INTO webhook_events (id, type, payload, created_at)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled = 1 AND events LIKE $5)",
        &id,
        kind,
        payload,
        now,
        &subscribed,
    ))
    .await?;
    tx.write(sql!(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at, updated_at)
         SELECT 'msg_' || substr($1, 5) || '_' || substr(id, 5), id, $1, 'pending', 0, $2, $2, $2
         FROM webhook_endpoints WHERE enabled = 1 AND events LIKE $3",
        &id,
        now,
        &subscribed,
    ))
    .await
}

const DELIVERIES: &str = "SELECT d.id, d.event_id, ev.type, d.status, d.attempts, d.last_status_code, d.last_error,
                                  d.next_attempt_at, d.created_at, d.updated_at
                           FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id";

const ENDPOINT_COLUMNS: &str = "id, url, events, secret_sealed, enabled, created_at, updated_at";

impl Store {
    pub async fn webhook_endpoints(&self) -> StoreResult<Vec<WebhookEndpointRow>> {
        Ok(sqlx::query_as::<_, WebhookEndpointRow>(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
        ))
        .fetch_all(&self.reads)
        .await?)
    }

    pub async fn webhook_endpoint(&self, id: &str) -> StoreResult<Option<WebhookEndpointRow>> {
        Ok(sqlx::query_as::<_, WebhookEndpointRow>(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reads)
        .await?)
    }

    pub async fn insert_webhook_endpoint(&self, row: &WebhookEndpointRow) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO webhook_endpoints (id, url, events, secret_sealed, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &row.id,
            &row.url,
            &row.events,
            &row.secret_sealed,
            row.enabled,
            row.created_at,
            row.updated_at,
        ))
        .await?;
        Ok(())
    }

    /// Writes the endpoint's URL, events and switch; never its secret, so an edit that read the
    /// row before a rotation cannot put the old secret back. False when it no longer exists.
    pub async fn update_webhook_endpoint(&self, row: &WebhookEndpointRow) -> StoreResult<bool> {
        let changed = self
            .execute(sql!(
                "UPDATE webhook_endpoints SET url = $1, events = $2, enabled = $3, updated_at = $4 WHERE id = $5",
                &row.url,
                &row.events,
                row.enabled,
                row.updated_at,
                &row.id,
            ))
            .await?;
        Ok(changed == 1)
    }

    /// A new signing secret for the endpoint (sealed). False when it no longer exists.
    pub async fn set_webhook_secret(&self, id: &str, secret_sealed: &str, now: Millis) -> StoreResult<bool> {
        let changed = self
            .execute(sql!(
                "UPDATE webhook_endpoints SET secret_sealed = $1, updated_at = $2 WHERE id = $3",
                secret_sealed,
                now,
                id,
            ))
            .await?;
        Ok(changed == 1)
    }

    /// Deletes an endpoint; its deliveries go with it, sent or not.
    pub async fn delete_webhook_endpoint(&self, id: &str) -> StoreResult<bool> {
        Ok(self.execute(sql!("DELETE FROM webhook_endpoints WHERE id = $1", id)).await? == 1)
    }

    /// An endpoint's deliveries, newest first; and how many there are.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<DeliveryRow>, i64)> {
        let rows = sqlx::query_as::<_, DeliveryRow>(&format!(
            "{DELIVERIES} WHERE d.endpoint_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2 OFFSET $3"
        ))
        .bind(endpoint_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reads)
        .await?;
        let total = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(endpoint_id)
            .fetch_one(&self.reads)
            .await?;
        Ok((rows, total))
    }

    pub async fn webhook_delivery(&self, endpoint_id: &str, id: &str) -> StoreResult<Option<DeliveryRow>> {
        Ok(sqlx::query_as::<_, DeliveryRow>(&format!("{DELIVERIES} WHERE d.endpoint_id = $1 AND d.id = $2"))
            .bind(endpoint_id)
            .bind(id)
            .fetch_optional(&self.reads)
            .await?)
    }

    /// Makes a delivery due now, whatever its state (a worker that still holds it loses it).
    pub async fn retry_webhook_delivery(&self, endpoint_id: &str, id: &str, now: Millis) -> StoreResult<bool> {
        let changed = self
            .execute(sql!(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, locked_until = NULL, claim = NULL, updated_at = $1
                 WHERE endpoint_id = $2 AND id = $3",
                now,
                endpoint_id,
                id,
            ))
            .await?;
        Ok(changed == 1)
    }

    /// Takes up to `limit` due deliveries of enabled endpoints, held until `lease_until`, under
    /// a new claim mark. A delivery another worker holds is skipped (PostgreSQL re-checks the
    /// lease on a row it waited for, so two replicas never take the same one).
    pub async fn claim_webhook_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> StoreResult<(String, Vec<ClaimedDelivery>)> {
        let claim = random_id("clm");
        let mark = claim.clone();
        let rows = transaction!(self, |tx| claim_due(tx, mark, now, lease_until, limit))?;
        Ok((claim, rows))
    }

    /// Writes back how a claim's attempts went (all at once: one write for the batch). An
    /// outcome whose delivery was retried or re-claimed meanwhile is dropped.
    pub async fn finish_webhook_attempts(
        &self,
        claim: &str,
        outcomes: Vec<AttemptOutcome>,
        now: Millis,
    ) -> StoreResult<()> {
        let claim = claim.to_string();
        transaction!(self, |tx| async move {
            for outcome in &outcomes {
                tx.execute(sql!(
                    "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status_code = $2, last_error = $3,
                            next_attempt_at = $4, claim = NULL, locked_until = NULL, updated_at = $5
                     WHERE id = $6 AND claim = $7",
                    outcome.status,
                    outcome.status_code,
                    &outcome.error,
                    outcome.next_attempt_at,
                    now,
                    &outcome.delivery_id,
                    &claim,
                ))
                .await?;
            }
            Ok(())
        })
    }

    /// SQLite serves one process: a lease still held at start was held by this process before
    /// it stopped (perhaps killed), so it is let go at once rather than when it runs out.
    pub(crate) async fn release_webhook_leases(&self) -> StoreResult<()> {
        self.execute(sql!(
            "UPDATE webhook_deliveries SET claim = NULL, locked_until = NULL WHERE claim IS NOT NULL OR locked_until IS NOT NULL"
        ))
        .await?;
        Ok(())
    }

    /// Forgets events older than `before` that nothing is still trying to deliver (their
    /// deliveries go with them).
    pub(crate) async fn prune_webhook_events(&self, before: Millis) -> StoreResult<u64> {
        self.execute(sql!(
            "DELETE FROM webhook_events WHERE created_at < $1
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.status = 'pending')",
            before,
        ))
        .await
    }
}

async fn claim_due(
    tx: &mut impl Db,
    claim: String,
    now: Millis,
    lease_until: Millis,
    limit: i64,
) -> StoreResult<Vec<ClaimedDelivery>> {
    tx.all(sql!(
        "UPDATE webhook_deliveries SET claim = $1, locked_until = $2
         WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                      WHERE d.status = 'pending' AND d.next_attempt_at <= $3
                        AND (d.locked_until IS NULL OR d.locked_until < $3) AND e.enabled = 1
                      ORDER BY d.next_attempt_at LIMIT $4)
           AND status = 'pending' AND (locked_until IS NULL OR locked_until < $3)
         RETURNING id, attempts,
                   (SELECT url FROM webhook_endpoints e WHERE e.id = endpoint_id),
                   (SELECT secret_sealed FROM webhook_endpoints e WHERE e.id = endpoint_id),
                   (SELECT payload FROM webhook_events ev WHERE ev.id = event_id)",
        &claim,
        lease_until,
        now,
        limit,
    ))
    .await
}
