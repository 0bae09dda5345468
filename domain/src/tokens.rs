//! Session tokens: short-lived JWTs (EdDSA) that an app's server verifies itself against
//! `/.well-known/jwks.json`, and the signed answers of the handshake for server-rendered apps;
//! and the key ring that also signs the OpenID Provider's ID tokens (RS256, see `oidc/`).
//!
//! Signing keys live in the database (private half sealed under the master key), so every
//! replica signs with the same key and publishes the same set. Each algorithm has its own keys
//! and the same schedule. Rotation has overlap both ways:
//! a scheduled key is published [`PUBLISH_AHEAD`] before it signs anything, and a retired key
//! stays published [`RETAIN`] after its successor took over, longer than any token it signed
//! lives. Each process keeps the key ring for at most [`RING_TTL`].

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
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

use crate::key_ring::{KeySigner, Ring, RingKey};
pub use crate::key_ring::{SigningAlg, RING_TTL};

/// A key signs for this long, then its successor takes over.
pub const ROTATION_PERIOD: Millis = 30 * DAY;
/// A scheduled key is in the JWKS this long before it signs anything.
pub const PUBLISH_AHEAD: Millis = DAY;
/// A retired key stays in the JWKS this long after its successor activated: longer than any
/// token lives.
pub const RETAIN: Millis = MAX_TOKEN_LIFETIME_SECS * SECOND + 5 * MINUTE;
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

/// RSA keys of this many bits: what relying parties expect (RFC 7518 asks for at least 2048).
const RSA_BITS: usize = 2048;

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
    /// The `nonce` the app's SDK sent with the handshake (and keeps in a cookie of its own): the
    /// answer is for the browser that asked, not one it is carried to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
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

/// A JWS in compact serialization (RFC 7515 §7.1), built as `jsonwebtoken::encode` builds it
/// (the same `Header`, serde_json, unpadded base64url) but signed with a key parsed once.
fn compact_jws<T: Serialize>(
    header: &Header,
    claims: &T,
    key: &ed25519_dalek::SigningKey,
) -> Result<String, TokenError> {
    use ed25519_dalek::Signer;
    let unserializable = |e: serde_json::Error| TokenError::Signing(e.to_string());
    let mut jws = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).map_err(unserializable)?);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims).map_err(unserializable)?, &mut jws);
    let signature = key.sign(jws.as_bytes());
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jws);
    Ok(jws)
}

