//! SSO connections: create, change, delete, with the rules the admin's journey promises.

use serde::Deserialize;

use super::{AdminError, AdminResult};
use crate::crypto::SealPurpose;
use crate::ids::{ConnectionId, Provider};
use crate::model::Connection;
use crate::store::ConnectionRow;
use crate::Latchkey;

/// `POST /v1/admin/connections` and the dashboard's "Add connection".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionInput {
    pub provider: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub use_custom_credentials: Option<bool>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// `PATCH /v1/admin/connections/{id}`: any field; a missing `client_secret` keeps the old one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub use_custom_credentials: Option<bool>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// What "Add connection" did.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionAdded {
    /// A new connection.
    Created(Connection),
    /// The development instance's first-start connection, now with the admin's settings.
    TookOverFirstStart(Connection),
}

/// There is a Notion connection already: found before adding, or added by someone else at the
/// same moment (the unique provider decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectionExists {
    Found,
    Raced,
}

impl From<ConnectionExists> for AdminError {
    fn from(exists: ConnectionExists) -> Self {
        let message = match exists {
            ConnectionExists::Found => "There is already a Notion connection: change it instead of adding another.",
            ConnectionExists::Raced => "There is already a Notion connection.",
        };
        AdminError::new(409, "connection_exists", message)
    }
}

fn clean(value: Option<String>, field: &str, max: usize) -> AdminResult<Option<String>> {
    match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => {
            Err(AdminError::invalid(field, &format!("must be at most {max} characters")))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err(AdminError::invalid(field, "must not contain control characters"))
        }
        other => Ok(other),
    }
}

impl Latchkey {
    pub fn connection_model(&self, row: &ConnectionRow) -> Connection {
        row.to_model(&self.config.redirect_uri())
    }

    pub async fn list_connections(&self) -> AdminResult<Vec<Connection>> {
        Ok(self.store.connections().await?.iter().map(|row| self.connection_model(row)).collect())
    }

    pub async fn get_connection(&self, id: &ConnectionId) -> AdminResult<Connection> {
        let row = self.store.connection(id).await?.ok_or_else(|| AdminError::not_found("connection"))?;
        Ok(self.connection_model(&row))
    }

    pub async fn create_connection(&self, input: ConnectionInput) -> AdminResult<Connection> {
        self.try_create_connection(input).await?.map_err(AdminError::from)
    }

    /// The dashboard's "Add connection". A development instance made a shared-credentials
    /// connection at first start so that signing in works at once; the admin's journey still
    /// begins with "Add connection": while that connection is untouched since, adding takes it
    /// over with the form's settings instead of being refused.
    pub async fn add_connection(&self, input: ConnectionInput) -> AdminResult<ConnectionAdded> {
        let exists = match self.try_create_connection(input.clone()).await? {
            Ok(connection) => return Ok(ConnectionAdded::Created(connection)),
            Err(exists) => exists,
        };
        let existing = self.list_connections().await?;
        let pristine = existing
            .iter()
            .find(|c| !self.config.is_production() && c.created_at == c.updated_at && !c.use_custom_credentials);
        let Some(pristine) = pristine else { return Err(exists.into()) };
        let patch = ConnectionPatch {
            enabled: input.enabled,
            use_custom_credentials: input.use_custom_credentials,
            client_id: input.client_id,
            client_secret: input.client_secret,
        };
        self.update_connection(&pristine.id, patch).await.map(ConnectionAdded::TookOverFirstStart)
    }

    /// Creates the connection, or says there is one already (apart from the other refusals,
    /// so that [`Latchkey::add_connection`] decides on a type, not on a status code).
    async fn try_create_connection(&self, input: ConnectionInput) -> AdminResult<Result<Connection, ConnectionExists>> {
        // Parsed here rather than by serde, so that another name is a 422 on `provider`.
        let Some(provider) = Provider::parse(&input.provider) else {
            return Err(AdminError::invalid("provider", "the only provider is `notion`"));
        };
        if self.store.connection_by_provider(provider).await?.is_some() {
            return Ok(Err(ConnectionExists::Found));
        }
        let now = self.now();
        let mut row = ConnectionRow {
            id: ConnectionId::generate(),
            provider,
            enabled: true,
            use_custom_credentials: self.config.is_production(),
            client_id: None,
            client_secret_sealed: None,
            created_at: now,
            updated_at: now,
        };
        self.apply(&mut row, input.enabled, input.use_custom_credentials, input.client_id, input.client_secret)?;
        match self.store.insert_connection(&row).await {
            Ok(()) => Ok(Ok(self.connection_model(&row))),
            // Two admins adding at once: the unique provider decides.
            Err(e) if e.to_string().to_lowercase().contains("unique") => Ok(Err(ConnectionExists::Raced)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn update_connection(&self, id: &ConnectionId, patch: ConnectionPatch) -> AdminResult<Connection> {
        let mut row = self.store.connection(id).await?.ok_or_else(|| AdminError::not_found("connection"))?;
        self.apply(&mut row, patch.enabled, patch.use_custom_credentials, patch.client_id, patch.client_secret)?;
        row.updated_at = self.now();
        if !self.store.update_connection(&row).await? {
            return Err(AdminError::not_found("connection"));
        }
        Ok(self.connection_model(&row))
    }

    pub async fn delete_connection(&self, id: &ConnectionId) -> AdminResult<()> {
        if self.store.delete_connection(id).await? {
            Ok(())
        } else {
            Err(AdminError::not_found("connection"))
        }
    }

    /// Applies requested changes to `row` and checks the result as a whole, before anything is saved.
    fn apply(
        &self,
        row: &mut ConnectionRow,
        enabled: Option<bool>,
        custom: Option<bool>,
        client_id: Option<String>,
        client_secret: Option<String>,
    ) -> AdminResult<()> {
        if let Some(enabled) = enabled {
            row.enabled = enabled;
        }
        if let Some(custom) = custom {
            row.use_custom_credentials = custom;
        }
        if let Some(id) = clean(client_id, "client_id", 200)? {
            row.client_id = Some(id);
        }
        if let Some(secret) = clean(client_secret, "client_secret", 500)? {
            row.client_secret_sealed = Some(self.sealer.seal(SealPurpose::ConnectionClientSecret, &secret));
        }
        let complete = row.client_id.is_some() && row.client_secret_sealed.is_some();
        if self.config.is_production() && !(row.uses_custom_credentials() && complete) {
            return Err(AdminError::new(
                422,
                "custom_credentials_required",
                "Production instances sign in with your own Notion integration: turn on “Use custom credentials” and paste its OAuth client ID and client secret.",
            ));
        }
        if row.uses_custom_credentials() && !complete {
            return Err(AdminError::new(
                422,
                "credentials_missing",
                "Custom credentials need both the OAuth client ID and the OAuth client secret from your Notion integration.",
            ));
        }
        Ok(())
    }
}
