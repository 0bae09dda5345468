//! Dashboard sign-in: one `admin` user, an argon2id-hashed password, a lockout after repeated
//! failures (kept in the database, so every replica counts them), and its own session cookie.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cookie::{Cookie, SameSite};

use super::{AdminError, AdminResult};
use crate::crypto::{constant_time_eq, is_token_shaped, random_id, random_token, token_hash};
use crate::time::{Millis, HOUR, MINUTE};
use crate::Latchkey;

pub const ADMIN_USERNAME: &str = "admin";
const ADMIN_SESSION_LIFETIME: Millis = 12 * HOUR;
const LOCKOUT_WINDOW: Millis = 15 * MINUTE;
/// Failed attempts from one address within the window before it is locked out.
const MAX_FAILURES_PER_CLIENT: i64 = 5;
/// Failed attempts from everyone within the window before the sign-in locks for all.
const MAX_FAILURES_OVERALL: i64 = 50;

/// A signed-in admin: the session token, to put in the cookie.
#[derive(Debug)]
pub struct AdminSession {
    pub token: crate::secret::Secret<String>,
    pub expires_at: Millis,
}

/// The argon2id hash of the configured admin password, made once, when first needed (hashing
/// takes tens of milliseconds; start-up should not pay for it).
static PASSWORD_HASH: OnceLock<Option<String>> = OnceLock::new();

impl Latchkey {
    fn admin_password_hash(&self) -> Option<&'static str> {
        PASSWORD_HASH
            .get_or_init(|| {
                let password = self.admin_password.as_ref()?;
                let salt = SaltString::generate(&mut rand::rngs::OsRng);
                Argon2::default().hash_password(password.expose().as_bytes(), &salt).ok().map(|h| h.to_string())
            })
            .as_deref()
    }

    /// Checks the admin's credentials and starts an admin session. `client` is the address the
    /// attempt came from.
    pub async fn admin_sign_in(&self, username: &str, password: &str, client: &str) -> AdminResult<AdminSession> {
        let now = self.now();
        let (mine, all, oldest) = self.store.admin_failures_since(client, now - LOCKOUT_WINDOW).await?;
        if mine >= MAX_FAILURES_PER_CLIENT || all >= MAX_FAILURES_OVERALL {
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
        let Some(hash) = self.admin_password_hash() else {
            return Err(AdminError::new(
                403,
                "admin_disabled",
                "No admin password is set: start Latchkey with LATCHKEY_ADMIN_PASSWORD.",
            ));
        };
        let attempt = password.to_string();
        let hash = hash.to_string();
        // argon2 is deliberately slow: keep it off the async workers.
        let password_ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| Argon2::default().verify_password(attempt.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let username_ok = constant_time_eq(username.as_bytes(), ADMIN_USERNAME.as_bytes());
        if !(password_ok && username_ok) {
            self.store.record_admin_failure(&random_id("fail"), client, now).await?;
            tracing::warn!(client, "failed admin sign-in");
            return Err(AdminError::new(401, "invalid_credentials", "That user name and password do not match."));
        }
        self.store.clear_admin_failures(client).await?;
        let token = random_token(32);
        let expires_at = now + ADMIN_SESSION_LIFETIME;
        self.store.insert_admin_session(&random_id("adm"), &token_hash(&token), now, expires_at).await?;
        tracing::info!(client, "admin signed in");
        Ok(AdminSession { token: crate::secret::Secret::new(token), expires_at })
    }

    /// True when `token` is a live admin session.
    pub async fn admin_authenticated(&self, token: &str) -> AdminResult<bool> {
        if !is_token_shaped(token) {
            return Ok(false);
        }
        let now = self.now();
        let Some(session) = self.store.admin_session_by_token_hash(&token_hash(token)).await? else {
            return Ok(false);
        };
        let live = session.revoked_at.is_none() && now < session.expires_at && now - session.last_active_at < 2 * HOUR;
        if live && now - session.last_active_at > MINUTE {
            self.store.touch_admin_session(&session.id, now).await?;
        }
        Ok(live)
    }

    pub async fn admin_sign_out(&self, token: &str) -> AdminResult<()> {
        self.store.revoke_admin_session(&token_hash(token), self.now()).await?;
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
