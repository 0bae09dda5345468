//! Completing a sign-in: the user, their Notion account and workspace grant, and the session,
//! written in one transaction.

use super::engine::{Cells, Db, FromCells};
use super::oauth::{move_grants_of_session_in, revoke_grants_of_session_in};
use super::users::user_in;
use super::webhooks::record_event;
use super::{SessionRow, SignInRecord, Store, StoreError, StoreResult};
use crate::ids::{Provider, SessionId, UserId};
use crate::model::{ExternalAccount, User, WebhookEvent, Workspace};

/// What a completed sign-in wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInWritten {
    pub user_id: UserId,
    pub session_id: SessionId,
    /// The person had no account: this sign-in was a sign-up.
    pub created_user: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefused {
    SignUpsClosed,
}

impl Store {
    /// Finds or creates the user, their Notion account and workspace grant, and starts the
    /// session, all in one transaction: a failure leaves nothing behind, and concurrent first
    /// sign-ins of one person make one user.
    pub async fn complete_sign_in(&self, record: &SignInRecord) -> StoreResult<Result<SignInWritten, SignInRefused>> {
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let record = record.clone();
            match transaction!(self, |tx| write_sign_in(tx, &record)) {
                // PostgreSQL: another sign-in of the same person created the account between
                // our look-up and our insert (the next attempt finds it), or the server broke a
                // lock wait between sign-ins of one person (it rolled ours back whole). SQLite's
                // writes take turns, so it never sees either.
                Err(error @ (StoreError::Conflict(_) | StoreError::Contention(_))) if attempt < 4 => {
                    tracing::debug!(%error, attempt, "a concurrent sign-in got in the way; trying again");
                    continue;
                }
                other => break other?,
            }
        };
        if let (Ok(written), Some(memo)) = (&outcome, self.memo()) {
            // The profile, accounts and grants may have changed (a grant may even have moved
            // from another person's account); the browser's earlier session has ended.
            let bot = &record.grant.bot_id;
            memo.users.forget_where(|user| {
                user.as_ref().is_some_and(|user| {
                    user.id == written.user_id
                        || user.external_accounts.iter().flat_map(|a| &a.workspaces).any(|w| &w.bot_id == bot)
                })
            });
            if let Some(previous) = &record.replaces_session_hash {
                memo.sessions.forget(previous);
            }
        }
        Ok(outcome)
    }
}

/// The person as the database knows them: their user and account ids and the profile last
/// seen (to tell whether it changed).
struct Known {
    user_id: UserId,
    account_id: String,
    profile: [Option<String>; 3],
}

impl FromCells for Known {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(Known {
            user_id: row.some_text(0)?.into(),
            account_id: row.some_text(1)?,
            profile: [row.text(2)?, row.text(3)?, row.text(4)?],
        })
    }
}

