"""A relying party no one here wrote: Python's `authlib`, with `client_secret_post`.

The Rust test plays the browser; this script plays the app's server.

    python authlib_client.py <issuer> <client_id> <client_secret> <redirect_uri>
    prints  {"authorize": "<url>"}       the URL the app sends the browser to
    reads   <callback URL>                where the browser came back to (one line)
    prints  {"claims", "userinfo", "token_keys"}  or  {"error"}
"""

import json
import os
import sys

# Plain http is allowed here only because the test runs on loopback.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402


def say(value):
    print(json.dumps(value), flush=True)


def main():
    issuer, client_id, client_secret, redirect_uri = sys.argv[1:5]
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    if metadata["issuer"] != issuer:
        raise ValueError(f"issuer {metadata['issuer']!r} is not {issuer!r}")
    session = OAuth2Session(
        client_id,
        client_secret,
        scope="openid email profile",
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )
    say({"authorize": url})

    callback = sys.stdin.readline().strip()
    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=verifier,
    )
    # The ID token, checked against the provider's published keys and the request's nonce.
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
    ).validate(decoded.claims)
    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
    userinfo.raise_for_status()
    say({"claims": decoded.claims, "userinfo": userinfo.json(), "token_keys": sorted(token.keys())})


try:
    main()
except Exception as error:  # the test prints whatever went wrong
    say({"error": f"{type(error).__name__}: {error}"})
