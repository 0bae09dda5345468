//! Every token the SDK must refuse, and the ones it must accept, signed here with real keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_sdk::{Latchkey, Rejection, HANDSHAKE_TYP};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUER: &str = "https://auth.example.com";
const NOW: i64 = 1_800_000_000;

struct TestKey {
    kid: String,
    x: String,
    encoding: EncodingKey,
}

fn key(kid: &str, seed: u8) -> TestKey {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let der = signing.to_pkcs8_der().expect("pkcs8");
    TestKey {
        kid: kid.into(),
        x: URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
    }
}

fn jwks(keys: &[&TestKey]) -> serde_json::Value {
    let keys: Vec<_> = keys
        .iter()
        .map(|k| json!({"kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": k.kid, "alg": "EdDSA", "use": "sig"}))
        .collect();
    json!({ "keys": keys })
}

fn claims() -> serde_json::Value {
    json!({"iss": ISSUER, "sub": "user_1", "sid": "sess_1", "azp": "https://app.example.com",
           "iat": NOW, "nbf": NOW - 30, "exp": NOW + 60, "jti": "j1"})
}

fn sign(key: &TestKey, typ: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

fn verifier(keys: &[&TestKey], now: i64) -> Latchkey {
    let set = serde_json::from_value(jwks(keys)).expect("jwks");
    Latchkey::builder(ISSUER)
        .jwks(set)
        .authorized_parties(["https://app.example.com"])
        .clock(move || now)
        .build()
        .expect("verifier")
}

fn with(mut claims: serde_json::Value, field: &str, value: serde_json::Value) -> serde_json::Value {
    claims[field] = value;
    claims
}

#[tokio::test]
async fn a_good_token_verifies_with_its_claims() {
    let k = key("k1", 1);
    let claims = latchkey_sdk_claims(verifier(&[&k], NOW).verify(&sign(&k, "JWT", &claims())).await);
    assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("user_1", "sess_1"));
    // Inside the leeway at both ends.
    let v = verifier(&[&k], NOW + 64);
    assert!(v.verify(&sign(&k, "JWT", &claims_json())).await.is_ok());
    let v = verifier(&[&k], NOW - 34);
    assert!(v.verify(&sign(&k, "JWT", &claims_json())).await.is_ok());
    // No azp: minted for a server, accepted.
    let mut no_azp = claims_json();
    no_azp.as_object_mut().expect("object").remove("azp");
    assert!(verifier(&[&k], NOW).verify(&sign(&k, "JWT", &no_azp)).await.is_ok());
}

fn claims_json() -> serde_json::Value {
    claims()
}

fn latchkey_sdk_claims(r: Result<latchkey_sdk::SessionClaims, Rejection>) -> latchkey_sdk::SessionClaims {
    r.expect("token verifies")
}

#[tokio::test]
async fn every_bad_token_is_refused_with_its_reason() {
    let k = key("k1", 1);
    let other = key("k1", 2); // same kid, another private key
    let v = verifier(&[&k], NOW);
    let good = sign(&k, "JWT", &claims());

    let forged = sign(&other, "JWT", &claims());
    assert_eq!(v.verify(&forged).await, Err(Rejection::BadSignature));

    // A body changed after signing.
    let parts: Vec<&str> = good.split('.').collect();
    let tampered_body = URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!("user_admin")).to_string());
    let tampered = format!("{}.{}.{}", parts[0], tampered_body, parts[2]);
    assert_eq!(v.verify(&tampered).await, Err(Rejection::BadSignature));

    // alg: none, unsigned.
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": "k1"}).to_string());
    let none = format!("{none_header}.{}.", parts[1]);
    assert_eq!(v.verify(&none).await, Err(Rejection::UnsupportedAlgorithm("none".into())));

    // HS256 "signed" with the public key as the HMAC secret (the classic confusion).
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let public = URL_SAFE_NO_PAD.decode(&k.x).expect("x");
    let confused =
        jsonwebtoken::encode(&hs, &claims(), &EncodingKey::from_secret(&public).expect("hmac key")).expect("hs256");
    assert_eq!(v.verify(&confused).await, Err(Rejection::UnsupportedAlgorithm("HS256".into())));

    let unknown = sign(&key("k9", 9), "JWT", &claims());
    assert_eq!(v.verify(&unknown).await, Err(Rejection::UnknownKey));

    assert_eq!(verifier(&[&k], NOW + 66).verify(&good).await, Err(Rejection::Expired));
    assert_eq!(verifier(&[&k], NOW - 36).verify(&good).await, Err(Rejection::NotYetValid));

    let elsewhere = sign(&k, "JWT", &with(claims(), "iss", json!("https://evil.example")));
    assert_eq!(v.verify(&elsewhere).await, Err(Rejection::WrongIssuer));

    let other_site = sign(&k, "JWT", &with(claims(), "azp", json!("https://evil.example")));
    assert_eq!(v.verify(&other_site).await, Err(Rejection::UnauthorizedParty));

    let handshake_as_token = sign(&k, HANDSHAKE_TYP, &claims());
    assert_eq!(v.verify(&handshake_as_token).await, Err(Rejection::WrongType));

    for garbage in ["", "abc", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30", "%%%.%%%.%%%"] {
        assert!(
            matches!(v.verify(garbage).await, Err(Rejection::Malformed | Rejection::UnknownKey)),
            "{garbage:?} refused"
        );
    }
    // A token missing a claim is malformed, not accepted with defaults.
    let mut no_sub = claims();
    no_sub.as_object_mut().expect("object").remove("sub");
    assert_eq!(v.verify(&sign(&k, "JWT", &no_sub)).await, Err(Rejection::Malformed));
}

