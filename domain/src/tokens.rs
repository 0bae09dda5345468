//! Session tokens: short-lived JWTs (EdDSA) that an app's server verifies itself against
//! `/.well-known/jwks.json`, and the signed answers of the handshake for server-rendered apps.
//!
//! Signing keys live in the database (private half sealed under the master key), so every
//! replica signs with the same key and publishes the same set. Rotation has overlap both ways:
//! a scheduled key is published [`PUBLISH_AHEAD`] before it signs anything, and a retired key
//! stays published [`RETAIN`] after its successor took over, longer than any token it signed
//! lives. Each process keeps the key ring for at most [`RING_TTL`].

use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::MAX_TOKEN_LIFETIME_SECS;
use crate::crypto::{random_id, random_token, SealPurpose};
use crate::secret::Secret;
use crate::session::Authenticated;
use crate::store::{SigningKeyRow, StoreError};
use crate::time::{Millis, DAY, MINUTE, SECOND};
use crate::Latchkey;

/// A key signs for this long, then its successor takes over.
pub const ROTATION_PERIOD: Millis = 30 * DAY;
/// A scheduled key is in the JWKS this long before it signs anything.
pub const PUBLISH_AHEAD: Millis = DAY;
/// A retired key stays in the JWKS this long after its successor activated: longer than any
/// token lives.
pub const RETAIN: Millis = MAX_TOKEN_LIFETIME_SECS * SECOND + 5 * MINUTE;
/// How long a process keeps the key ring it read before reading it again.
pub const RING_TTL: Millis = 5 * SECOND;
/// A rotation asked for now (a suspected leak) signs after this, when every replica has it.
pub const ROTATE_NOW_DELAY: Millis = 2 * RING_TTL;
/// `nbf` is this far before `iat`, so a verifier whose clock is up to 30 s behind ours still
/// accepts a token the moment it arrives.
pub const CLOCK_SLACK_SECS: i64 = 30;
/// A handshake answer is read by the app's server on the very next request.
pub const HANDSHAKE_LIFETIME_SECS: i64 = 60;
/// The `typ` of a handshake answer, so it can never pass for a session token or back.
pub const HANDSHAKE_TYP: &str = "latchkey-handshake+jwt";
/// The query parameter that carries a handshake answer back to the app.
pub const HANDSHAKE_PARAM: &str = "__latchkey_handshake";

const ALG: &str = "EdDSA";

/// The claims of a session token (CONTRACT.md, "Session tokens").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionClaims {
    pub iss: String,
    pub sub: String,
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// The claims of a handshake answer: for one app origin (`aud`), a session token or none
/// (signed out).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HandshakeClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

/// A freshly signed session token.
#[derive(Debug)]
pub struct MintedToken {
    pub jwt: Secret<String>,
    /// Unix milliseconds.
    pub expires_at: Millis,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Storage(#[from] StoreError),
    #[error("signing key {kid}: {message}")]
    Key { kid: String, message: String },
    #[error("signing failed: {0}")]
    Signing(String),
}

/// The keys a process signs with and publishes, as last read from the database.
struct Ring {
    loaded_at: Millis,
    /// Oldest first; every key here is published.
    keys: Vec<RingKey>,
}

struct RingKey {
    kid: String,
    public_x: String,
    activates_at: Millis,
    encoding: EncodingKey,
}

impl Ring {
    /// The key that signs at `now`: the newest one already active.
    fn signing_key(&self, now: Millis) -> Option<&RingKey> {
        self.keys.iter().rev().find(|k| k.activates_at <= now).or_else(|| self.keys.first())
    }
}

/// Held by [`Latchkey`]: the process's copy of the key ring.
#[derive(Default)]
pub struct KeyRing {
    current: RwLock<Option<Arc<Ring>>>,
    reloading: tokio::sync::Mutex<()>,
}

impl KeyRing {
    fn fresh(&self, now: Millis) -> Option<Arc<Ring>> {
        let ring = self.current.read().ok()?.clone()?;
        (now - ring.loaded_at < RING_TTL).then_some(ring)
    }

    fn forget(&self) {
        if let Ok(mut current) = self.current.write() {
            *current = None;
        }
    }
}

/// When a key's successor is due: a key's term starts at its activation (the first key's,
/// activated at 0, when it was made).
fn term_start(row: &SigningKeyRow) -> Millis {
    if row.activates_at == 0 {
        row.created_at
    } else {
        row.activates_at
    }
}

impl Latchkey {
    /// The key ring, read again from the database when older than [`RING_TTL`], after making
    /// the first key, scheduling the next and forgetting retired ones as due.
    async fn ring(&self) -> Result<Arc<Ring>, TokenError> {
        let now = self.now();
        if let Some(ring) = self.key_ring.fresh(now) {
            return Ok(ring);
        }
        let _one_reader = self.key_ring.reloading.lock().await;
        if let Some(ring) = self.key_ring.fresh(now) {
            return Ok(ring);
        }
        let rows = self.maintained_signing_keys(now).await?;
        let keys = rows.iter().map(|row| self.open_key(row)).collect::<Result<Vec<_>, _>>()?;
        let ring = Arc::new(Ring { loaded_at: now, keys });
        if let Ok(mut current) = self.key_ring.current.write() {
            *current = Some(ring.clone());
        }
        Ok(ring)
    }

