//! Randomness, hashing and sealing (authenticated encryption) of secrets at rest.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// `n` random bytes from the operating system, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// True for what [`random_token`]`(32)` makes: 43 base64url characters. Anything else presented
/// as a state, nonce or session token is not worth a database look-up.
pub fn is_token_shaped(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A prefixed random id such as `user_9f2c…` (96 random bits, hex).
pub fn random_id(prefix: &str) -> String {
    let mut buf = [0u8; 12];
    OsRng.fill_bytes(&mut buf);
    let mut id = String::with_capacity(prefix.len() + 25);
    id.push_str(prefix);
    id.push('_');
    for byte in buf {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// SHA-256 of a high-entropy token, hex. What the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    // Runs on every session check: one allocation, not one per byte.
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality for secrets compared against input.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The instance's master key: 32 random bytes.
#[derive(Clone)]
pub struct MasterKey(Secret<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        MasterKey(Secret::new(key))
    }

    /// Parses base64 (standard or URL-safe, padded or not) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "must be base64 of 32 random bytes".to_string())?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| format!("must be 32 bytes, found {}", b.len()))?;
        Ok(MasterKey(Secret::new(key)))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.expose())
    }

    /// A sub-key for one purpose, so no two uses ever share key material.
    pub fn derive(&self, purpose: KeyPurpose) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(b"latchkey"), self.0.expose());
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160: expand cannot fail.
        let _ = hk.expand(purpose.as_str().as_bytes(), &mut out);
        out
    }
}

/// What a key derived from the master key is for (the HKDF info). One list, so two uses can
/// never pick the same text by accident; the texts are fixed forever, since changing one
/// changes the key (and the development sandbox's client secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// The key every [`SealPurpose`] is sealed under.
    Sealing,
    /// The short id naming the sealing key in each sealed value.
    SealingKeyId,
    /// The development sandbox's client secret.
    SandboxClientSecret,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Sealing => "seal/v1",
            KeyPurpose::SealingKeyId => "seal/v1/key-id",
            KeyPurpose::SandboxClientSecret => "sandbox/client-secret",
        }
    }
}

/// Seals secrets (Notion tokens, client secrets) with XChaCha20-Poly1305 under a key derived
/// from the master key. A sealed value reads `{key_id}.{base64url(nonce ‖ ciphertext)}`; the key
/// id lets a later master-key rotation find which key opens which value. The purpose is bound as
/// associated data, so a value sealed as one thing cannot be opened as another.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    key_id: String,
    /// Earlier master keys (`LATCHKEY_PREVIOUS_MASTER_KEYS`): they still open what they sealed,
    /// and seal nothing new.
    previous: Vec<(String, XChaCha20Poly1305)>,
}

/// What a sealed value is. Bound into the seal (associated data), so a value sealed as one
/// thing never opens as another; the text is stored in nothing but that binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    NotionAccessToken,
    NotionRefreshToken,
    ConnectionClientSecret,
    InstanceSecretKey,
    SigningKey,
    WebhookSecret,
    /// The moment an OpenID Connect `prompt=login` sent the person to sign in again.
    OidcLoginAfter,
}

impl SealPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            SealPurpose::NotionAccessToken => "notion_access_token",
            SealPurpose::NotionRefreshToken => "notion_refresh_token",
            SealPurpose::ConnectionClientSecret => "connection_client_secret",
            SealPurpose::InstanceSecretKey => "instance_secret_key",
            SealPurpose::SigningKey => "signing_key",
            SealPurpose::WebhookSecret => "webhook_secret",
            SealPurpose::OidcLoginAfter => "oidc_login_after",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed with key {0}, which this instance does not have")]
    UnknownKey(String),
    #[error("sealed value does not open: wrong key or tampered")]
    Tampered,
}

impl Sealer {
    pub fn new(master: &MasterKey) -> Self {
        Sealer::with_previous(master, &[])
    }

    /// Seals under `master`; opens what `master` or any of `previous` sealed (a rotation).
    pub fn with_previous(master: &MasterKey, previous: &[MasterKey]) -> Self {
        let (key_id, cipher) = Sealer::cipher_of(master);
        let previous = previous.iter().map(Sealer::cipher_of).filter(|(id, _)| *id != key_id).collect();
        Sealer { cipher, key_id, previous }
    }

    fn cipher_of(master: &MasterKey) -> (String, XChaCha20Poly1305) {
        let key = master.derive(KeyPurpose::Sealing);
        let key_id = token_hash(&URL_SAFE_NO_PAD.encode(master.derive(KeyPurpose::SealingKeyId)))[..8].to_string();
        (key_id, XChaCha20Poly1305::new(&key.into()))
    }

