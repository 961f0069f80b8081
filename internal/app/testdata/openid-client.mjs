// An independent relying party of Roost's OpenID provider: panva's
// openid-client (npm). Two steps, driven by TestOIDCProviderOpenIDClient:
//   node openid-client.mjs start ISSUER CLIENT_ID SECRET REDIRECT_URI SCOPE
//     prints {"url", "verifier", "state"} (discovery, PKCE S256)
//   node openid-client.mjs finish ISSUER CLIENT_ID SECRET CALLBACK_URL VERIFIER STATE
//     exchanges the code, reads userinfo, refreshes; prints what it got.
import * as client from 'openid-client';

const [step, issuer, clientId, secret, arg, a5, a6] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, secret, undefined, { execute: [client.allowInsecureRequests] });
if (step === 'start') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: arg, scope: a5, state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  console.log(JSON.stringify({ url: url.href, verifier, state }));
} else {
  const tokens = await client.authorizationCodeGrant(config, new URL(arg), { pkceCodeVerifier: a5, expectedState: a6 });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  let replay = 'accepted';
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (e) {
    replay = e.error || e.code || String(e);
  }
  console.log(JSON.stringify({ access_token: tokens.access_token, claims, userinfo, refreshed_access_token: refreshed.access_token, refreshed_refresh_token: refreshed.refresh_token, refreshed_claims: refreshed.claims(), refresh_replay: replay }));
}
