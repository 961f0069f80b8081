// An independent OpenID provider for Roost's relying party tests: panva's
// oidc-provider (npm, certified by the OpenID Foundation) with its
// development login and consent pages. Usage:
//   node oidc-provider.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Any login is accepted with any password (devInteractions); the account
// "alice" gets email alice@example.org. Access tokens are JWTs for the
// audience CLIENT_ID, carrying the email claim.
import Provider from 'oidc-provider';

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const url = new URL(issuer);
const claimsOf = (id) => ({ sub: id, email: `${id}@example.org`, email_verified: true, name: `User ${id}` });
// With OPAQUE=1 access tokens are opaque and Roost must introspect them.
const opaque = process.env.OPAQUE === '1';
const provider = new Provider(issuer, {
  clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => claimsOf(id) }),
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: opaque },
    resourceIndicators: {
      enabled: !opaque,
      defaultResource: async () => 'urn:roost',
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({ scope: 'mail', audience: clientId, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  extraTokenClaims: async (ctx, token) => (token.kind === 'AccessToken' ? { email: claimsOf(token.accountId).email } : undefined),
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;
provider.listen(Number(url.port), url.hostname, () => console.log('listening'));
