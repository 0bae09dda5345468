//! Ids and tokens as types, so one cannot be passed where another is meant
//! (`revoke_own_session(session_id, user_id)` does not compile).
//!
//! The ids are `serde(transparent)`: in JSON each is the plain string it always was. The store
//! decodes them from text columns (store/codec.rs). Without the `server` feature only the ids
//! and [`Provider`] are compiled: the browser bundle shares them and nothing more.
//!
//! In the right order, ending a session of one's own compiles:
//!
//! ```no_run
//! # async fn own(latchkey: &domain::Latchkey, user: &domain::ids::UserId, session: &domain::ids::SessionId) {
//! let _ = latchkey.revoke_own_session(user, session).await;
//! # }
//! ```
//!
//! and with the ids swapped it does not:
//!
//! ```compile_fail
//! # async fn swapped(latchkey: &domain::Latchkey, user: &domain::ids::UserId, session: &domain::ids::SessionId) {
//! let _ = latchkey.revoke_own_session(session, user).await;
//! # }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// What the id's random part follows: `user` makes `user_9f2c…`.
            pub const PREFIX: &'static str = $prefix;

            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// A fresh random id.
            #[cfg(feature = "server")]
            pub fn generate() -> Self {
                $name(crate::crypto::random_id($prefix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A user's id, `user_…`.
    UserId,
    "user"
);
id_type!(
    /// A session's id, `sess_…` (not its token: the id is shown, the token never).
    SessionId,
    "sess"
);
id_type!(
    /// An SSO connection's id, `conn_…`.
    ConnectionId,
    "conn"
);

/// The identity providers a connection signs in with. Only Notion, serialized `"notion"` as the
/// contract has it; an enum so that a new one is a compile error wherever it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Notion,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Notion => "notion",
        }
    }

    pub fn parse(text: &str) -> Option<Provider> {
        match text {
            "notion" => Some(Provider::Notion),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "server")]
pub use tokens::{SessionToken, TokenHash};

#[cfg(feature = "server")]
mod tokens {
    use std::fmt;

    use crate::crypto::{is_token_shaped, random_token, token_hash};
    use crate::secret::Secret;

    /// A session token as the cookie carries it: a bearer secret. `Debug` never prints it, and
    /// the database only ever sees its [`TokenHash`].
    #[derive(Clone, PartialEq, Eq)]
    pub struct SessionToken(Secret<String>);

    impl SessionToken {
        /// What a browser presented (a cookie, a request body): not yet known to be ours.
        pub fn new(token: impl Into<String>) -> Self {
            SessionToken(Secret::new(token.into()))
        }

        /// A fresh token: 256 random bits.
        pub fn generate() -> Self {
            SessionToken::new(random_token(32))
        }

        /// Whether it has the shape of a token we make: anything else is not worth a look-up.
        pub fn is_well_formed(&self) -> bool {
            is_token_shaped(self.0.expose())
        }

        pub fn hash(&self) -> TokenHash {
            TokenHash::of(self.0.expose())
        }

        /// The token itself, for the cookie.
        pub fn expose(&self) -> &str {
            self.0.expose()
        }
    }

    impl fmt::Debug for SessionToken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SessionToken([redacted])")
        }
    }

    /// The SHA-256 (hex) of a high-entropy token: what the database keeps instead of the token.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct TokenHash(String);

    impl TokenHash {
        pub fn of(token: &str) -> Self {
            TokenHash(token_hash(token))
        }

        /// A hash read back from the database.
        pub(crate) fn from_stored(hash: String) -> Self {
            TokenHash(hash)
        }

        pub fn as_str(&self) -> &str {
            &self.0
        }
    }
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    #[test]
    fn a_session_tokens_debug_never_shows_it() {
        let token = SessionToken::generate();
        let printed = format!("{token:?} {:?}", Some(&token));
        assert!(!printed.contains(token.expose()), "{printed}");
        assert_eq!(format!("{token:?}"), "SessionToken([redacted])");
        assert_eq!(token.hash(), TokenHash::of(token.expose()));
        assert!(token.is_well_formed() && !SessionToken::new("short").is_well_formed());
    }

    #[test]
    fn ids_and_providers_are_plain_strings_in_json() {
        let id = UserId::new("user_1");
        assert_eq!(serde_json::to_string(&id).ok(), Some("\"user_1\"".into()));
        assert_eq!(serde_json::from_str::<SessionId>("\"sess_2\"").ok(), Some(SessionId::new("sess_2")));
        assert_eq!(serde_json::to_value(ConnectionId::new("conn_3")).ok(), Some(serde_json::json!("conn_3")));
        assert_eq!(serde_json::to_string(&Provider::Notion).ok(), Some("\"notion\"".into()));
        assert!(UserId::generate().as_str().starts_with("user_"));
    }
}
