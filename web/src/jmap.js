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
  if (session && !session.stale) return session;
  const r = await fetch('/jmap/session', { credentials: 'same-origin' });
  if (r.status === 401) throw new AuthError('session');
  if (!r.ok) throw new Error(`session: ${r.status}`);
  session = await r.json();
  session.accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
  // The user's archive store is a second, read-only Mail account, and a
  // personal one (a read-only share of another user's or the public
  // folders is not).
  session.archiveId = Object.keys(session.accounts).find((id) => id !== session.accountId && session.accounts[id].isPersonal &&
    session.accounts[id].isReadOnly && session.accounts[id].accountCapabilities['urn:ietf:params:jmap:mail']) || null;
  // Other users' stores shared with the user and the tenant's public
  // folders: one more Mail account each (docs/jmap.md, Sharing). A
  // public store has no owner principal.
  session.shared = Object.entries(session.accounts)
    .filter(([id, a]) => id !== session.accountId && id !== session.archiveId && a.accountCapabilities['urn:ietf:params:jmap:mail'])
    .map(([id, a]) => ({ id, name: a.name, isReadOnly: a.isReadOnly, isPublic: !a.accountCapabilities['urn:ietf:params:jmap:principals:owner'] }))
    .sort((a, b) => a.isPublic - b.isPublic || a.name.localeCompare(b.name));
  return session;
}

export function accountId() { return session && session.accountId; }
// maxObjectsInSet is the most objects one /set may name (the server
// refuses a bigger call whole, RFC 8620 §5.3).
export function maxObjectsInSet() {
  const core = session && session.capabilities && session.capabilities['urn:ietf:params:jmap:core'];
  return (core && core.maxObjectsInSet) || 100;
}
// maxObjectsInGet is the most ids one /get may name.
export function maxObjectsInGet() {
  const core = session && session.capabilities && session.capabilities['urn:ietf:params:jmap:core'];
  return (core && core.maxObjectsInGet) || 100;
}
export function archiveAccountId() { return session && session.archiveId; }
// sharedMailAccounts are the shared and public Mail accounts of the
// session ({ id, name, isReadOnly, isPublic }).
export function sharedMailAccounts() { return (session && session.shared) || []; }
// sessionStale reports whether an answer named a newer session state (a
// share given or taken away): the next getSession fetches it again.
export function sessionStale() { return !!(session && session.stale); }

// postAPI posts a JMAP request body. 429 is the server's
// maxConcurrentRequests (RFC 8620 §3.6.1): the request was not
// processed, so it is sent again after a moment (a virtualised list, its
// thread counts, push and the calendar can have several in flight).
export async function postAPI(body) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch('/jmap/api/', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    if (r.status !== 429 || attempt >= 4) return r;
    await new Promise((ok) => setTimeout(ok, 150 * 2 ** attempt));
  }
}

// api sends method calls and returns the responses by call id. A method
// error becomes an exception naming it. extra names capabilities beyond
// core, mail and submission (e.g. Sieve's).
export async function api(calls, extra = []) {
  const s = await getSession();
  const methodCalls = calls.map(([name, args, id]) => [name, { accountId: s.accountId, ...args }, id]);
  const body0 = JSON.stringify({ using: [...USING, ...extra], methodCalls });
  const r = await postAPI(body0);
  if (r.status === 401) throw new AuthError('api');
  if (!r.ok) throw new Error(`JMAP: HTTP ${r.status}`);
  const body = await r.json();
  if (session === s && body.sessionState && body.sessionState !== s.state) s.stale = true;
  const out = {};
  for (const [name, args, id] of body.methodResponses) {
    if (name === 'error') {
      // A share taken away: its account is gone from the session.
      if (args.type === 'accountNotFound') s.stale = true;
      throw new Error(`JMAP ${id}: ${args.type}${args.description ? ': ' + args.description : ''}`);
    }
    if (out[id]) out[id + '+'] = args; else out[id] = args;
  }
  return out;
}

// events calls onChange whenever the account's state moves (push,
// RFC 8620 §7.3) with the StateChange's changed map (account id → type →
// new state; null when it cannot be read). It returns a function that
// stops listening.
export function events(onChange) {
  const es = new EventSource('/jmap/eventsource/?types=*&closeafter=no&ping=60', { withCredentials: true });
  es.addEventListener('state', (e) => {
    let changed = null;
    try {
      const c = JSON.parse(e.data);
      if (c && typeof c.changed === 'object' && c.changed) changed = c.changed;
    } catch { /* not JSON: what moved is not known */ }
    onChange(changed);
  });
  return () => es.close();
}

export const LIST_PROPS = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'to', 'subject', 'receivedAt', 'preview', 'hasAttachment', 'size'];

// upload sends a file to the session's uploadUrl (RFC 8620 §6.1) with
// XMLHttpRequest, whose upload events report progress (fetch has none).
// onProgress(loaded, total) is called as bytes go out. It returns the
// XMLHttpRequest (abort() cancels) and a promise of the server's answer
// ({ blobId, type, size }).
export function upload(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = getSession().then((s) => new Promise((resolve, reject) => {
    xhr.open('POST', s.uploadUrl.replace('{accountId}', encodeURIComponent(s.accountId)));
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 401) return reject(new AuthError('upload'));
      if (xhr.status !== 201) {
        let detail = `HTTP ${xhr.status}`;
        try { detail = JSON.parse(xhr.responseText).detail || detail; } catch { /* not JSON */ }
        return reject(new Error(detail));
      }
      try { resolve(JSON.parse(xhr.responseText)); } catch (e) { reject(e); }
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.onabort = () => reject(new Error('aborted'));
    xhr.send(file);
  }));
  return { xhr, done };
}
