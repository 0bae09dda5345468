//! Session rules: lifetimes, what a live session is, and the cookies that carry tokens.

use cookie::{Cookie, SameSite};

use crate::model;
use crate::store::SessionRow;
use crate::time::{Millis, DAY, MINUTE};

/// A session ends after this long unused...
pub const IDLE_TIMEOUT: Millis = 7 * DAY;
/// ...and after this long in any case.
pub const ABSOLUTE_LIFETIME: Millis = 30 * DAY;
/// `last_active_at` is written at most this often, so checks stay reads.
pub const TOUCH_INTERVAL: Millis = MINUTE;
/// A sign-in started must finish within this time.
pub const FLOW_LIFETIME: Millis = 10 * MINUTE;

impl SessionRow {
    /// When this session ends if it is not used again.
    pub fn effective_expiry(&self) -> Millis {
        self.expires_at.min(self.last_active_at.saturating_add(IDLE_TIMEOUT))
    }

    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && now < self.effective_expiry()
    }

    pub fn needs_touch(&self, now: Millis) -> bool {
        now - self.last_active_at >= TOUCH_INTERVAL
    }

    pub fn to_model(&self) -> model::Session {
        model::Session {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            created_at: self.created_at,
            last_active_at: self.last_active_at,
            expires_at: self.effective_expiry(),
        }
    }
}

/// Cookie names. On https the `__Host-` prefix makes the browser insist on Secure, Path=/ and
/// no Domain, so no sibling subdomain can plant or shadow the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    pub session: &'static str,
    pub flow: &'static str,
}

pub fn cookie_names(secure: bool) -> CookieNames {
    if secure {
        CookieNames { session: "__Host-latchkey_session", flow: "__Host-latchkey_flow" }
    } else {
        CookieNames { session: "latchkey_session", flow: "latchkey_flow" }
    }
}

fn base_cookie(name: &'static str, value: String, secure: bool, max_age_ms: Millis) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        // Lax: sent on the top-level navigation back from Notion, never on cross-site POSTs.
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::milliseconds(max_age_ms))
        .build()
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure on https, lives as long as the session may.
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    base_cookie(cookie_names(secure).session, token.to_string(), secure, ABSOLUTE_LIFETIME)
}

/// The cookie that binds a sign-in in progress to this browser.
pub fn flow_cookie(nonce: &str, secure: bool) -> Cookie<'static> {
    base_cookie(cookie_names(secure).flow, nonce.to_string(), secure, FLOW_LIFETIME)
}

/// A cookie that deletes `name` in the browser.
pub fn removal_cookie(name: &'static str, secure: bool) -> Cookie<'static> {
    base_cookie(name, String::new(), secure, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_active_at: Millis, expires_at: Millis, revoked_at: Option<Millis>) -> SessionRow {
        SessionRow {
            id: "sess_1".into(),
            user_id: "user_1".into(),
            user_agent: None,
            created_at: 0,
            last_active_at,
            expires_at,
            revoked_at,
        }
    }

    #[test]
    fn sessions_end_when_idle_when_old_and_when_revoked() {
        assert!(row(0, ABSOLUTE_LIFETIME, None).is_live(IDLE_TIMEOUT - 1));
        assert!(!row(0, ABSOLUTE_LIFETIME, None).is_live(IDLE_TIMEOUT), "idle expiry");
        assert!(!row(ABSOLUTE_LIFETIME - 1, ABSOLUTE_LIFETIME, None).is_live(ABSOLUTE_LIFETIME), "absolute expiry");
        assert!(!row(0, ABSOLUTE_LIFETIME, Some(5)).is_live(10), "revoked");
        assert_eq!(row(0, ABSOLUTE_LIFETIME, None).to_model().expires_at, IDLE_TIMEOUT);
    }

    #[test]
    fn session_cookie_attributes() {
        let plain = session_cookie("tok", false).to_string();
        assert!(plain.starts_with("latchkey_session=tok;"), "{plain}");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
            assert!(plain.contains(part), "{plain} lacks {part}");
        }
        assert!(!plain.contains("Secure"));
        assert!(!plain.contains("Domain"));

        let secure = session_cookie("tok", true).to_string();
        assert!(secure.starts_with("__Host-latchkey_session=tok;"), "{secure}");
        assert!(secure.contains("Secure"));
        assert!(secure.contains("Path=/"));
    }

    #[test]
    fn flow_cookie_lives_ten_minutes_and_removal_expires_at_once() {
        let flow = flow_cookie("nonce", false).to_string();
        assert!(flow.contains("Max-Age=600") && flow.contains("HttpOnly") && flow.contains("SameSite=Lax"), "{flow}");
        let gone = removal_cookie(cookie_names(true).flow, true).to_string();
        assert!(gone.starts_with("__Host-latchkey_flow=;") && gone.contains("Max-Age=0"), "{gone}");
    }
}

mod access {
    use crate::ids::{SessionId, SessionToken, UserId};
    use crate::model::{self, DeviceSession, WebhookEvent};
    use crate::store::{SessionRow, StoreError};
    use crate::Latchkey;

    /// A signed-in request: the live session its cookie names, and its user.
    #[derive(Debug, Clone)]
    pub struct Authenticated {
        pub session: SessionRow,
        /// Shared with the store's memo: a session check copies no profile.
        pub user: std::sync::Arc<model::User>,
    }

    impl Latchkey {
        /// The live session a session token belongs to, if any. Marks it used (at most once a minute).
        pub async fn authenticate(&self, token: &SessionToken) -> Result<Option<Authenticated>, StoreError> {
            if !token.is_well_formed() {
                return Ok(None);
            }
            let now = self.now();
            let hash = token.hash();
            let Some(mut session) = self.store.session_by_token_hash(&hash).await? else {
                return Ok(None);
            };
            if !session.is_live(now) {
                return Ok(None);
            }
            if session.needs_touch(now) {
                self.store.touch_session(&hash, now).await?;
                session.last_active_at = now;
            }
            let Some(user) = self.store.shared_user(&session.user_id).await? else {
                return Ok(None);
            };
            Ok(Some(Authenticated { session, user }))
        }

        /// Ends the session a token belongs to. Quietly does nothing for an unknown token.
        pub async fn sign_out(&self, token: &SessionToken) -> Result<(), StoreError> {
            if let Some(session) = self.store.session_by_token_hash(&token.hash()).await? {
                self.store.revoke_session(&session.id, None, WebhookEvent::SessionEnded, self.now()).await?;
            }
            Ok(())
        }

        /// Ends one of `user_id`'s sessions. False when it is not theirs or already ended.
        pub async fn revoke_own_session(&self, user_id: &UserId, session_id: &SessionId) -> Result<bool, StoreError> {
            self.store.revoke_session(session_id, Some(user_id), WebhookEvent::SessionEnded, self.now()).await
        }

        /// The user's live sessions, this one marked.
        pub async fn device_sessions(&self, current: &SessionRow) -> Result<Vec<DeviceSession>, StoreError> {
            let now = self.now();
            let rows = self.store.sessions_of_user(&current.user_id).await?;
            Ok(rows
                .into_iter()
                .filter(|row| row.is_live(now))
                .map(|row| DeviceSession {
                    current: row.id == current.id,
                    user_agent: row.user_agent.clone(),
                    session: row.to_model(),
                })
                .collect())
        }
    }
}

pub use access::Authenticated;