#[tokio::test]
async fn a_handshake_answer_is_read_only_by_its_own_app() {
    let k = key("k1", 1);
    let v = verifier(&[&k], NOW);
    let session = sign(&k, "JWT", &claims());
    let answer = json!({"iss": ISSUER, "aud": "https://app.example.com", "iat": NOW, "nbf": NOW - 30,
                        "exp": NOW + 60, "jti": "h1", "session_token": session, "nonce": "n1"});
    let signed = sign(&k, HANDSHAKE_TYP, &answer);
    assert_eq!(v.verify_handshake(&signed, "https://app.example.com", "n1").await, Ok(Some(session.clone())));
    assert_eq!(v.verify_handshake(&signed, "https://other.example.com", "n1").await, Err(Rejection::WrongAudience));
    // Asked for by another browser (its nonce), or by none: not this browser's answer.
    assert_eq!(v.verify_handshake(&signed, "https://app.example.com", "n2").await, Err(Rejection::WrongBrowser));
    let mut unbound = answer.clone();
    unbound.as_object_mut().expect("object").remove("nonce");
    let unbound = sign(&k, HANDSHAKE_TYP, &unbound);
    assert_eq!(v.verify_handshake(&unbound, "https://app.example.com", "n1").await, Err(Rejection::WrongBrowser));
    // A session token is no handshake answer.
    assert_eq!(v.verify_handshake(&session, "https://app.example.com", "n1").await, Err(Rejection::WrongType));
    let mut signed_out = answer.clone();
    signed_out.as_object_mut().expect("object").remove("session_token");
    let signed_out = sign(&k, HANDSHAKE_TYP, &signed_out);
    assert_eq!(v.verify_handshake(&signed_out, "https://app.example.com", "n1").await, Ok(None));
}

/// A JWKS server on loopback that counts its requests.
async fn jwks_server(body: serde_json::Value) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.to_string();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = socket.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (base, hits)
}

#[tokio::test]
async fn keys_are_fetched_once_and_again_only_for_a_new_kid_at_most_every_interval() {
    let k = key("k1", 1);
    let (base, hits) = jwks_server(jwks(&[&k])).await;
    let token = sign(&k, "JWT", &with(claims(), "iss", json!(base.clone())));
    let v =
        Latchkey::builder(&base).clock(|| NOW).refetch_interval(Duration::from_millis(400)).build().expect("verifier");
    for _ in 0..20 {
        assert!(v.verify(&token).await.is_ok());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "warm cache: one fetch for twenty tokens");

    let stranger = sign(&key("k2", 2), "JWT", &with(claims(), "iss", json!(base.clone())));
    tokio::time::sleep(Duration::from_millis(450)).await;
    for _ in 0..20 {
        assert_eq!(v.verify(&stranger).await, Err(Rejection::UnknownKey));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "an unknown kid fetches again once, not per token");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(v.verify(&stranger).await, Err(Rejection::UnknownKey));
    assert_eq!(hits.load(Ordering::SeqCst), 3, "and again after the interval");
}

#[tokio::test]
async fn unreachable_keys_are_a_typed_refusal() {
    let k = key("k1", 1);
    let v = Latchkey::builder("http://127.0.0.1:9").build().expect("verifier");
    let token = sign(&k, "JWT", &with(claims(), "iss", json!("http://127.0.0.1:9")));
    assert!(matches!(v.verify(&token).await, Err(Rejection::KeysUnavailable(_))));
}

#[tokio::test]
async fn a_remembered_token_still_expires_and_a_forged_twin_is_not_remembered() {
    let k = key("k1", 1);
    let now = Arc::new(std::sync::atomic::AtomicI64::new(NOW));
    let clock = now.clone();
    let set = serde_json::from_value(jwks(&[&k])).expect("jwks");
    let v = Latchkey::builder(ISSUER).jwks(set).clock(move || clock.load(Ordering::SeqCst)).build().expect("verifier");
    let token = sign(&k, "JWT", &claims());
    assert!(v.verify(&token).await.is_ok());
    assert!(v.verify(&token).await.is_ok(), "remembered");
    // Same signature, another body: not the remembered token.
    let parts: Vec<&str> = token.split('.').collect();
    let body = URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!("user_admin")).to_string());
    assert_eq!(v.verify(&format!("{}.{body}.{}", parts[0], parts[2])).await, Err(Rejection::BadSignature));
    now.store(NOW + 66, Ordering::SeqCst);
    assert_eq!(v.verify(&token).await, Err(Rejection::Expired), "remembered tokens expire too");
}
