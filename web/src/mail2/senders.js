// The senders whose mail shows its remote content without asking ("Always
// show from this sender"), kept on the server per user
// (/web/api/prefs/remote-senders) and revocable in Settings. Everyone
// else's stays blocked until allowed for the one message.
import { signal } from '@preact/signals';

export const trustedSenders = signal(new Set());

async function call(method, body) {
  const r = await fetch('/web/api/prefs/remote-senders', {
    method, credentials: 'same-origin',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new Error((data && (data.message || data.error)) || String(r.status));
  trustedSenders.value = new Set(data.senders || []);
  return data.senders || [];
}

// loadTrusted reads the list; a failure leaves it empty (blocked).
export async function loadTrusted() {
  try { await call('GET'); } catch { /* everything stays blocked */ }
}
export const trustSender = (addr) => call('POST', { add: addr });
export const untrustSender = (addr) => call('POST', { remove: addr });

// senderOf is the one address of a message's From (null when it has none
// or several: trust goes to one sender).
export function senderOf(m) {
  const f = m && m.from;
  return f && f.length === 1 && f[0].email ? f[0].email.toLowerCase() : null;
}
export const isTrusted = (m) => { const a = senderOf(m); return !!a && trustedSenders.value.has(a); };
