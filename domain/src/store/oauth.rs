//! The OpenID Provider's tables: `oauth_applications`, `oauth_consents`, and the grant family
//! (`oauth_grants`, with its `oauth_codes` and `oauth_tokens`). Not memoized: every code and
//! token is used once or checked against its grant's revocation, which must hold on replicas.

use super::codec::IntFlag;
use super::engine::{Cells, Db, FromCells};
use super::{Store, StoreResult};
use crate::ids::{SessionId, TokenHash, UserId};
use crate::time::Millis;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthApplicationRow {
    pub id: String,
    pub name: String,
    pub client_id: String,
    /// SHA-256 of the client secret; `None` for a public client.
    pub client_secret_hash: Option<String>,
    #[sqlx(try_from = "IntFlag")]
    pub public: bool,
    /// JSON array of the exact redirect URIs.
    pub redirect_uris: String,
    #[sqlx(try_from = "IntFlag")]
    pub skip_consent: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl OAuthApplicationRow {
    pub fn is_public(&self) -> bool {
        self.public
    }

    pub fn skips_consent(&self) -> bool {
        self.skip_consent
    }

    pub fn redirect_uri_list(&self) -> Vec<String> {
        serde_json::from_str(&self.redirect_uris).unwrap_or_default()
    }
}

/// One authorization of an app by a person: what every code and token it leads to stands on.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthGrantRow {
    pub id: String,
    pub application_id: String,
    pub user_id: UserId,
    pub session_id: SessionId,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the person signed in (their Latchkey session began), for `auth_time`.
    pub auth_time: Millis,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

const SELECT_APPLICATION: &str = "SELECT id, name, client_id, client_secret_hash, public, redirect_uris, skip_consent, created_at, updated_at FROM oauth_applications";

const GRANT_COLUMNS: &str = "id, application_id, user_id, session_id, scope, auth_time, created_at, revoked_at";

impl FromCells for OAuthGrantRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(OAuthGrantRow {
            id: row.some_text(0)?,
            application_id: row.some_text(1)?,
            user_id: UserId::from(row.some_text(2)?),
            session_id: SessionId::from(row.some_text(3)?),
            scope: row.some_text(4)?,
            auth_time: row.some_int(5)?,
            created_at: row.some_int(6)?,
            revoked_at: row.int(7)?,
        })
    }
}

/// An authorization code as kept (its hash), with what the token request must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthCodeRow {
    pub code_hash: TokenHash,
    pub grant_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    /// The PKCE S256 challenge, when the app sent one.
    pub code_challenge: Option<String>,
    pub expires_at: Millis,
}

impl FromCells for OAuthCodeRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(OAuthCodeRow {
            code_hash: TokenHash::from_stored(row.some_text(0)?),
            grant_id: row.some_text(1)?,
            redirect_uri: row.some_text(2)?,
            nonce: row.text(3)?,
            code_challenge: row.text(4)?,
            expires_at: row.some_int(5)?,
        })
    }
}

/// An access or refresh token as kept (its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTokenRow {
    pub token_hash: TokenHash,
    pub kind: TokenKind,
    pub created_at: Millis,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// What presenting a code or a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<T> {
    /// It was live and is now spent: here is what it stood for, and its grant.
    Spent(T, OAuthGrantRow),
    /// It had been spent before: its whole grant is now revoked (RFC 9700, 2.2.2 and 4.14.2).
    Replayed,
    /// Never issued, expired and forgotten, or its grant is gone.
    Unknown,
}

impl Store {
    pub async fn oauth_applications(&self) -> StoreResult<Vec<OAuthApplicationRow>> {
        Ok(sqlx::query_as::<_, OAuthApplicationRow>(&format!("{SELECT_APPLICATION} ORDER BY created_at, id"))
            .fetch_all(&self.reads)
            .await?)
    }

