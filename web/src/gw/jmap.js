// JMAP for Calendars, Contacts and Tasks (docs/jmap.md): the same
// session cookie and endpoint as mail, with the groupware capabilities.
import { getSession, AuthError } from '../jmap.js';

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:calendars', 'urn:ietf:params:jmap:contacts', 'urn:ietf:params:jmap:tasks', 'urn:ietf:params:jmap:principals'];
// Optional: named in using only when the server has them.
const OPTIONAL = ['urn:ietf:params:jmap:principals', 'urn:ietf:params:jmap:tasks'];

export async function gw(calls) {
  const s = await getSession();
  const acct = s.primaryAccounts['urn:ietf:params:jmap:calendars'] || s.accountId;
  const methodCalls = calls.map(([name, args, id]) => [name, { accountId: acct, ...args }, id]);
  const r = await fetch('/jmap/api/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ using: USING.filter((u) => !OPTIONAL.includes(u) || s.capabilities[u]), methodCalls }),
  });
  if (r.status === 401) throw new AuthError('api');
  if (!r.ok) throw new Error(`JMAP: HTTP ${r.status}`);
  const body = await r.json();
  const out = {};
  for (const [name, args, id] of body.methodResponses) {
    if (name === 'error') throw new Error(`JMAP ${id}: ${args.type}${args.description ? ': ' + args.description : ''}`);
    out[id] = args;
  }
  return out;
}

// setOne runs one /set and throws when the server refused the object.
export async function setOne(type, args) {
  const r = (await gw([[type + '/set', args, 's']])).s;
  for (const k of ['notCreated', 'notUpdated', 'notDestroyed']) {
    const bad = r[k] && Object.values(r[k])[0];
    if (bad) throw new Error(`${bad.type}${bad.description ? ': ' + bad.description : ''}${bad.properties ? ' (' + bad.properties.join(', ') + ')' : ''}`);
  }
  return r;
}
