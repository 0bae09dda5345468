//! Dashboard sign-in: one `admin` user, an argon2id-hashed password, a lockout after repeated
//! failures (kept in the database, so every replica counts them), and its own session cookie.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cookie::{Cookie, SameSite};
use tokio::sync::Semaphore;

use super::{AdminError, AdminResult};
use crate::crypto::{constant_time_eq, is_token_shaped, random_id, random_token};
use crate::ids::TokenHash;
use crate::time::{Millis, HOUR, MINUTE};
use crate::Latchkey;

pub const ADMIN_USERNAME: &str = "admin";
const ADMIN_SESSION_LIFETIME: Millis = 12 * HOUR;
const LOCKOUT_WINDOW: Millis = 15 * MINUTE;
/// Failed attempts from one address within the window before it is locked out.
const MAX_FAILURES_PER_CLIENT: i64 = 5;
/// Failed attempts from everyone within the window beyond which each address gets one guess
/// only. Not a lock for all: anyone with ten addresses could then keep the admin out.
const MAX_FAILURES_OVERALL: i64 = 50;

/// A signed-in admin: the session token, to put in the cookie.
#[derive(Debug)]
pub struct AdminSession {
    pub token: crate::secret::Secret<String>,
    pub expires_at: Millis,
}

/// argon2 checks of the admin password running at once. Each holds ~19 MiB for tens of
/// milliseconds: an unbounded burst of guesses was gigabytes. Beyond this many, a sign-in is
/// answered 429 at once, before anything is hashed or counted.
const CONCURRENT_PASSWORD_CHECKS: usize = 3;
static PASSWORD_CHECKS: Semaphore = Semaphore::const_new(CONCURRENT_PASSWORD_CHECKS);

/// The setting that holds the argon2id hash of the admin password: where the password of
/// record lives, so that a change (a new `LATCHKEY_ADMIN_PASSWORD`, `latchkey admin
/// set-password`) is noticed, on every replica, and ends the admin sessions.
const PASSWORD_HASH_SETTING: &str = "admin_password_hash";

pub const MIN_PASSWORD_CHARS: usize = 12;

fn hash_password(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).ok().map(|h| h.to_string())
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

impl Latchkey {
    /// At start: makes the configured password (`LATCHKEY_ADMIN_PASSWORD`, or the generated
    /// development one while nothing is stored) the password of record. A password different
    /// from the stored one is a change, and ends every admin session.
    pub async fn sync_admin_password(&self) -> AdminResult<()> {
        let stored = self.store.setting(PASSWORD_HASH_SETTING).await?;
        let wanted = match (&self.config.admin_password, &stored) {
            (Some(configured), _) => configured.clone(),
            (None, Some(_)) => return Ok(()),
            (None, None) => match &self.admin_password {
                Some(generated) => generated.clone(),
                None => return Ok(()),
            },
        };
        if let Some(hash) = stored {
            let password = wanted.expose().clone();
            if tokio::task::spawn_blocking(move || password_matches(&password, &hash)).await.unwrap_or(false) {
                return Ok(());
            }
        }
        self.set_admin_password(wanted.expose()).await
    }

