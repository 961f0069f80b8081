// JMAP for Calendars, Contacts and Tasks (docs/jmap.md): the same
// session cookie and endpoint as mail, with the groupware capabilities.
import { getSession, AuthError, postAPI } from '../jmap.js';

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:calendars', 'urn:ietf:params:jmap:contacts', 'urn:ietf:params:jmap:tasks', 'urn:ietf:params:jmap:principals'];
// Optional: named in using only when the server has them.
const OPTIONAL = ['urn:ietf:params:jmap:principals', 'urn:ietf:params:jmap:tasks'];

export async function gw(calls) {
  const out = await gwAll(calls);
  for (const [id, args] of Object.entries(out)) {
    if (args && args.methodError) throw new Error(`JMAP ${id}: ${args.type}${args.description ? ': ' + args.description : ''}`);
  }
  return out;
}

// gwAll is gw without the exception: a method error is its call's
// answer, marked methodError (a shared account gone, a forbidden
// free/busy lookup), so the other calls' answers still count.
export async function gwAll(calls) {
  const s = await getSession();
  const acct = s.primaryAccounts['urn:ietf:params:jmap:calendars'] || s.accountId;
  const methodCalls = calls.map(([name, args, id]) => [name, { accountId: acct, ...args }, id]);
  // Sent again on 429, as mail's calls are (postAPI).
  const r = await postAPI(JSON.stringify({ using: USING.filter((u) => !OPTIONAL.includes(u) || s.capabilities[u]), methodCalls }));
  if (r.status === 401) throw new AuthError('api');
  if (!r.ok) throw new Error(`JMAP: HTTP ${r.status}`);
  const body = await r.json();
  const out = {};
  for (const [name, args, id] of body.methodResponses) {
    out[id] = name === 'error' ? { ...args, methodError: true } : args;
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