    pub async fn oauth_application(&self, id: &str) -> StoreResult<Option<OAuthApplicationRow>> {
        Ok(sqlx::query_as::<_, OAuthApplicationRow>(&format!("{SELECT_APPLICATION} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.reads)
            .await?)
    }

    pub async fn oauth_application_by_client_id(&self, client_id: &str) -> StoreResult<Option<OAuthApplicationRow>> {
        Ok(sqlx::query_as::<_, OAuthApplicationRow>(&format!("{SELECT_APPLICATION} WHERE client_id = $1"))
            .bind(client_id)
            .fetch_optional(&self.reads)
            .await?)
    }

    pub async fn insert_oauth_application(&self, row: &OAuthApplicationRow) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO oauth_applications
               (id, name, client_id, client_secret_hash, public, redirect_uris, skip_consent, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &row.id,
            &row.name,
            &row.client_id,
            &row.client_secret_hash,
            row.public,
            &row.redirect_uris,
            row.skip_consent,
            row.created_at,
            row.updated_at,
        ))
        .await?;
        Ok(())
    }

    /// Writes the name, redirect URIs and consent setting; never the secret, so an edit that
    /// read the row before a rotation cannot bring the old secret back. False when it is gone.
    pub async fn update_oauth_application(&self, row: &OAuthApplicationRow) -> StoreResult<bool> {
        let changed = self
            .execute(sql!(
                "UPDATE oauth_applications SET name = $1, redirect_uris = $2, skip_consent = $3, updated_at = $4
                 WHERE id = $5",
                &row.name,
                &row.redirect_uris,
                row.skip_consent,
                row.updated_at,
                &row.id,
            ))
            .await?;
        Ok(changed > 0)
    }

    /// A new client secret (its hash) for a confidential app. False when it is gone.
    pub async fn set_oauth_client_secret_hash(&self, id: &str, hash: &str, now: Millis) -> StoreResult<bool> {
        let changed = self
            .execute(sql!(
                "UPDATE oauth_applications SET client_secret_hash = $1, updated_at = $2 WHERE id = $3",
                hash,
                now,
                id,
            ))
            .await?;
        Ok(changed > 0)
    }

    /// Deletes an app; its consents, grants, codes and tokens go with it.
    pub async fn delete_oauth_application(&self, id: &str) -> StoreResult<bool> {
        Ok(self.execute(sql!("DELETE FROM oauth_applications WHERE id = $1", id)).await? > 0)
    }

