// Settings → Sharing: who the user's own mail folders, calendars and
// address books are shared with and with which rights; add a user of the
// tenant (suggested from /web/api/directory, resolved to a principal with
// Principal/query) with a preset — read, secretary (read and write,
// Kopano's "secretary"), owner (everything, sharing included) — or custom
// rights; change and remove. All JMAP sharing (RFC 9670): shareWith on
// Mailbox/set, Calendar/set and AddressBook/set, which the server keeps
// as the folders' ACLs (the entries IMAP GETACL shows; docs/jmap.md,
// "Sharing"). A refusal shows the server's error.
import { useEffect, useRef } from 'preact/hooks';
import { signal, useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { getSession, AuthError, postAPI } from '../jmap.js';
import '../sharing/strings.js';

const CORE = 'urn:ietf:params:jmap:core';
const MAIL = 'urn:ietf:params:jmap:mail';
const CAL = 'urn:ietf:params:jmap:calendars';
const CARD = 'urn:ietf:params:jmap:contacts';
const PRINC = 'urn:ietf:params:jmap:principals';

// The three kinds of shareable folders: their JMAP type, capability, the
// rights of their shareWith objects (RFC 9670 §1.4.3; RFC 8621 §2 for
// mail) and the presets as sets of those rights.
export const kinds = {
  Mailbox: {
    cap: MAIL, group: 'sharingMail',
    rights: ['mayReadItems', 'mayAddItems', 'mayRemoveItems', 'maySetSeen', 'maySetKeywords', 'mayCreateChild', 'mayRename', 'mayDelete', 'maySubmit', 'mayShare'],
    presets: {
      read: ['mayReadItems'],
      secretary: ['mayReadItems', 'mayAddItems', 'mayRemoveItems', 'maySetSeen', 'maySetKeywords'],
    },
  },
  Calendar: {
    cap: CAL, group: 'sharingCalendars',
    rights: ['mayReadFreeBusy', 'mayReadItems', 'mayWriteAll', 'mayWriteOwn', 'mayUpdatePrivate', 'mayRSVP', 'mayShare', 'mayDelete'],
    presets: {
      read: ['mayReadFreeBusy', 'mayReadItems'],
      secretary: ['mayReadFreeBusy', 'mayReadItems', 'mayWriteAll', 'mayWriteOwn', 'mayUpdatePrivate', 'mayRSVP'],
    },
  },
  AddressBook: {
    cap: CARD, group: 'sharingAddressBooks',
    rights: ['mayRead', 'mayWrite', 'mayShare', 'mayDelete'],
    presets: { read: ['mayRead'], secretary: ['mayRead', 'mayWrite'] },
  },
};
for (const k of Object.values(kinds)) k.presets.owner = k.rights;
const PRESETS = ['read', 'secretary', 'owner'];

// rightsObject is the complete rights object of a kind with the rights
// on set.
export function rightsObject(kind, on) {
  return Object.fromEntries(kinds[kind].rights.map((r) => [r, on.includes(r)]));
}

// presetOf names the preset a rights object is, or 'custom'.
export function presetOf(kind, obj) {
  const on = kinds[kind].rights.filter((r) => obj && obj[r]);
  return PRESETS.find((p) => {
    const want = kinds[kind].presets[p];
    return want.length === on.length && want.every((r) => on.includes(r));
  }) || 'custom';
}

// call sends JMAP method calls with the capabilities the session has and
// returns the responses by call id; a method error throws.
async function call(calls) {
  const s = await getSession();
  const using = [CORE, MAIL, CAL, CARD, PRINC].filter((u) => u === CORE || s.capabilities[u]);
  const r = await postAPI(JSON.stringify({ using, methodCalls: calls }));
  if (r.status === 401) throw new AuthError('api');
  if (!r.ok) throw new Error(`JMAP: HTTP ${r.status}`);
  const out = {};
  for (const [name, args, id] of (await r.json()).methodResponses) {
    if (name === 'error') throw new Error(`${args.type}${args.description ? ': ' + args.description : ''}`);
    out[id] = args;
  }
  return out;
}

const acctFor = (s, cap) => s.primaryAccounts[cap] || s.accountId;

// folderPath is a mailbox's name with its parents', "Clients/Acme".
function folderPath(m, byId) {
  const parts = [m.name];
  for (let p = m.parentId, n = 0; p && byId.has(p) && n < 20; p = byId.get(p).parentId, n++) parts.unshift(byId.get(p).name);
  return parts.join('/');
}

// load reads the user's own shareable folders ({ kind, id, name,
// shareWith }, those whose myRights allow sharing) and the principals
// named in their shareWith (id → { name, email }).
async function load() {
  const s = await getSession();
  const calls = [['Mailbox/get', { accountId: acctFor(s, MAIL), ids: null, properties: ['id', 'name', 'parentId', 'role', 'myRights', 'shareWith'] }, 'Mailbox']];
  if (s.capabilities[CAL]) calls.push(['Calendar/get', { accountId: acctFor(s, CAL), ids: null, properties: ['id', 'name', 'myRights', 'shareWith'] }, 'Calendar']);
  if (s.capabilities[CARD]) calls.push(['AddressBook/get', { accountId: acctFor(s, CARD), ids: null, properties: ['id', 'name', 'myRights', 'shareWith'] }, 'AddressBook']);
  const r = await call(calls);
  const folders = [];
  for (const kind of Object.keys(kinds)) {
    if (!r[kind]) continue;
    const byId = new Map(r[kind].list.map((m) => [m.id, m]));
    const list = r[kind].list.filter((f) => f.myRights && f.myRights.mayShare)
      .map((f) => ({ kind, id: f.id, name: kind === 'Mailbox' ? folderPath(f, byId) : f.name, shareWith: f.shareWith || {} }));
    list.sort((a, b) => a.name.localeCompare(b.name));
    folders.push(...list);
  }
  const ids = [...new Set(folders.flatMap((f) => Object.keys(f.shareWith)))];
  const people = new Map();
  if (ids.length && s.capabilities[PRINC]) {
    const p = await call([['Principal/get', { accountId: acctFor(s, PRINC), ids, properties: ['id', 'name', 'email', 'type'] }, 'p']]);
    for (const x of p.p.list) people.set(x.id, x);
  }
  return { folders, people };
}

// principalFor finds the principal of an address (or login) typed or
// picked: Principal/query by email, then the exact match.
async function principalFor(who) {
  const s = await getSession();
  const acct = acctFor(s, PRINC);
  const r = await call([
    ['Principal/query', { accountId: acct, filter: { text: who }, limit: 50 }, 'q'],
    ['Principal/get', { accountId: acct, '#ids': { resultOf: 'q', name: 'Principal/query', path: '/ids' }, properties: ['id', 'name', 'email', 'type'] }, 'g'],
  ]);
  const w = who.trim().toLowerCase();
  return r.g.list.find((p) => (p.email || '').toLowerCase() === w) || r.g.list.find((p) => (p.name || '').toLowerCase() === w) ||
    (r.g.list.length === 1 ? r.g.list[0] : null);
}

// setShare gives principal pid the rights object (null: removes it) on a
// folder; a refused update throws the server's SetError.
async function setShare(f, pid, rights) {
  const s = await getSession();
  const r = await call([[f.kind + '/set', { accountId: acctFor(s, kinds[f.kind].cap), update: { [f.id]: { ['shareWith/' + pid]: rights } } }, 's']]);
  const bad = r.s.notUpdated && r.s.notUpdated[f.id];
  if (bad) throw new Error(`${bad.type}${bad.description ? ': ' + bad.description : ''}`);
}

const personName = (p, pid) => (p ? p.name || p.email || pid : pid);

// RightsBoxes are the checkboxes of a kind's rights (custom rights).
function RightsBoxes({ kind, value, onChange, label }) {
  return (
    <fieldset class="share-rights">
      <legend>{label}</legend>
      {kinds[kind].rights.map((r) => (
        <label class="inline" key={r}>
          <input type="checkbox" name={r} checked={!!value[r]} onChange={(e) => onChange({ ...value, [r]: e.currentTarget.checked })} />
          {' '}{t('right_' + r)}
        </label>
      ))}
    </fieldset>
  );
}

function PresetSelect({ id, value, onChange, label }) {
  return (
    <select id={id} aria-label={label} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      {[...PRESETS, 'custom'].map((p) => <option value={p}>{t('sharingPreset_' + p)}</option>)}
    </select>
  );
}

// UserInput is a combobox (WAI-ARIA 1.2, list autocomplete) suggesting
// the tenant's users from /web/api/directory.
function UserInput({ id, value }) {
  const items = useSignal([]);
  const active = useSignal(-1);
  const timer = useRef(0);
  const asked = useRef(0);
  const input = useRef(null);
  const listId = id + '-list';
  const close = () => { items.value = []; active.value = -1; };
  const ask = (q) => {
    clearTimeout(timer.current);
    if (q.trim().length < 1) { close(); return; }
    timer.current = setTimeout(async () => {
      const n = ++asked.current;
      const r = await fetch('/web/api/directory?q=' + encodeURIComponent(q.trim()), { credentials: 'same-origin' }).then((x) => (x.ok ? x.json() : []), () => []);
      if (n !== asked.current) return;
      items.value = r.slice(0, 8);
      active.value = -1;
    }, 150);
  };
  const pick = (u) => { value.value = u.email; input.current.value = u.email; close(); };
  const onKey = (e) => {
    const n = items.value.length;
    if (!n) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); active.value = (active.value + 1) % n; }
    else if (e.key === 'ArrowUp') { e.preventDefault(); active.value = (active.value - 1 + n) % n; }
    else if (e.key === 'Enter' && active.value >= 0) { e.preventDefault(); pick(items.value[active.value]); }
    else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(); }
  };
  const open = items.value.length > 0;
  return (
    <div class="combo">
      <input ref={input} id={id} name="who" required autocomplete="off" role="combobox" aria-autocomplete="list"
        aria-expanded={open ? 'true' : 'false'} aria-controls={listId}
        aria-activedescendant={open && active.value >= 0 ? `${listId}-${active.value}` : undefined}
        onInput={(e) => { value.value = e.currentTarget.value; ask(e.currentTarget.value); }}
        onKeyDown={onKey} onBlur={() => setTimeout(close, 200)} />
      <ul id={listId} role="listbox" aria-label={t('sharingUser')} class="suggestions" hidden={!open}>
        {items.value.map((u, k) => (
          <li id={`${listId}-${k}`} role="option" aria-selected={k === active.value ? 'true' : 'false'}
            onMouseDown={(e) => { e.preventDefault(); pick(u); }}>
            {u.name ? `${u.name} <${u.email}>` : u.email}
          </li>
        ))}
      </ul>
    </div>
  );
}

