//! Master-key rotation. Start Latchkey with the new `LATCHKEY_MASTER_KEY` and the old one in
//! `LATCHKEY_PREVIOUS_MASTER_KEYS`: values sealed under the old key still open, and at start
//! every one of them is re-sealed under the new key (each replaced only if unchanged, so
//! replicas starting together agree). Once a start reports nothing left under an old key, the
//! old key can go.

use crate::crypto::SealPurpose;
use crate::store::{SealedColumn, StoreError};
use crate::Latchkey;

/// Every sealed value Latchkey keeps, and what it is.
const SEALED: [(SealedColumn, SealPurpose); 6] = [
    (
        SealedColumn { table: "connections", key: "id", column: "client_secret_sealed", only: "" },
        SealPurpose::ConnectionClientSecret,
    ),
    (
        SealedColumn { table: "workspace_grants", key: "bot_id", column: "access_token_sealed", only: "" },
        SealPurpose::NotionAccessToken,
    ),
    (
        SealedColumn { table: "workspace_grants", key: "bot_id", column: "refresh_token_sealed", only: "" },
        SealPurpose::NotionRefreshToken,
    ),
    (SealedColumn { table: "signing_keys", key: "kid", column: "private_sealed", only: "" }, SealPurpose::SigningKey),
    (
        SealedColumn { table: "webhook_endpoints", key: "id", column: "secret_sealed", only: "" },
        SealPurpose::WebhookSecret,
    ),
    (
        SealedColumn { table: "settings", key: "key", column: "value", only: "AND key = 'secret_key_sealed'" },
        SealPurpose::InstanceSecretKey,
    ),
];

/// What a re-sealing pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// Values now sealed under the current master key.
    pub resealed: usize,
    /// Values sealed under a key this instance was not given: they stay as they are, unreadable.
    pub unreadable: usize,
}

impl Latchkey {
    /// Re-seals under the current master key every value sealed under a previous one.
    pub async fn reseal_under_current_key(&self) -> Result<Resealed, StoreError> {
        let mut done = Resealed::default();
        for (place, purpose) in SEALED {
            for (key, sealed) in self.store.sealed_under_other_keys(place, self.sealer.key_id()).await? {
                let Ok(plain) = self.sealer.open(purpose, &sealed) else {
                    done.unreadable += 1;
                    continue;
                };
                let fresh = self.sealer.seal(purpose, plain.expose());
                if self.store.replace_sealed(place, &key, &sealed, &fresh).await? {
                    done.resealed += 1;
                }
            }
        }
        Ok(done)
    }
}