    /// The scopes a person already allowed this app, if they did.
    pub async fn oauth_consent(&self, user_id: &str, application_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar::<_, String>(
            "SELECT scope FROM oauth_consents WHERE user_id = $1 AND application_id = $2",
        )
        .bind(user_id)
        .bind(application_id)
        .fetch_optional(&self.reads)
        .await?)
    }

    /// A new grant and its code, and (when the person was just asked) their consent, at once.
    pub async fn insert_authorization(
        &self,
        grant: &OAuthGrantRow,
        code: &OAuthCodeRow,
        remember_consent: bool,
    ) -> StoreResult<()> {
        let (grant, code) = (grant.clone(), code.clone());
        transaction!(self, |tx| async move {
            tx.execute(sql!(
                "INSERT INTO oauth_grants (id, application_id, user_id, session_id, scope, auth_time, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &grant.id,
                &grant.application_id,
                &grant.user_id,
                &grant.session_id,
                &grant.scope,
                grant.auth_time,
                grant.created_at,
            ))
            .await?;
            tx.execute(sql!(
                "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &code.code_hash,
                &code.grant_id,
                &code.redirect_uri,
                &code.nonce,
                &code.code_challenge,
                code.expires_at,
            ))
            .await?;
            if remember_consent {
                tx.execute(sql!(
                    "INSERT INTO oauth_consents (user_id, application_id, scope, granted_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (user_id, application_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
                    &grant.user_id,
                    &grant.application_id,
                    &grant.scope,
                    grant.created_at,
                ))
                .await?;
            }
            Ok(())
        })
    }

    /// Spends a code: the first presentation gets it (and its grant), any later one revokes
    /// the grant and everything it issued.
    pub async fn redeem_code(&self, code_hash: &TokenHash, now: Millis) -> StoreResult<Redemption<OAuthCodeRow>> {
        let code_hash = code_hash.clone();
        transaction!(self, |tx| async move {
            let spent: Option<OAuthCodeRow> = tx
                .optional(sql!(
                    "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL
                     RETURNING code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at",
                    now,
                    &code_hash,
                ))
                .await?;
            match spent {
                Some(code) => Ok(match grant_in(tx, &code.grant_id).await? {
                    Some(grant) => Redemption::Spent(code, grant),
                    None => Redemption::Unknown,
                }),
                None => {
                    let earlier: Option<String> =
                        tx.optional(sql!("SELECT grant_id FROM oauth_codes WHERE code_hash = $1", &code_hash)).await?;
                    match earlier {
                        Some(grant_id) => {
                            revoke_grant_in(tx, &grant_id, now).await?;
                            Ok(Redemption::Replayed)
                        }
                        None => Ok(Redemption::Unknown),
                    }
                }
            }
        })
    }

    /// Spends a refresh token the same way: used twice, its grant is revoked.
    pub async fn redeem_refresh_token(&self, token_hash: &TokenHash, now: Millis) -> StoreResult<Redemption<()>> {
        let token_hash = token_hash.clone();
        transaction!(self, |tx| async move {
            let spent: Option<String> = tx
                .optional(sql!(
                    "UPDATE oauth_tokens SET used_at = $1
                     WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $1
                     RETURNING grant_id",
                    now,
                    &token_hash,
                ))
                .await?;
            match spent {
                Some(grant_id) => Ok(match grant_in(tx, &grant_id).await? {
                    Some(grant) => Redemption::Spent((), grant),
                    None => Redemption::Unknown,
                }),
                None => {
                    let earlier: Option<String> = tx
                        .optional(sql!(
                            "SELECT grant_id FROM oauth_tokens
                             WHERE token_hash = $1 AND kind = 'refresh' AND used_at IS NOT NULL",
                            &token_hash,
                        ))
                        .await?;
                    match earlier {
                        Some(grant_id) => {
                            revoke_grant_in(tx, &grant_id, now).await?;
                            Ok(Redemption::Replayed)
                        }
                        None => Ok(Redemption::Unknown),
                    }
                }
            }
        })
    }

    /// Issues tokens under one grant, unless the grant was revoked meanwhile (a replay racing
    /// the legitimate request): then nothing is written and the answer is false.
    pub async fn insert_oauth_tokens(&self, grant_id: &str, tokens: &[OAuthTokenRow]) -> StoreResult<bool> {
        let (grant_id, tokens) = (grant_id.to_string(), tokens.to_vec());
        transaction!(self, |tx| async move {
            let live: Option<String> = tx
                .optional(sql!("SELECT id FROM oauth_grants WHERE id = $1 AND revoked_at IS NULL", &grant_id))
                .await?;
            if live.is_none() {
                return Ok(false);
            }
            for token in &tokens {
                tx.execute(sql!(
                    "INSERT INTO oauth_tokens (token_hash, grant_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    &token.token_hash,
                    &grant_id,
                    token.kind.as_str(),
                    token.created_at,
                    token.expires_at,
                ))
                .await?;
            }
            Ok(true)
        })
    }

    /// The live grant a token of `kind` stands for (not expired, grant not revoked).
    pub async fn grant_of_token(
        &self,
        token_hash: &TokenHash,
        kind: TokenKind,
        now: Millis,
    ) -> StoreResult<Option<OAuthGrantRow>> {
        Ok(sqlx::query_as::<_, OAuthGrantRow>(
            "SELECT g.id, g.application_id, g.user_id, g.session_id, g.scope, g.auth_time, g.created_at, g.revoked_at
             FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
             WHERE t.token_hash = $1 AND t.kind = $2 AND t.expires_at > $3 AND t.used_at IS NULL
               AND g.revoked_at IS NULL",
        )
        .bind(token_hash.as_str())
        .bind(kind.as_str())
        .bind(now)
        .fetch_optional(&self.reads)
        .await?)
    }

    /// Ends a grant and everything it issued.
    pub async fn revoke_oauth_grant(&self, grant_id: &str, now: Millis) -> StoreResult<()> {
        let grant_id = grant_id.to_string();
        transaction!(self, |tx| async move { revoke_grant_in(tx, &grant_id, now).await })
    }

    /// Forgets one access token.
    pub async fn delete_oauth_token(&self, token_hash: &TokenHash) -> StoreResult<()> {
        self.execute(sql!("DELETE FROM oauth_tokens WHERE token_hash = $1", token_hash)).await?;
        Ok(())
    }

    /// Whether Notion said the person's email is verified (see NOTION's `email_verified`).
    pub async fn email_verified(&self, user_id: &UserId) -> StoreResult<bool> {
        let verified = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM external_accounts a JOIN users u ON u.id = a.user_id
             WHERE a.user_id = $1 AND a.email_verified <> 0 AND a.email = u.email",
        )
        .bind(user_id.as_str())
        .fetch_one(&self.reads)
        .await?;
        Ok(verified > 0)
    }

    /// Codes past their lifetime (kept a day after, so a late replay still revokes its grant)
    /// and tokens past theirs.
    pub(super) async fn prune_oauth(&self, now: Millis) -> StoreResult<u64> {
        let codes = self.execute(sql!("DELETE FROM oauth_codes WHERE expires_at < $1", now - crate::time::DAY)).await?;
        let tokens = self.execute(sql!("DELETE FROM oauth_tokens WHERE expires_at < $1", now)).await?;
        // A grant is reached only through its codes (kept a day past their end, so that a
        // replayed one is still recognised) and its tokens: with none left, nothing can use or
        // revoke it any more. A new grant is written with its code, so it is never without one.
        let grants = self
            .execute(sql!(
                "DELETE FROM oauth_grants WHERE created_at < $1
                 AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id)
                 AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id)",
                now - crate::time::DAY
            ))
            .await?;
        Ok(codes + tokens + grants)
    }
}

