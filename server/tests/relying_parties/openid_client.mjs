// A relying party no one here wrote: panva's `openid-client`, against Latchkey on loopback.
// The Rust test plays the browser; this script plays the app's server.
//
//   node openid_client.mjs <issuer> <client_id> <client_secret> <redirect_uri>
//   prints  {"authorize": "<url>"}             the URL the app sends the browser to
//   reads   <callback URL>                      where the browser came back to (one line)
//   prints  {"claims", "userinfo", "refreshed_claims", "refreshed_userinfo"}  or  {"error"}
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const require = createRequire(new URL("../../../tools/package.json", import.meta.url));
const oidc = await import(pathToFileURL(require.resolve("openid-client")).href);

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");

try {
  // Plain http is allowed here only because the test runs on loopback.
  const config = await oidc.discovery(new URL(issuer), clientId, clientSecret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid email profile offline_access",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  say({ authorize: url.href });

  const lines = createInterface({ input: process.stdin });
  const callback = await new Promise((resolve) => lines.once("line", resolve));
  lines.close();

  // Checks state, iss, the ID token's signature (JWKS), iss, aud, exp, iat and nonce.
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  const refreshedUserinfo = await oidc.fetchUserInfo(config, refreshed.access_token, claims.sub);
  say({
    claims,
    userinfo,
    refreshed_claims: refreshed.claims(),
    refreshed_userinfo: refreshedUserinfo,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
  });
} catch (error) {
  say({ error: `${error.name}: ${error.message} ${error.code ?? ""} ${JSON.stringify(error.cause ?? "")}` });
}