/// The statements are ordered so that the rows every sign-in of this person writes (their
/// account, user and grant), which concurrent sign-ins of the same person wait for on
/// PostgreSQL, are written last: the rows are held from then to the commit only.
///
/// On PostgreSQL (see engine.rs) the look-up runs on its own, and the writes go out together as
/// one statement: a sign-in of someone known whose profile did not change, or of someone new,
/// is two round trips with no `BEGIN` or `COMMIT`, and holds those rows for one statement. A
/// previous session to end, or a changed profile (the `user.updated` event reads the user as
/// written), begins the transaction when they need to read back.
async fn write_sign_in(tx: &mut impl Db, r: &SignInRecord) -> StoreResult<Result<SignInWritten, SignInRefused>> {
    let who = &r.identity;
    let known: Option<Known> = tx
        .read(sql!(
            "SELECT a.user_id, a.id, u.email, u.name, u.image_url
             FROM external_accounts a JOIN users u ON u.id = a.user_id
             WHERE a.provider = $2 AND a.provider_user_id = $1",
            &who.notion_user_id,
            Provider::Notion,
        ))
        .await?;
    let s = &r.session;
    let created_user = known.is_none();
    let (user_id, account_id) = match &known {
        Some(known) => (known.user_id.clone(), known.account_id.clone()),
        None if !r.allow_sign_up => return Ok(Err(SignInRefused::SignUpsClosed)),
        None => {
            // A concurrent first sign-in of the same person makes one of the two inserts
            // conflict (PostgreSQL); the caller tries again and finds the account.
            tx.write(sql!(
                "INSERT INTO users (id, email, name, image_url, created_at, updated_at, last_sign_in_at)
                 VALUES ($1, $2, $3, $4, $5, $5, $5)",
                &r.new_user_id,
                &who.email,
                &who.name,
                &who.avatar_url,
                r.now,
            ))
            .await?;
            tx.write(sql!(
                "INSERT INTO external_accounts (id, user_id, provider, provider_user_id, email, email_verified, name, avatar_url, created_at, updated_at)
                 VALUES ($1, $2, $9, $3, $4, $5, $6, $7, $8, $8)",
                &r.new_account_id,
                &r.new_user_id,
                &who.notion_user_id,
                &who.email,
                who.email_verified,
                &who.name,
                &who.avatar_url,
                r.now,
                Provider::Notion,
            ))
            .await?;
            (r.new_user_id.clone(), r.new_account_id.clone())
        }
    };

    tx.write(sql!(
        "INSERT INTO sessions (id, user_id, token_hash, user_agent, created_at, last_active_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
        &s.id,
        &user_id,
        &s.token_hash,
        &s.user_agent,
        r.now,
        s.expires_at,
    ))
    .await?;
    let session = SessionRow {
        id: s.id.clone(),
        user_id: user_id.clone(),
        user_agent: s.user_agent.clone(),
        created_at: r.now,
        last_active_at: r.now,
        expires_at: s.expires_at,
        revoked_at: None,
    };
    record_event(tx, WebhookEvent::SessionCreated, &session.to_model(), r.now).await?;
    if let Some(previous) = &r.replaces_session_hash {
        // The browser's earlier session ends with this sign-in (no two live sessions per device).
        let ended: Option<SessionRow> = tx
            .optional(sql!(
                "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL
                 RETURNING id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at",
                r.now,
                previous,
            ))
            .await?;
        if let Some(ended) = ended {
            record_event(tx, WebhookEvent::SessionEnded, &ended.to_model(), r.now).await?;
            if ended.user_id == user_id {
                // The same person signing in again (`prompt=login`, or the button once more):
                // what apps were given through the old session (OpenID Connect) carries on
                // under the new one.
                move_grants_of_session_in(tx, ended.id.as_str(), s.id.as_str()).await?;
            } else {
                // Someone else on this browser: the other person's apps lose what they had.
                revoke_grants_of_session_in(tx, ended.id.as_str(), r.now).await?;
            }
        }
    }

    // Notion may hand out a fresh token pair at every authorization: replace both at once.
    let g = &r.grant;
    tx.write(sql!(
        "INSERT INTO workspace_grants (bot_id, external_account_id, connection_id, workspace_id, workspace_name, workspace_icon,
                                       access_token_sealed, refresh_token_sealed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (bot_id) DO UPDATE SET
             external_account_id = excluded.external_account_id, connection_id = excluded.connection_id,
             workspace_id = excluded.workspace_id, workspace_name = excluded.workspace_name,
             workspace_icon = excluded.workspace_icon, access_token_sealed = excluded.access_token_sealed,
             refresh_token_sealed = excluded.refresh_token_sealed, updated_at = excluded.updated_at",
        &g.bot_id,
        &account_id,
        &g.connection_id,
        &g.workspace_id,
        &g.workspace_name,
        &g.workspace_icon,
        &g.access_token_sealed,
        &g.refresh_token_sealed,
        r.now,
    ))
    .await?;

    match known {
        None => record_event(tx, WebhookEvent::UserCreated, &new_user(r), r.now).await?,
        Some(known) => {
            // Notion's profile may have changed since the last sign-in: then the user is
            // updated (and the app told).
            let profile = [who.email.clone(), who.name.clone(), who.avatar_url.clone()];
            let changed = known.profile != profile;
            tx.write(sql!(
                "UPDATE external_accounts SET email = $1, email_verified = $2, name = $3, avatar_url = $4, updated_at = $5
                 WHERE id = $6",
                &who.email,
                who.email_verified,
                &who.name,
                &who.avatar_url,
                r.now,
                &account_id,
            ))
            .await?;
            tx.write(sql!(
                "UPDATE users SET email = $1, name = $2, image_url = $3, last_sign_in_at = $4,
                                  updated_at = CASE WHEN $5 = 1 THEN $4 ELSE updated_at END
                 WHERE id = $6",
                &who.email,
                &who.name,
                &who.avatar_url,
                r.now,
                changed,
                &user_id,
            ))
            .await?;
            if changed {
                if let Some(user) = user_in(tx, &user_id).await? {
                    record_event(tx, WebhookEvent::UserUpdated, &user, r.now).await?;
                }
            }
        }
    }
    Ok(Ok(SignInWritten { user_id, session_id: s.id.clone(), created_user }))
}

/// The user a first sign-in creates, as `user.created` reports it: what was just written.
fn new_user(r: &SignInRecord) -> User {
    let who = &r.identity;
    let g = &r.grant;
    User {
        id: r.new_user_id.clone(),
        email: who.email.clone(),
        name: who.name.clone(),
        image_url: who.avatar_url.clone(),
        created_at: r.now,
        last_sign_in_at: Some(r.now),
        external_accounts: vec![ExternalAccount {
            provider: Provider::Notion,
            provider_user_id: who.notion_user_id.clone(),
            email: who.email.clone(),
            name: who.name.clone(),
            avatar_url: who.avatar_url.clone(),
            workspaces: vec![Workspace {
                workspace_id: g.workspace_id.clone(),
                workspace_name: g.workspace_name.clone(),
                workspace_icon: g.workspace_icon.clone(),
                bot_id: g.bot_id.clone(),
            }],
        }],
    }
}