async fn grant_in(tx: &mut impl Db, id: &str) -> StoreResult<Option<OAuthGrantRow>> {
    tx.optional(sql!(format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = $1"), id)).await
}

async fn revoke_grant_in(tx: &mut impl Db, grant_id: &str, now: Millis) -> StoreResult<()> {
    tx.execute(sql!("UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", now, grant_id))
        .await?;
    tx.execute(sql!("DELETE FROM oauth_tokens WHERE grant_id = $1", grant_id)).await?;
    Ok(())
}

/// Carries the live grants made through one Latchkey session over to another (the same person's
/// next session on that device), in the transaction that replaces it.
pub(super) async fn move_grants_of_session_in(tx: &mut impl Db, from: &str, to: &str) -> StoreResult<()> {
    tx.execute(sql!("UPDATE oauth_grants SET session_id = $1 WHERE session_id = $2 AND revoked_at IS NULL", to, from))
        .await?;
    Ok(())
}

/// Ends every grant made through a Latchkey session and what they issued, in the transaction
/// that ends the session.
pub(super) async fn revoke_grants_of_session_in(tx: &mut impl Db, session_id: &str, now: Millis) -> StoreResult<()> {
    tx.execute(sql!(
        "UPDATE oauth_grants SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL",
        now,
        session_id
    ))
    .await?;
    tx.execute(sql!(
        "DELETE FROM oauth_tokens WHERE grant_id IN (SELECT id FROM oauth_grants WHERE session_id = $1)",
        session_id
    ))
    .await?;
    Ok(())
}