    /// The published keys after the schedule's housekeeping. Replicas doing this at once agree:
    /// a key's activation time is unique, so only one of two identical schedules is stored.
    async fn maintained_signing_keys(&self, now: Millis) -> Result<Vec<SigningKeyRow>, TokenError> {
        let store = &self.store;
        let mut rows = store.signing_keys().await?;
        if rows.is_empty() {
            store.insert_signing_key(&self.new_signing_key(now, 0)?).await?;
            rows = store.signing_keys().await?;
        }
        let current = rows.iter().rposition(|r| r.activates_at <= now).unwrap_or(0);
        let has_next = rows.len() > current + 1;
        if let Some(row) = rows.get(current).filter(|_| !has_next) {
            let due = term_start(row) + ROTATION_PERIOD;
            if now >= due - PUBLISH_AHEAD {
                store.insert_signing_key(&self.new_signing_key(now, due)?).await?;
                rows = store.signing_keys().await?;
            }
        }
        // A key retires once its successor has signed for longer than any token lives.
        let retired: Vec<String> = rows
            .windows(2)
            .filter(|pair| pair[1].activates_at + RETAIN <= now)
            .map(|pair| pair[0].kid.clone())
            .collect();
        if !retired.is_empty() {
            store.delete_signing_keys(&retired).await?;
            rows.retain(|r| !retired.contains(&r.kid));
        }
        Ok(rows)
    }

    fn new_signing_key(&self, now: Millis, activates_at: Millis) -> Result<SigningKeyRow, TokenError> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let kid = random_id("key");
        let der = key.to_pkcs8_der().map_err(|e| TokenError::Key { kid: kid.clone(), message: e.to_string() })?;
        Ok(SigningKeyRow {
            public_x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            private_sealed: self.sealer.seal(SealPurpose::SigningKey, &URL_SAFE_NO_PAD.encode(der.as_bytes())),
            alg: ALG.into(),
            kid,
            created_at: now,
            activates_at,
        })
    }

    fn open_key(&self, row: &SigningKeyRow) -> Result<RingKey, TokenError> {
        let failed = |message: String| TokenError::Key { kid: row.kid.clone(), message };
        let sealed =
            self.sealer.open(SealPurpose::SigningKey, &row.private_sealed).map_err(|e| failed(e.to_string()))?;
        let der = URL_SAFE_NO_PAD.decode(sealed.expose()).map_err(|e| failed(e.to_string()))?;
        Ok(RingKey {
            kid: row.kid.clone(),
            public_x: row.public_x.clone(),
            activates_at: row.activates_at,
            encoding: EncodingKey::from_ed_der(&der),
        })
    }

    /// `{"keys": [...]}`: every published public key, never a private part.
    pub async fn jwks(&self) -> Result<serde_json::Value, TokenError> {
        let ring = self.ring().await?;
        let keys: Vec<_> = ring
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": k.public_x, "kid": k.kid, "alg": ALG, "use": "sig",
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// Schedules a new signing key to take over in [`ROTATE_NOW_DELAY`] (a suspected leak, or an
    /// operator's drill); the old one stays published for [`RETAIN`] after that.
    /// Returns the new key's id and when it starts signing.
    pub async fn rotate_signing_key(&self) -> Result<(String, Millis), TokenError> {
        let now = self.now();
        let latest = self.store.signing_keys().await?.last().map(|r| r.activates_at).unwrap_or(0);
        let activates_at = (now + ROTATE_NOW_DELAY).max(latest + 1);
        let row = self.new_signing_key(now, activates_at)?;
        let kid = row.kid.clone();
        if !self.store.insert_signing_key(&row).await? {
            return Err(TokenError::Key { kid, message: "another rotation took the same moment; try again".into() });
        }
        self.key_ring.forget();
        Ok((kid, activates_at))
    }

    fn sign<T: Serialize>(&self, ring: &Ring, typ: &str, claims: &T) -> Result<String, TokenError> {
        let key = ring.signing_key(self.now()).ok_or_else(|| TokenError::Signing("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// A session token for a signed-in request; `azp` is the `Origin` that asked for it. It
    /// never outlives the session.
    pub async fn mint_session_token(&self, auth: &Authenticated, azp: Option<&str>) -> Result<MintedToken, TokenError> {
        let ring = self.ring().await?;
        let now = self.now();
        let iat = now / SECOND;
        let exp = (iat + self.config.token_lifetime_secs).min(auth.session.effective_expiry() / SECOND);
        let claims = SessionClaims {
            iss: self.config.issuer(),
            sub: auth.user.id.clone(),
            sid: auth.session.id.clone(),
            azp: azp.map(str::to_string),
            iat,
            nbf: iat - CLOCK_SLACK_SECS,
            exp,
            jti: random_token(16),
        };
        let jwt = self.sign(&ring, "JWT", &claims)?;
        Ok(MintedToken { jwt: Secret::new(jwt), expires_at: exp * SECOND })
    }

    /// The handshake's answer for the app at `app_origin`: this browser's session token, or
    /// (`None`) that it is signed out — signed, so the app can trust either.
    pub async fn handshake_answer(
        &self,
        app_origin: &str,
        session_token: Option<&MintedToken>,
    ) -> Result<String, TokenError> {
        let ring = self.ring().await?;
        let iat = self.now() / SECOND;
        let claims = HandshakeClaims {
            iss: self.config.issuer(),
            aud: app_origin.to_string(),
            iat,
            nbf: iat - CLOCK_SLACK_SECS,
            exp: iat + HANDSHAKE_LIFETIME_SECS,
            jti: random_token(16),
            session_token: session_token.map(|t| t.jwt.expose().clone()),
        };
        self.sign(&ring, HANDSHAKE_TYP, &claims)
    }
}
