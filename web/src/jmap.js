// The JMAP client (RFC 8620/8621) the app talks to the server with. The
// browser sends the session cookie; no credentials live in script.

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];

export class AuthError extends Error {}

let session = null;

export async function me() {
  const r = await fetch('/web/api/me', { credentials: 'same-origin' });
  if (r.status === 401) return null;
  if (!r.ok) throw new Error(`me: ${r.status}`);
  return r.json();
}

export async function login(name, password, code) {
  const body = new URLSearchParams({ login: name, password });
  if (code) body.set('code', code);
  const r = await fetch('/web/login', { method: 'POST', body, credentials: 'same-origin' });
  if (r.status === 204) return null;
  let err = 'unavailable';
  try { err = (await r.json()).error; } catch { /* not JSON */ }
  return err;
}

// logout ends this session, or with everywhere every session of the user.
export async function logout(everywhere) {
  const body = new URLSearchParams(everywhere ? { everywhere: '1' } : {});
  await fetch('/web/logout', { method: 'POST', body, credentials: 'same-origin' });
  session = null;
}

export async function getSession() {
  if (session) return session;
  const r = await fetch('/jmap/session', { credentials: 'same-origin' });
  if (r.status === 401) throw new AuthError('session');
  if (!r.ok) throw new Error(`session: ${r.status}`);
  session = await r.json();
  session.accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
  // The user's archive store is a second, read-only Mail account.
  session.archiveId = Object.keys(session.accounts).find((id) => id !== session.accountId &&
    session.accounts[id].isReadOnly && session.accounts[id].accountCapabilities['urn:ietf:params:jmap:mail']) || null;
  return session;
}

export function accountId() { return session && session.accountId; }
export function archiveAccountId() { return session && session.archiveId; }

// api sends method calls and returns the responses by call id. A method
// error becomes an exception naming it.
export async function api(calls) {
  const s = await getSession();
  const methodCalls = calls.map(([name, args, id]) => [name, { accountId: s.accountId, ...args }, id]);
  const r = await fetch('/jmap/api/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ using: USING, methodCalls }),
  });
  if (r.status === 401) throw new AuthError('api');
  if (!r.ok) throw new Error(`JMAP: HTTP ${r.status}`);
  const body = await r.json();
  const out = {};
  for (const [name, args, id] of body.methodResponses) {
    if (name === 'error') throw new Error(`JMAP ${id}: ${args.type}${args.description ? ': ' + args.description : ''}`);
    if (out[id]) out[id + '+'] = args; else out[id] = args;
  }
  return out;
}

// events calls onChange whenever the account's state moves (push,
// RFC 8620 §7.3). It returns a function that stops listening.
export function events(onChange) {
  const es = new EventSource('/jmap/eventsource/?types=*&closeafter=no&ping=60', { withCredentials: true });
  es.addEventListener('state', () => onChange());
  return () => es.close();
}

export const LIST_PROPS = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'to', 'subject', 'receivedAt', 'preview', 'hasAttachment', 'size'];