    /// Sets a new admin password and ends every admin session.
    pub async fn set_admin_password(&self, password: &str) -> AdminResult<()> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AdminError::invalid("password", "must be at least 12 characters"));
        }
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .ok()
            .flatten()
            .ok_or_else(|| AdminError::new(500, "hash_failed", "The password could not be hashed."))?;
        let now = self.now();
        self.store.set_setting(PASSWORD_HASH_SETTING, &hash, now).await?;
        let ended = self.store.revoke_all_admin_sessions(now).await?;
        // Whoever was locked out guessed the old password: the new one starts with a clean slate.
        self.store.clear_all_admin_failures().await?;
        tracing::info!(ended, "admin password changed; admin sessions ended");
        Ok(())
    }

    /// Checks the admin's credentials and starts an admin session. `client` is the address the
    /// attempt came from.
    ///
    /// The attempt is counted before the password is checked, and the count read after: of a
    /// burst from one address, only those whose own row is among the first few go on to the
    /// check, however many run at once (a check-then-count let every one of them through).
    pub async fn admin_sign_in(&self, username: &str, password: &str, client: &str) -> AdminResult<AdminSession> {
        let Ok(_permit) = PASSWORD_CHECKS.try_acquire() else {
            let mut error =
                AdminError::new(429, "busy", "Too many sign-ins are being checked right now. Try again in a moment.");
            error.retry_after = Some(1);
            return Err(error);
        };
        let Some(hash) = self.store.setting(PASSWORD_HASH_SETTING).await? else {
            return Err(AdminError::new(
                403,
                "admin_disabled",
                "No admin password is set: start Latchkey with LATCHKEY_ADMIN_PASSWORD.",
            ));
        };
        let now = self.now();
        let attempt_id = random_id("fail");
        self.store.record_admin_failure(&attempt_id, client, now).await?;
        let (mine, all, oldest) = self.store.admin_failures_since(client, now - LOCKOUT_WINDOW).await?;
        // `mine` counts this attempt: past the overall limit, an address with a failure of its
        // own in the window is refused, and a fresh one (the admin, from anywhere) still tries.
        if mine > MAX_FAILURES_PER_CLIENT || (all > MAX_FAILURES_OVERALL && mine > 1) {
            // Not a guess that was checked: it neither counts nor extends the lock.
            self.store.delete_admin_failure(&attempt_id).await?;
            let retry = oldest.map(|t| (t + LOCKOUT_WINDOW - now) / 1000).unwrap_or(LOCKOUT_WINDOW / 1000).max(1);
            let minutes = (retry + 59) / 60;
            let mut error = AdminError::new(
                429,
                "locked_out",
                format!("Too many failed sign-ins. Try again in {minutes} minutes."),
            );
            error.retry_after = Some(retry);
            return Err(error);
        }
        let attempt = password.to_string();
        // argon2 is deliberately slow: keep it off the async workers.
        let password_ok = tokio::task::spawn_blocking(move || password_matches(&attempt, &hash)).await.unwrap_or(false);
        let username_ok = constant_time_eq(username.as_bytes(), ADMIN_USERNAME.as_bytes());
        if !(password_ok && username_ok) {
            // The attempt's row stays: it is the failure.
            tracing::warn!(client, "failed admin sign-in");
            return Err(AdminError::new(401, "invalid_credentials", "That user name and password do not match."));
        }
        self.store.clear_admin_failures(client).await?;
        let token = random_token(32);
        let expires_at = now + ADMIN_SESSION_LIFETIME;
        self.store.insert_admin_session(&random_id("adm"), &TokenHash::of(&token), now, expires_at).await?;
        tracing::info!(client, "admin signed in");
        Ok(AdminSession { token: crate::secret::Secret::new(token), expires_at })
    }

    /// True when `token` is a live admin session.
    pub async fn admin_authenticated(&self, token: &str) -> AdminResult<bool> {
        if !is_token_shaped(token) {
            return Ok(false);
        }
        let now = self.now();
        let Some(session) = self.store.admin_session_by_token_hash(&TokenHash::of(token)).await? else {
            return Ok(false);
        };
        let live = session.revoked_at.is_none() && now < session.expires_at && now - session.last_active_at < 2 * HOUR;
        if live && now - session.last_active_at > MINUTE {
            self.store.touch_admin_session(&session.id, now).await?;
        }
        Ok(live)
    }

    pub async fn admin_sign_out(&self, token: &str) -> AdminResult<()> {
        self.store.revoke_admin_session(&TokenHash::of(token), self.now()).await?;
        Ok(())
    }
}

/// The admin's cookie: HttpOnly, SameSite=Strict (the dashboard is never entered from another
/// site with credentials), Secure on https, `__Host-` prefixed there.
pub fn admin_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-latchkey_admin"
    } else {
        "latchkey_admin"
    }
}

pub fn admin_cookie(token: &str, secure: bool, max_age_ms: Millis) -> Cookie<'static> {
    Cookie::build((admin_cookie_name(secure), token.to_string()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::milliseconds(max_age_ms))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cookie_is_strict_and_http_only() {
        let text = admin_cookie("t", true, ADMIN_SESSION_LIFETIME).to_string();
        assert!(text.starts_with("__Host-latchkey_admin=t;"));
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(text.contains(part), "{text}");
        }
    }
}
