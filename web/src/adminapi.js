// Calls to the admin API through the session cookie: /web/admin/v1/…
// (administrators) and /web/self/… (the user's own settings). The server
// runs the admin API with the session's principal; the store decides what
// it may see and change (docs/web.md).

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(prefix, method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(prefix + path, init);
  if (r.status === 204) return null;
  let data = null;
  try { data = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new APIError(r.status, (data && (data.error === 'crossOrigin' || !data.message ? data.error : data.message)) || `${r.status}`);
  return data;
}

// admin calls the admin API: admin('GET', '/v1/users').
export const admin = (method, path, body) => call('/web/admin', method, path, body);
// self calls the user's own settings: self('GET', 'oof').
export const self = (method, path, body) => call('/web/self/', method, path, body);

export async function changePassword(current, next) {
  return call('', 'POST', '/web/api/password', { current, new: next });
}

// size formats bytes for people.
export function size(n) {
  if (!n || n < 0) return '0 B';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}
