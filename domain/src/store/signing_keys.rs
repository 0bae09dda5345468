//! The `signing_keys` table: the keys session tokens and ID tokens are signed with, shared by
//! every replica; each algorithm has its own rotation schedule.
//! Not memoized: the token service keeps its own short-lived key ring (see `tokens.rs`).

use super::{Store, StoreError, StoreResult};
use crate::time::Millis;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    /// The public key as the JWKS publishes it: its JWK members (`kty`, `crv`/`x` or `n`/`e`), JSON.
    pub public_jwk: String,
    /// The private key (Ed25519: PKCS#8; RSA: PKCS#1), DER in base64url, sealed under the master key.
    pub private_sealed: String,
    pub created_at: Millis,
    pub activates_at: Millis,
}

impl Store {
    /// Every key of every algorithm, oldest first.
    pub async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>> {
        Ok(sqlx::query_as::<_, SigningKeyRow>(
            "SELECT kid, alg, public_jwk, private_sealed, created_at, activates_at FROM signing_keys ORDER BY activates_at",
        )
        .fetch_all(&self.reads)
        .await?)
    }

    /// Adds a key. False when another replica already took the same activation slot for that algorithm.
    pub async fn insert_signing_key(&self, row: &SigningKeyRow) -> StoreResult<bool> {
        let inserted = self
            .execute(sql!(
                "INSERT INTO signing_keys (kid, alg, public_jwk, private_sealed, created_at, activates_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &row.kid,
                &row.alg,
                &row.public_jwk,
                &row.private_sealed,
                row.created_at,
                row.activates_at,
            ))
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets retired keys: nothing they signed is still alive.
    pub async fn delete_signing_keys(&self, kids: &[String]) -> StoreResult<()> {
        for kid in kids {
            self.execute(sql!("DELETE FROM signing_keys WHERE kid = $1", kid)).await?;
        }
        Ok(())
    }
}