    /// Whether `sealed` is sealed under the current master key (else a rotation re-seals it).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.split_once('.').is_some_and(|(key_id, _)| key_id == self.key_id)
    }

    /// Whether earlier master keys were given (so values may await re-sealing).
    pub fn has_previous(&self) -> bool {
        !self.previous.is_empty()
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn seal(&self, purpose: SealPurpose, plaintext: &str) -> String {
        let purpose = purpose.as_str();
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: purpose.as_bytes() };
        // Encryption fails only for messages beyond 256 GiB.
        let ciphertext = self.cipher.encrypt(XNonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("{}.{}", self.key_id, URL_SAFE_NO_PAD.encode(blob))
    }

    pub fn open(&self, purpose: SealPurpose, sealed: &str) -> Result<Secret<String>, SealError> {
        let purpose = purpose.as_str();
        let (key_id, body) = sealed.split_once('.').ok_or(SealError::Malformed)?;
        let cipher = if key_id == self.key_id {
            &self.cipher
        } else {
            let earlier = self.previous.iter().find(|(id, _)| id == key_id);
            &earlier.ok_or_else(|| SealError::UnknownKey(key_id.to_string()))?.1
        };
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| SealError::Malformed)?;
        if blob.len() < 24 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(24);
        let payload = Payload { msg: ciphertext, aad: purpose.as_bytes() };
        let plain = cipher.decrypt(XNonce::from_slice(nonce), payload).map_err(|_| SealError::Tampered)?;
        String::from_utf8(plain).map(Secret::new).map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let a = random_token(32);
        let b = random_token(32);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).map(|v| v.len()), Ok(32));
        assert_ne!(a, b);
        assert!(random_id("user").starts_with("user_"));
        assert_eq!(random_id("user").len(), "user_".len() + 24);
    }

    #[test]
    fn sealing_round_trips_and_hides_the_plaintext() {
        let sealer = Sealer::new(&MasterKey::generate());
        let sealed = sealer.seal(SealPurpose::NotionAccessToken, "ntn_secret_value");
        assert!(!sealed.contains("ntn_secret_value"));
        assert_ne!(sealed, sealer.seal(SealPurpose::NotionAccessToken, "ntn_secret_value"), "fresh nonce each time");
        let opened = sealer.open(SealPurpose::NotionAccessToken, &sealed).map(|s| s.expose().clone());
        assert_eq!(opened, Ok("ntn_secret_value".to_string()));
    }

    #[test]
    fn sealed_values_refuse_other_purposes_keys_and_tampering() {
        let sealer = Sealer::new(&MasterKey::generate());
        let sealed = sealer.seal(SealPurpose::NotionAccessToken, "ntn_secret_value");
        assert_eq!(sealer.open(SealPurpose::ConnectionClientSecret, &sealed).err(), Some(SealError::Tampered));
        let other = Sealer::new(&MasterKey::generate());
        assert!(matches!(other.open(SealPurpose::NotionAccessToken, &sealed), Err(SealError::UnknownKey(_))));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open(SealPurpose::NotionAccessToken, &tampered).is_err());
    }

    #[test]
    fn a_rotated_master_key_still_opens_what_the_previous_one_sealed() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let sealed = Sealer::new(&old).seal(SealPurpose::WebhookSecret, "whsec_x");
        let rotated = Sealer::with_previous(&new, std::slice::from_ref(&old));
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(SealPurpose::WebhookSecret, &sealed).map(|s| s.expose().clone()), Ok("whsec_x".into()));
        let resealed = rotated.seal(SealPurpose::WebhookSecret, "whsec_x");
        assert!(rotated.is_current(&resealed));
        // Once re-sealed, the new key alone opens it; the old key alone no longer does.
        assert!(Sealer::new(&new).open(SealPurpose::WebhookSecret, &resealed).is_ok());
        assert!(matches!(Sealer::new(&old).open(SealPurpose::WebhookSecret, &resealed), Err(SealError::UnknownKey(_))));
        assert!(matches!(Sealer::new(&new).open(SealPurpose::WebhookSecret, &sealed), Err(SealError::UnknownKey(_))));
    }

    #[test]
    fn master_key_parsing_names_the_problem() {
        let key = MasterKey::generate();
        assert!(MasterKey::from_base64(&key.to_base64()).is_ok());
        assert_eq!(MasterKey::from_base64("c2hvcnQ=").err(), Some("must be 32 bytes, found 5".to_string()));
        assert!(MasterKey::from_base64("not base64!!").is_err());
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }
}