const data = signal(null);

export function Sharing() {
  const sel = useSignal('');     // kind:id of the folder shown
  const msg = useSignal('');     // the last change, or the server's refusal
  const err = useSignal(false);
  const custom = useSignal({});  // pid → true: the row shows its checkboxes
  const addPreset = useSignal('read');
  const addRights = useSignal({});
  const who = useSignal('');
  const busy = useSignal(false);
  const reload = () => load().then((d) => { data.value = d; }, (e) => { err.value = true; msg.value = t('sharingRefused', { msg: e.message }); });
  useEffect(() => { reload(); }, []);
  const d = data.value;
  if (!d) return <section class="admin-form wide" aria-labelledby="h-sharing"><h2 id="h-sharing">{t('sharingTitle')}</h2><p role="status">{msg.value || t('loading')}</p></section>;
  const f = d.folders.find((x) => `${x.kind}:${x.id}` === sel.value) || d.folders[0];
  const said = (ok, text) => { err.value = !ok; msg.value = text; };
  const change = async (pid, rights, text) => {
    busy.value = true;
    try {
      await setShare(f, pid, rights);
      said(true, text);
    } catch (e) {
      said(false, t('sharingRefused', { msg: e.message }));
    }
    busy.value = false;
    await reload();
  };
  const add = async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const q = who.value.trim();
    if (!q) return;
    busy.value = true;
    let p = null;
    try { p = await principalFor(q); } catch (e) { busy.value = false; said(false, t('sharingRefused', { msg: e.message })); return; }
    busy.value = false;
    if (!p) { said(false, t('sharingNoUser', { who: q })); return; }
    const rights = addPreset.value === 'custom' ? rightsObject(f.kind, kinds[f.kind].rights.filter((r) => addRights.value[r])) : rightsObject(f.kind, kinds[f.kind].presets[addPreset.value]);
    await change(p.id, rights, t('sharingAdded', { folder: f.name, name: personName(p, p.id) }));
    if (!err.value) { form.reset(); who.value = ''; }
  };
  const rows = f ? Object.entries(f.shareWith) : [];
  return (
    <section class="admin-form wide sharing" aria-labelledby="h-sharing">
      <h2 id="h-sharing">{t('sharingTitle')}</h2>
      <p class="muted">{t('sharingHelp')}</p>
      <p class={err.value ? 'error' : 'note'} role={err.value ? 'alert' : 'status'} aria-live="polite">{msg.value}</p>
      {!f ? <p>{t('sharingNothing')}</p> : (
        <>
          <label for="share-what">{t('sharingWhat')}</label>
          <select id="share-what" value={`${f.kind}:${f.id}`} onChange={(e) => { sel.value = e.currentTarget.value; custom.value = {}; }}>
            {Object.keys(kinds).map((kind) => {
              const list = d.folders.filter((x) => x.kind === kind);
              return list.length > 0 && (
                <optgroup label={t(kinds[kind].group)}>
                  {list.map((x) => {
                    const n = Object.keys(x.shareWith).length;
                    return <option value={`${x.kind}:${x.id}`}>{n ? t('sharingPeopleN', { name: x.name, n }) : x.name}</option>;
                  })}
                </optgroup>
              );
            })}
          </select>
          {rows.length === 0 ? <p>{t('sharingNone')}</p> : (
            <table class="admin-table share-table">
              <thead><tr><th scope="col">{t('sharingPerson')}</th><th scope="col">{t('sharingRights')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
              <tbody>
                {rows.map(([pid, rights]) => {
                  const p = d.people.get(pid);
                  const name = personName(p, pid);
                  const preset = custom.value[pid] ? 'custom' : presetOf(f.kind, rights);
                  const label = t('sharingRightsOf', { name });
                  return (
                    <tr key={pid}>
                      <th scope="row">{name}{p && p.email && p.name ? <div class="muted">{p.email}</div> : null}</th>
                      <td>
                        <PresetSelect id={`share-${pid}`} label={label} value={preset} onChange={(v) => {
                          if (v === 'custom') { custom.value = { ...custom.value, [pid]: true }; return; }
                          custom.value = { ...custom.value, [pid]: false };
                          change(pid, rightsObject(f.kind, kinds[f.kind].presets[v]), t('sharingChanged', { name, folder: f.name }));
                        }} />
                        {preset === 'custom' && (
                          <RightsBoxes kind={f.kind} value={rights} label={label}
                            onChange={(v) => { custom.value = { ...custom.value, [pid]: true }; change(pid, rightsObject(f.kind, kinds[f.kind].rights.filter((r) => v[r])), t('sharingChanged', { name, folder: f.name })); }} />
                        )}
                      </td>
                      <td><button class="danger" disabled={busy.value} onClick={() => change(pid, null, t('sharingRemoved', { name, folder: f.name }))}>
                        {t('sharingRemove')}<span class="sr"> {name}</span></button></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <form class="share-add" onSubmit={add} aria-labelledby="h-share-add">
            <h3 id="h-share-add">{t('sharingAddTitle')}</h3>
            <label for="share-who">{t('sharingUser')}</label>
            <UserInput id="share-who" value={who} />
            <label for="share-preset">{t('sharingRights')}</label>
            <PresetSelect id="share-preset" label={t('sharingRights')} value={addPreset.value} onChange={(v) => { addPreset.value = v; }} />
            {addPreset.value === 'custom' && <RightsBoxes kind={f.kind} value={addRights.value} label={t('sharingCustomRights')} onChange={(v) => { addRights.value = v; }} />}
            <button class="primary" type="submit" disabled={busy.value}>{t('sharingAdd')}</button>
          </form>
        </>
      )}
    </section>
  );
}
