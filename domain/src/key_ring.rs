//! The signing keys a process holds: which algorithms Latchkey signs with, and the key ring as
//! last read from the database (`tokens.rs` reads, rotates and signs with it). Apart from
//! `tokens.rs`, so that the service holds a ring without depending on what uses it.

use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, EncodingKey};

use crate::time::{Millis, SECOND};

/// How long a process keeps the key ring it read before reading it again.
pub const RING_TTL: Millis = 5 * SECOND;

/// What Latchkey signs with: EdDSA for session tokens (small, fast, what the SDK pins), RS256
/// for ID tokens (the one algorithm every OpenID relying party must support).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    EdDsa,
    Rs256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::EdDsa, SigningAlg::Rs256];

    /// The JOSE name, as in `alg` and in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::EdDsa => "EdDSA",
            SigningAlg::Rs256 => "RS256",
        }
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::EdDsa => Algorithm::EdDSA,
            SigningAlg::Rs256 => Algorithm::RS256,
        }
    }
}

/// The keys a process signs with and publishes, as last read from the database.
pub(crate) struct Ring {
    pub(crate) loaded_at: Millis,
    /// Oldest first; every key here is published.
    pub(crate) keys: Vec<RingKey>,
}

pub(crate) struct RingKey {
    pub(crate) kid: String,
    pub(crate) alg: SigningAlg,
    /// The public JWK members (`kty`, `crv`/`x` or `n`/`e`).
    pub(crate) public_jwk: serde_json::Map<String, serde_json::Value>,
    pub(crate) activates_at: Millis,
    pub(crate) signer: KeySigner,
}

/// A private key, ready to sign.
pub(crate) enum KeySigner {
    /// Parsed once, when the ring is read: `jsonwebtoken` parses the PKCS#8 key again for every
    /// token and derives its public half each time (a scalar multiplication, as costly as the
    /// signature itself; half of a session token's CPU).
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(EncodingKey),
}

impl Ring {
    /// The key of `alg` that signs at `now`: the newest one already active.
    pub(crate) fn signing_key(&self, alg: SigningAlg, now: Millis) -> Option<&RingKey> {
        let of_alg = self.keys.iter().filter(|k| k.alg == alg);
        let first = of_alg.clone().next();
        of_alg.rev().find(|k| k.activates_at <= now).or(first)
    }
}

/// Held by [`Latchkey`]: the process's copy of the key ring.
#[derive(Default)]
pub struct KeyRing {
    current: RwLock<Option<Arc<Ring>>>,
    reloading: tokio::sync::Mutex<()>,
}

impl KeyRing {
    pub(crate) fn fresh(&self, now: Millis) -> Option<Arc<Ring>> {
        let ring = self.current.read().ok()?.clone()?;
        (now - ring.loaded_at < RING_TTL).then_some(ring)
    }

    pub(crate) fn forget(&self) {
        if let Ok(mut current) = self.current.write() {
            *current = None;
        }
    }

    /// Held while one task reads the ring again, so that the others wait for it.
    pub(crate) async fn reloading(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reloading.lock().await
    }

    pub(crate) fn keep(&self, ring: Arc<Ring>) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(ring);
        }
    }
}