/// A new private key of `alg` (DER) and its public JWK members.
fn key_material(alg: SigningAlg) -> Result<(serde_json::Value, Vec<u8>), String> {
    Ok(match alg {
        SigningAlg::EdDsa => {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
            let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
            (serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}), der.as_bytes().to_vec())
        }
        SigningAlg::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS).map_err(|e| e.to_string())?;
            let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
            let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
            let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
            (serde_json::json!({"kty": "RSA", "n": n, "e": e}), der.as_bytes().to_vec())
        }
    })
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
        let _one_reader = self.key_ring.reloading().await;
        if let Some(ring) = self.key_ring.fresh(now) {
            return Ok(ring);
        }
        let rows = self.maintained_signing_keys(now).await?;
        let keys = rows.iter().map(|row| self.open_key(row)).collect::<Result<Vec<_>, _>>()?;
        let ring = Arc::new(Ring { loaded_at: now, keys });
        self.key_ring.keep(ring.clone());
        Ok(ring)
    }

    /// The published keys after each algorithm's housekeeping. Replicas doing this at once
    /// agree: a key's activation time is unique per algorithm, so only one of two identical
    /// schedules is stored.
    async fn maintained_signing_keys(&self, now: Millis) -> Result<Vec<SigningKeyRow>, TokenError> {
        let mut rows = self.store.signing_keys().await?;
        for alg in SigningAlg::ALL {
            if self.maintain_schedule(alg, &rows, now).await? {
                rows = self.store.signing_keys().await?;
            }
        }
        Ok(rows)
    }

    /// Makes `alg`'s first key, schedules its next one and forgets retired ones, as due.
    /// True when it changed anything.
    async fn maintain_schedule(
        &self,
        alg: SigningAlg,
        rows: &[SigningKeyRow],
        now: Millis,
    ) -> Result<bool, TokenError> {
        let store = &self.store;
        let keys: Vec<&SigningKeyRow> = rows.iter().filter(|r| r.alg == alg.as_str()).collect();
        if keys.is_empty() {
            store.insert_signing_key(&self.new_signing_key(alg, now, 0).await?).await?;
            return Ok(true);
        }
        let mut changed = false;
        let current = keys.iter().rposition(|r| r.activates_at <= now).unwrap_or(0);
        if current + 1 == keys.len() {
            let due = term_start(keys[current]) + ROTATION_PERIOD;
            if now >= due - PUBLISH_AHEAD {
                store.insert_signing_key(&self.new_signing_key(alg, now, due).await?).await?;
                changed = true;
            }
        }
        // A key retires once its successor has signed for longer than any token lives.
        let retired: Vec<String> = keys
            .windows(2)
            .filter(|pair| pair[1].activates_at + RETAIN <= now)
            .map(|pair| pair[0].kid.clone())
            .collect();
        if !retired.is_empty() {
            store.delete_signing_keys(&retired).await?;
            changed = true;
        }
        Ok(changed)
    }

    async fn new_signing_key(
        &self,
        alg: SigningAlg,
        now: Millis,
        activates_at: Millis,
    ) -> Result<SigningKeyRow, TokenError> {
        let kid = random_id("key");
        // An RSA key takes up to seconds of CPU to find: on a blocking thread, not on one of
        // the runtime's few workers, which would stop answering requests meanwhile.
        let made = tokio::task::spawn_blocking(move || key_material(alg)).await;
        let (public_jwk, der) = match made {
            Ok(Ok(made)) => made,
            Ok(Err(message)) => return Err(TokenError::Key { kid, message }),
            Err(e) => return Err(TokenError::Key { kid, message: format!("key generation stopped: {e}") }),
        };
        Ok(SigningKeyRow {
            public_jwk: public_jwk.to_string(),
            private_sealed: self.sealer.seal(SealPurpose::SigningKey, &URL_SAFE_NO_PAD.encode(der)),
            alg: alg.as_str().into(),
            kid,
            created_at: now,
            activates_at,
        })
    }

    fn open_key(&self, row: &SigningKeyRow) -> Result<RingKey, TokenError> {
        let failed = |message: String| TokenError::Key { kid: row.kid.clone(), message };
        let alg = SigningAlg::ALL
            .into_iter()
            .find(|alg| alg.as_str() == row.alg)
            .ok_or_else(|| failed(format!("unknown algorithm {}", row.alg)))?;
        let sealed =
            self.sealer.open(SealPurpose::SigningKey, &row.private_sealed).map_err(|e| failed(e.to_string()))?;
        let der = URL_SAFE_NO_PAD.decode(sealed.expose()).map_err(|e| failed(e.to_string()))?;
        let public_jwk = serde_json::from_str(&row.public_jwk).map_err(|e| failed(e.to_string()))?;
        let signer = match alg {
            SigningAlg::EdDsa => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                KeySigner::Ed25519(ed25519_dalek::SigningKey::from_pkcs8_der(&der).map_err(|e| failed(e.to_string()))?)
            }
            SigningAlg::Rs256 => KeySigner::Rsa(EncodingKey::from_rsa_der(&der)),
        };
        Ok(RingKey { kid: row.kid.clone(), alg, public_jwk, activates_at: row.activates_at, signer })
    }

    /// `{"keys": [...]}`: every published public key, never a private part.
    pub async fn jwks(&self) -> Result<serde_json::Value, TokenError> {
        let ring = self.ring().await?;
        let keys: Vec<_> = ring
            .keys
            .iter()
            .map(|k| {
                let mut jwk = k.public_jwk.clone();
                jwk.insert("kid".into(), k.kid.clone().into());
                jwk.insert("alg".into(), k.alg.as_str().into());
                jwk.insert("use".into(), "sig".into());
                serde_json::Value::Object(jwk)
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// Schedules a new signing key of every algorithm to take over in [`ROTATE_NOW_DELAY`] (a
    /// suspected leak, or an operator's drill); the old ones stay published for [`RETAIN`]
    /// after that. Returns each new key's algorithm, id and when it starts signing.
    pub async fn rotate_signing_key(&self) -> Result<Vec<(SigningAlg, String, Millis)>, TokenError> {
        let now = self.now();
        let rows = self.store.signing_keys().await?;
        let mut rotated = Vec::new();
        for alg in SigningAlg::ALL {
            let latest = rows.iter().filter(|r| r.alg == alg.as_str()).map(|r| r.activates_at).max().unwrap_or(0);
            let activates_at = (now + ROTATE_NOW_DELAY).max(latest + 1);
            let row = self.new_signing_key(alg, now, activates_at).await?;
            let kid = row.kid.clone();
            if !self.store.insert_signing_key(&row).await? {
                return Err(TokenError::Key {
                    kid,
                    message: "another rotation took the same moment; try again".into(),
                });
            }
            rotated.push((alg, kid, activates_at));
        }
        self.key_ring.forget();
        Ok(rotated)
    }

    fn sign<T: Serialize>(&self, ring: &Ring, alg: SigningAlg, typ: &str, claims: &T) -> Result<String, TokenError> {
        let key = ring.signing_key(alg, self.now()).ok_or_else(|| TokenError::Signing("no signing key".into()))?;
        let mut header = Header::new(alg.jwt());
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_string());
        match &key.signer {
            KeySigner::Rsa(encoding) => {
                jsonwebtoken::encode(&header, claims, encoding).map_err(|e| TokenError::Signing(e.to_string()))
            }
            KeySigner::Ed25519(signing) => compact_jws(&header, claims, signing),
        }
    }

    /// An ID token (or anything else an OpenID relying party verifies): RS256, `typ: JWT`.
    pub async fn sign_for_relying_party<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let ring = self.ring().await?;
        self.sign(&ring, SigningAlg::Rs256, "JWT", claims)
    }

    /// The claims of a JWT this instance signed for a relying party (an `id_token_hint`),
    /// checking its signature and issuer but not its expiry: a logout may name an old one.
    pub async fn verify_own_id_token<T: serde::de::DeserializeOwned>(&self, jwt: &str) -> Option<T> {
        let kid = jsonwebtoken::decode_header(jwt).ok()?.kid?;
        let ring = self.ring().await.ok()?;
        let key = ring.keys.iter().find(|k| k.kid == kid && k.alg == SigningAlg::Rs256)?;
        let n = key.public_jwk.get("n")?.as_str()?;
        let e = key.public_jwk.get("e")?.as_str()?;
        let decoding = DecodingKey::from_rsa_components(n, e).ok()?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[self.config.issuer()]);
        jsonwebtoken::decode::<T>(jwt, &decoding, &validation).ok().map(|data| data.claims)
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
            sub: auth.user.id.to_string(),
            sid: auth.session.id.to_string(),
            azp: azp.map(str::to_string),
            iat,
            nbf: iat - CLOCK_SLACK_SECS,
            exp,
            jti: random_token(16),
        };
        let jwt = self.sign(&ring, SigningAlg::EdDsa, "JWT", &claims)?;
        Ok(MintedToken { jwt: Secret::new(jwt), expires_at: exp * SECOND })
    }

    /// The handshake's answer for the app at `app_origin`: this browser's session token, or
    /// (`None`) that it is signed out — signed, so the app can trust either — with the app's
    /// `nonce` for the browser that asked.
    pub async fn handshake_answer(
        &self,
        app_origin: &str,
        session_token: Option<&MintedToken>,
        nonce: Option<&str>,
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
            nonce: nonce.map(str::to_string),
        };
        self.sign(&ring, SigningAlg::EdDsa, HANDSHAKE_TYP, &claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ed25519 signatures are deterministic: the token signed with the key parsed once is, byte
    /// for byte, the one `jsonwebtoken` makes from the same PKCS#8 key.
    #[test]
    fn a_session_token_is_the_one_jsonwebtoken_would_sign() {
        let (_, der) = key_material(SigningAlg::EdDsa).expect("a key");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("sk_test".into());
        header.typ = Some("JWT".into());
        let claims = serde_json::json!({"iss": "https://auth.example", "sub": "user_1", "exp": 2_000_000_000});
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let parsed = ed25519_dalek::SigningKey::from_pkcs8_der(&der).expect("parsed");
        let ours = compact_jws(&header, &claims, &parsed).expect("signed");
        let theirs = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).expect("signed");
        assert_eq!(ours, theirs);
    }
}
