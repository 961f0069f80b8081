// Contacts (issue 12 item 4): address books, a list, a card's details,
// and create, edit and delete of ContactCards over JMAP for Contacts
// (RFC 9610, JSContact RFC 9553; docs/jmap.md); contact groups (cards of
// kind "group" whose members are other cards' uids); the tenant's
// directory (/web/api/directory, read-only, paged). A chunk of its own,
// loaded on demand.
import { signal, computed } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { t } from '../i18n.js';
import './strings.js';
import { events as pushEvents } from '../jmap.js';
import { gw, setOne } from '../gw/jmap.js';
import { TopBar, Modal } from '../gw/lazy.jsx';

const books = signal([]);
const book = signal(null);
const cards = signal([]);
const selected = signal(null);
const editing = signal(null);
const filter = signal('');
const toast = signal('');
const grouping = signal(null); // the group editor's draft
const newBook = signal(null); // the new address book's name while its form is open

// DIRECTORY is the id of the Directory pseudo address book: the tenant's
// global address list, read from /web/api/directory a page at a time.
const DIRECTORY = 'directory';
const DIR_PAGE = 50;
const dir = signal({ q: '', total: 0, entries: [] });
const dirSel = signal(null); // the selected entry's address

function say(s) { toast.value = s; setTimeout(() => { if (toast.value === s) toast.value = ''; }, 4000); }
function fail(e) { say(t('error', { error: e.message || String(e) })); }

const comp = (c, kind) => ((c.name && c.name.components) || []).filter((x) => x.kind === kind).map((x) => x.value).join(' ');
export function displayName(c) {
  if (c.name && c.name.full) return c.name.full;
  const n = [comp(c, 'given'), comp(c, 'surname')].filter(Boolean).join(' ');
  if (n) return n;
  const o = Object.values(c.organizations || {})[0];
  const e = Object.values(c.emails || {})[0];
  return (o && o.name) || (e && e.address) || t('noName');
}
const vals = (m, k) => Object.values(m || {}).map((x) => x[k]).filter(Boolean);

async function load() {
  const r = await gw([['AddressBook/get', {}, 'b']]);
  books.value = r.b.list.slice().sort((a, b) => (b.isDefault ? 1 : 0) - (a.isDefault ? 1 : 0) || a.name.localeCompare(b.name));
  if (book.value === DIRECTORY) return;
  if (!book.value || !books.value.find((b) => b.id === book.value)) book.value = books.value[0] && books.value[0].id;
  await loadCards();
}

// dirLoads counts directory requests: an answer overtaken by a newer
// query is dropped.
let dirLoads = 0;
// loadDirectory asks for the page at offset of the entries matching q
// (append: after those already shown).
async function loadDirectory(q, offset) {
  const mine = ++dirLoads;
  const r = await fetch(`/web/api/directory?browse=1&limit=${DIR_PAGE}&offset=${offset}&q=${encodeURIComponent(q.trim())}`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const page = await r.json();
  if (mine !== dirLoads) return;
  dir.value = { q, total: page.total, entries: offset ? [...dir.value.entries, ...page.entries] : page.entries };
}
let dirTimer = 0;
function searchDirectory(q) {
  dir.value = { ...dir.value, q };
  clearTimeout(dirTimer);
  dirTimer = setTimeout(() => loadDirectory(q, 0).catch(fail), 200);
}

// writableBook is the address book new cards from the directory go to:
// the open one if it is the user's, else the default one.
function writableBook() {
  const ok = (b) => b && (!b.myRights || b.myRights.mayWrite !== false);
  return [books.value.find((b) => b.id === book.value), books.value.find((b) => b.isDefault), ...books.value].find(ok);
}

// cardLoads counts loadCards calls: an answer for an address book the
// user has already left (or a refresh overtaken by a newer one) is dropped.
let cardLoads = 0;

async function loadCards() {
  const mine = ++cardLoads;
  if (!book.value || book.value === DIRECTORY) { cards.value = []; return; }
  const r = await gw([
    ['ContactCard/query', { filter: { inAddressBook: book.value } }, 'q'],
    ['ContactCard/get', { '#ids': { resultOf: 'q', name: 'ContactCard/query', path: '/ids' } }, 'g'],
  ]);
  if (mine !== cardLoads) return;
  cards.value = r.g.list.slice().sort((a, b) => displayName(a).localeCompare(displayName(b)));
  if (selected.value && !cards.value.find((c) => c.id === selected.value)) selected.value = null;
}
const reload = () => load().catch(fail);

const shown = computed(() => {
  const f = filter.value.trim().toLowerCase();
  if (!f) return cards.value;
  return cards.value.filter((c) => [displayName(c), ...vals(c.emails, 'address'), ...vals(c.phones, 'number'), ...vals(c.organizations, 'name')].join(' ').toLowerCase().includes(f));
});

// The editor edits a card's first postal address and its birthday; the
// other addresses and anniversaries stay as they are.
const ADR = [['street', 'name'], ['locality', 'locality'], ['postcode', 'postcode'], ['region', 'region'], ['country', 'country']];
const firstKey = (m, ok = () => true) => Object.keys(m || {}).find((k) => ok(m[k]));
const birthKey = (c) => firstKey(c.anniversaries, (a) => a.kind === 'birth');
const pad = (n, w) => String(n).padStart(w, '0');
function birthdayOf(c) {
  const k = birthKey(c);
  const d = k && c.anniversaries[k].date;
  if (!d) return '';
  if (d['@type'] === 'Timestamp' && d.utc) return d.utc.slice(0, 10);
  return d.year && d.month && d.day ? `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}` : '';
}
const adrPart = (a, kind) => ((a && a.components) || []).filter((x) => x.kind === kind || (kind === 'name' && x.kind === 'number')).map((x) => x.value).join(' ');
function addressLine(a) {
  if (a.full) return a.full;
  return [adrPart(a, 'name'), [adrPart(a, 'postcode'), adrPart(a, 'locality')].filter(Boolean).join(' '), adrPart(a, 'region'), adrPart(a, 'country')].filter(Boolean).join('\n');
}

function draftOf(c) {
  if (!c) return { id: null, given: '', surname: '', emails: '', phones: '', org: '', note: '', street: '', locality: '', postcode: '', region: '', country: '', birthday: '' };
  const a = c.addresses && c.addresses[firstKey(c.addresses)];
  const d = {
    id: c.id, card: c, given: comp(c, 'given'), surname: comp(c, 'surname'),
    emails: vals(c.emails, 'address').join('\n'), phones: vals(c.phones, 'number').join('\n'),
    org: vals(c.organizations, 'name')[0] || '', note: vals(c.notes, 'note').join('\n'),
    birthday: birthdayOf(c),
  };
  for (const [k, kind] of ADR) d[k] = adrPart(a, kind);
  return d;
}

const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);
const mapOf = (list, prefix, f) => (list.length ? Object.fromEntries(list.map((v, i) => [prefix + (i + 1), f(v)])) : null);

// cardProps turns an editor draft into the ContactCard properties it
// edits (null: remove).
function cardProps(d) {
  const components = [];
  if (d.given.trim()) components.push({ '@type': 'NameComponent', kind: 'given', value: d.given.trim() });
  if (d.surname.trim()) components.push({ '@type': 'NameComponent', kind: 'surname', value: d.surname.trim() });
  const full = components.map((c) => c.value).join(' ');
  const props = {
    name: components.length ? { '@type': 'Name', components, full } : null,
    emails: mapOf(lines(d.emails), 'e', (address) => ({ '@type': 'EmailAddress', address })),
    phones: mapOf(lines(d.phones), 'p', (number) => ({ '@type': 'Phone', number })),
    organizations: d.org.trim() ? { o1: { '@type': 'Organization', name: d.org.trim() } } : null,
    notes: d.note.trim() ? { n1: { '@type': 'Note', note: d.note.trim() } } : null,
  };
  const old = d.card || {};
  const adrComps = ADR.filter(([k]) => (d[k] || '').trim()).map(([k, kind]) => ({ '@type': 'AddressComponent', kind, value: d[k].trim() }));
  const adrKey = firstKey(old.addresses) || 'a1';
  const addresses = { ...(old.addresses || {}) };
  if (adrComps.length) addresses[adrKey] = { ...(addresses[adrKey] || {}), '@type': 'Address', components: adrComps, full: undefined };
  else delete addresses[adrKey];
  props.addresses = Object.keys(addresses).length ? addresses : null;
  const bKey = birthKey(old) || 'y1';
  const anniversaries = { ...(old.anniversaries || {}) };
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d.birthday || '');
  if (m) anniversaries[bKey] = { '@type': 'Anniversary', kind: 'birth', date: { '@type': 'PartialDate', year: +m[1], month: +m[2], day: +m[3] } };
  else delete anniversaries[bKey];
  props.anniversaries = Object.keys(anniversaries).length ? anniversaries : null;
  return props;
}

// newCard is a new card in the open address book from a draft (a
// contact's, or an imported group's: kind, name and members).
function newCard(d) {
  const props = d.kind === 'group'
    ? { name: { '@type': 'Name', full: d.given }, members: d.members.length ? Object.fromEntries(d.members.map((u) => [u, true])) : null }
    : cardProps(d);
  for (const k of Object.keys(props)) if (props[k] === null) delete props[k];
  const c = { '@type': 'Card', version: '1.0', kind: d.kind || 'individual', addressBookIds: { [book.value]: true }, ...props };
  if (d.uid) c.uid = d.uid;
  return c;
}

async function save(d) {
  if (d.id) {
    await setOne('ContactCard', { update: { [d.id]: cardProps(d) } });
    return d.id;
  }
  const r = await setOne('ContactCard', { create: { n: newCard(d) } });
  return r.created.n.id;
}

// ---- groups: cards of kind "group" whose members are other cards' uids ----
const isGroup = (c) => c.kind === 'group';
const membersOf = (g) => Object.keys(g.members || {}).filter((u) => g.members[u] === true);
function groupDraft(g) {
  return g ? { id: g.id, name: displayName(g), members: membersOf(g) } : { id: null, name: '', members: [] };
}
async function saveGroup(d) {
  const props = {
    name: { '@type': 'Name', full: d.name.trim() },
    members: d.members.length ? Object.fromEntries(d.members.map((u) => [u, true])) : null,
  };
  if (d.id) {
    await setOne('ContactCard', { update: { [d.id]: props } });
    return d.id;
  }
  if (!props.members) delete props.members;
  const r = await setOne('ContactCard', { create: { g: { '@type': 'Card', version: '1.0', kind: 'group', addressBookIds: { [book.value]: true }, ...props } } });
  return r.created.g.id;
}

// addFromDirectory copies a directory entry into one of the user's
// address books as a new card (name, address and aliases).
async function addFromDirectory(e) {
  const to = writableBook();
  if (!to) throw new Error(t('ctNoWritableBook'));
  // Not twice: a card of the book with the entry's address is enough.
  const have = await gw([
    ['ContactCard/query', { filter: { inAddressBook: to.id, email: e.email }, limit: 50 }, 'q'],
    ['ContactCard/get', { '#ids': { resultOf: 'q', name: 'ContactCard/query', path: '/ids' }, properties: ['emails'] }, 'g'],
  ]);
  if (have.g.list.some((c) => vals(c.emails, 'address').some((a) => a.toLowerCase() === e.email.toLowerCase()))) {
    say(t('ctAlreadyInContacts', { name: e.name || e.email, book: to.name }));
    return;
  }
  const parts = (e.name || '').trim().split(/\s+/).filter(Boolean);
  const surname = parts.length > 1 ? parts.pop() : '';
  const card = {
    '@type': 'Card', version: '1.0', kind: e.kind === 'room' ? 'location' : e.kind === 'equipment' ? 'device' : 'individual',
    addressBookIds: { [to.id]: true },
    emails: Object.fromEntries([e.email, ...(e.aliases || [])].map((address, i) => ['e' + (i + 1), { '@type': 'EmailAddress', address }])),
  };
  if (e.name) {
    const components = [];
    if (parts.length) components.push({ '@type': 'NameComponent', kind: 'given', value: parts.join(' ') });
    if (surname) components.push({ '@type': 'NameComponent', kind: 'surname', value: surname });
    card.name = { '@type': 'Name', full: e.name, components };
  }
  await setOne('ContactCard', { create: { d: card } });
  say(t('ctAddedToContacts', { name: e.name || e.email, book: to.name }));
}

// ---- vCard export and import (the fields this page edits) ----
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/([,;])/g, '\\$1');
function toVCard(c) {
  const out = ['BEGIN:VCARD', 'VERSION:4.0', `FN:${esc(displayName(c))}`, `N:${esc(comp(c, 'surname'))};${esc(comp(c, 'given'))};;;`];
  for (const a of vals(c.emails, 'address')) out.push(`EMAIL:${esc(a)}`);
  for (const p of vals(c.phones, 'number')) out.push(`TEL:${esc(p)}`);
  for (const o of vals(c.organizations, 'name')) out.push(`ORG:${esc(o)}`);
  for (const n of vals(c.notes, 'note')) out.push(`NOTE:${esc(n)}`);
  for (const a of Object.values(c.addresses || {})) out.push(`ADR:;;${['name', 'locality', 'region', 'postcode', 'country'].map((k) => esc(adrPart(a, k))).join(';')}`);
  const bday = birthdayOf(c);
  if (bday) out.push(`BDAY:${bday.replace(/-/g, '')}`);
  if (isGroup(c)) {
    out.push('KIND:group');
    for (const u of membersOf(c)) out.push(`MEMBER:${u}`);
  }
  if (c.uid) out.push(`UID:${esc(c.uid)}`);
  out.push('END:VCARD');
  return out.join('\r\n') + '\r\n';
}

function exportAll() {
  const blob = new Blob(cards.value.map(toVCard), { type: 'text/vcard' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'contacts.vcf';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const MAX_IMPORT = 1000; // cards per file
const IMPORT_BATCH = 50; // cards per ContactCard/set
// parseVCards reads FN, N, EMAIL, TEL, ORG, NOTE, ADR, BDAY, UID, KIND
// and MEMBER of each card (vCard 3's X-ADDRESSBOOKSERVER-KIND and
// -MEMBER too; folded lines joined, escapes undone); the server stores
// what it is sent. UIDs are kept, so an imported group's members are the
// imported cards.
export function parseVCards(text) {
  const unesc = (s) => s.replace(/\\([nN,;\\])/g, (m, c) => (c === 'n' || c === 'N' ? '\n' : c));
  const split = (v) => v.split(/(?<!\\);/);
  const out = [];
  let cur = null;
  for (const line of text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).split(';')[0].toUpperCase().replace(/^ITEM\d+\./, '');
    const v = line.slice(i + 1);
    if (name === 'BEGIN' && v.toUpperCase() === 'VCARD') { cur = { given: '', surname: '', emails: [], phones: [], org: '', note: '', fn: '', adr: null, birthday: '', uid: '', kind: '', members: [] }; continue; }
    if (!cur) continue;
    if (name === 'END') { out.push(cur); cur = null; if (out.length >= MAX_IMPORT) break; continue; }
    if (name === 'FN') cur.fn = unesc(v);
    else if (name === 'N') { const p = split(v); cur.surname = unesc(p[0] || ''); cur.given = unesc(p[1] || ''); }
    else if (name === 'EMAIL') cur.emails.push(unesc(v));
    else if (name === 'TEL') cur.phones.push(unesc(v.replace(/^tel:/i, '')));
    else if (name === 'ORG') cur.org = unesc(split(v)[0]);
    else if (name === 'NOTE') cur.note = unesc(v);
    else if (name === 'ADR' && !cur.adr) cur.adr = split(v).map(unesc);
    else if (name === 'BDAY') { const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(v.trim()); if (m) cur.birthday = `${m[1]}-${m[2]}-${m[3]}`; }
    else if (name === 'UID') cur.uid = unesc(v).trim();
    else if (name === 'KIND' || name === 'X-ADDRESSBOOKSERVER-KIND') cur.kind = v.trim().toLowerCase();
    else if ((name === 'MEMBER' || name === 'X-ADDRESSBOOKSERVER-MEMBER') && cur.members.length < 1000) cur.members.push(v.trim());
  }
  return out.map((c) => {
    const a = c.adr || [];
    return {
      id: null, uid: c.uid, kind: c.kind === 'group' ? 'group' : '', members: c.members,
      given: c.kind === 'group' ? c.fn : c.given || (!c.surname ? c.fn : ''), surname: c.surname,
      emails: c.emails.join('\n'), phones: c.phones.join('\n'), org: c.org, note: c.note,
      street: a[2] || '', locality: a[3] || '', region: a[4] || '', postcode: a[5] || '', country: a[6] || '', birthday: c.birthday,
    };
  });
}

// importFile creates the file's cards in batches; a card the server
// refuses (one whose UID the address book already has) is counted, not
// fatal.
async function importFile(file) {
  if (!file || file.size > 5 << 20) { fail(new Error(t('importTooBig'))); return; }
  const list = parseVCards(await file.text());
  let made = 0;
  let refused = 0;
  for (let i = 0; i < list.length; i += IMPORT_BATCH) {
    const create = Object.fromEntries(list.slice(i, i + IMPORT_BATCH).map((d, j) => ['c' + j, newCard(d)]));
    const r = (await gw([['ContactCard/set', { create }, 's']])).s;
    made += Object.keys(r.created || {}).length;
    refused += Object.keys(r.notCreated || {}).length;
  }
  say(refused ? t('ctImportedSome', { n: made, refused }) : t('imported', { n: made }));
  await loadCards();
}

const row = (label, list, href) => list.length > 0 && (
  <><dt>{label}</dt>{list.map((v) => <dd>{href ? <a href={href + v}>{v}</a> : v}</dd>)}</>
);

function DirectoryDetail() {
  const e = dir.value.entries.find((x) => x.email === dirSel.value);
  if (!e) return <p class="empty">{t('selectContact')}</p>;
  return (
    <article class="contact-detail" aria-labelledby="contact-name">
      <h2 id="contact-name">{e.name || e.email}</h2>
      <dl>
        {row(t('emails'), [e.email], 'mailto:')}
        {row(t('ctAliases'), e.aliases || [], 'mailto:')}
        {row(t('ctKind'), [t('ctKind_' + (e.kind || 'user'))])}
      </dl>
      <div class="actions start">
        <button class="primary" onClick={() => addFromDirectory(e).catch(fail)}>{t('ctAddToContacts')}</button>
      </div>
    </article>
  );
}

function Detail() {
  if (book.value === DIRECTORY) return <DirectoryDetail />;
  const c = cards.value.find((x) => x.id === selected.value);
  if (!c) return <p class="empty">{t('selectContact')}</p>;
  const byUid = new Map(cards.value.map((x) => [x.uid, x]));
  const members = isGroup(c) ? membersOf(c).map((u) => byUid.get(u)).filter(Boolean) : [];
  const bday = birthdayOf(c);
  return (
    <article class="contact-detail" aria-labelledby="contact-name">
      <h2 id="contact-name">{displayName(c)}</h2>
      {isGroup(c) && (
        <>
          <p class="muted">{t('ctGroupN', { n: membersOf(c).length })}</p>
          <h3>{t('ctGroupMembers')}</h3>
          <ul class="group-members">
            {members.map((m) => <li><button class="link" onClick={() => { selected.value = m.id; }}>{displayName(m)}</button> <span class="muted">{vals(m.emails, 'address')[0] || ''}</span></li>)}
          </ul>
        </>
      )}
      <dl>
        {row(t('emails'), vals(c.emails, 'address'), 'mailto:')}
        {row(t('phones'), vals(c.phones, 'number'), 'tel:')}
        {row(t('ctAddress'), Object.values(c.addresses || {}).map(addressLine).filter(Boolean))}
        {row(t('ctBirthday'), bday ? [bday] : [])}
        {row(t('organization'), vals(c.organizations, 'name'))}
        {row(t('notes'), vals(c.notes, 'note'))}
      </dl>
      <div class="actions start">
        <button onClick={() => { if (isGroup(c)) grouping.value = groupDraft(c); else editing.value = draftOf(c); }}>{t('edit')}</button>
        <button class="danger" onClick={async () => {
          if (!confirm(t('deleteContactQ', { name: displayName(c) }))) return;
          try { await setOne('ContactCard', { destroy: [c.id] }); selected.value = null; await loadCards(); } catch (e) { fail(e); }
        }}>{t('delete')}</button>
      </div>
    </article>
  );
}

function Editor() {
  const d = editing.value;
  const set = (k) => (ev) => { editing.value = { ...editing.value, [k]: ev.currentTarget.value }; };
  const close = () => { editing.value = null; };
  const f = (k, label, multi) => (
    <div class="field">
      <label for={'ct-' + k}>{label}</label>
      {multi ? <textarea id={'ct-' + k} rows="2" value={d[k]} onInput={set(k)} /> : <input id={'ct-' + k} value={d[k]} onInput={set(k)} />}
    </div>
  );
  return (
    <Modal title={d.id ? t('editContact') : t('newContact')} onClose={close}>
      <form class="contact-form" onSubmit={async (ev) => {
        ev.preventDefault();
        try { const id = await save(d); close(); await loadCards(); selected.value = id; say(t('contactSaved')); } catch (e) { fail(e); }
      }}>
        {f('given', t('givenName'))}
        {f('surname', t('surname'))}
        {f('emails', t('emailsOnePerLine'), true)}
        {f('phones', t('phonesOnePerLine'), true)}
        <fieldset class="adr">
          <legend>{t('ctAddress')}</legend>
          {f('street', t('ctStreet'))}
          {f('postcode', t('ctPostcode'))}
          {f('locality', t('ctLocality'))}
          {f('region', t('ctRegion'))}
          {f('country', t('ctCountry'))}
        </fieldset>
        <div class="field">
          <label for="ct-birthday">{t('ctBirthday')}</label>
          <input id="ct-birthday" type="date" value={d.birthday} onInput={set('birthday')} />
        </div>
        {f('org', t('organization'))}
        {f('note', t('notes'), true)}
        <div class="actions">
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary">{t('save')}</button>
        </div>
      </form>
    </Modal>
  );
}

function GroupEditor() {
  const d = grouping.value;
  const close = () => { grouping.value = null; };
  const candidates = cards.value.filter((c) => !isGroup(c) && c.uid && c.id !== d.id);
  const toggle = (uid) => (ev) => {
    const on = ev.currentTarget.checked;
    grouping.value = { ...grouping.value, members: on ? [...grouping.value.members, uid] : grouping.value.members.filter((u) => u !== uid) };
  };
  return (
    <Modal title={d.id ? t('ctEditGroup') : t('ctNewGroup')} onClose={close}>
      <form class="contact-form" onSubmit={async (ev) => {
        ev.preventDefault();
        try { const id = await saveGroup(d); close(); await loadCards(); selected.value = id; say(t('contactSaved')); } catch (e) { fail(e); }
      }}>
        <div class="field">
          <label for="grp-name">{t('ctGroupName')}</label>
          <input id="grp-name" required value={d.name} onInput={(ev) => { grouping.value = { ...grouping.value, name: ev.currentTarget.value }; }} />
        </div>
        <fieldset class="group-pick">
          <legend>{t('ctGroupMembers')}</legend>
          {candidates.length === 0 && <p class="empty">{t('ctGroupNoCandidates')}</p>}
          {candidates.map((c) => (
            <label><input type="checkbox" checked={d.members.includes(c.uid)} onChange={toggle(c.uid)} /> {displayName(c)} <span class="muted">{vals(c.emails, 'address')[0] || ''}</span></label>
          ))}
        </fieldset>
        <div class="actions">
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary">{t('save')}</button>
        </div>
      </form>
    </Modal>
  );
}

function NewBook() {
  const close = () => { newBook.value = null; };
  return (
    <Modal title={t('ctNewBook')} onClose={close}>
      <form class="contact-form" onSubmit={async (ev) => {
        ev.preventDefault();
        const name = newBook.value.trim();
        try {
          const r = await setOne('AddressBook', { create: { b: { name } } });
          close();
          book.value = r.created.b.id;
          selected.value = null;
          await load();
          say(t('ctBookCreated', { name }));
        } catch (e) { fail(e); }
      }}>
        <div class="field">
          <label for="book-name">{t('ctBookName')}</label>
          <input id="book-name" required maxLength={255} value={newBook.value} onInput={(ev) => { newBook.value = ev.currentTarget.value; }} />
        </div>
        <div class="actions">
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary">{t('ctCreate')}</button>
        </div>
      </form>
    </Modal>
  );
}

function DirectoryList() {
  const d = dir.value;
  return (
    <>
      <input type="search" aria-label={t('ctDirectorySearch')} placeholder={t('ctDirectorySearch')} value={d.q} onInput={(e) => searchDirectory(e.currentTarget.value)} />
      <p class="muted" aria-live="polite">{t('ctDirectoryCount', { shown: d.entries.length, total: d.total })}</p>
      {d.entries.length === 0 ? <p class="empty">{t('noContacts')}</p> : (
        <ul>
          {d.entries.map((e) => (
            <li><button class="contact-row" aria-current={e.email === dirSel.value ? 'true' : undefined} onClick={() => { dirSel.value = e.email; selected.value = e.email; }}>
              <span class="name">{e.name || e.email}</span>
              <span class="muted">{e.email}{e.kind && e.kind !== 'user' ? ' · ' + t('ctKind_' + e.kind) : ''}</span>
            </button></li>
          ))}
        </ul>
      )}
      {d.entries.length < d.total && <button onClick={() => loadDirectory(d.q, d.entries.length).catch(fail)}>{t('ctLoadMore')}</button>}
    </>
  );
}

// pickBook opens an address book or the directory (the side list, or
// on a phone the select above the list).
function pickBook(id) {
  if (id === DIRECTORY) { openDirectory(); return; }
  book.value = id;
  selected.value = null;
  loadCards().catch(fail);
}

function openDirectory() {
  book.value = DIRECTORY;
  selected.value = null;
  dirSel.value = null;
  cards.value = [];
  loadDirectory(dir.value.q, 0).catch(fail);
}

export default function Contacts() {
  useEffect(() => {
    reload();
    let timer;
    return pushEvents(() => { clearTimeout(timer); timer = setTimeout(reload, 300); });
  }, []);
  const inDir = book.value === DIRECTORY;
  return (
    <div class={'gw contacts' + (selected.value ? ' has-detail' : '')}>
      <TopBar />
      <aside class="cal-side" aria-label={t('addressBooks')}>
        {inDir ? <p class="muted">{t('ctReadOnly')}</p> : (
          <>
            <button class="primary" onClick={() => { editing.value = draftOf(null); }}>{t('newContact')}</button>
            <button onClick={() => { grouping.value = groupDraft(null); }}>{t('ctNewGroup')}</button>
          </>
        )}
        <h2>{t('addressBooks')}</h2>
        <ul class="cal-list">
          {books.value.map((b) => (
            <li><button class="folder" aria-current={b.id === book.value ? 'page' : undefined} onClick={() => pickBook(b.id)}>{b.name}</button></li>
          ))}
          <li><button class="folder" aria-current={inDir ? 'page' : undefined} onClick={openDirectory}>{t('ctDirectory')}</button></li>
        </ul>
        <p>
          <button onClick={() => { newBook.value = ''; }}>{t('ctNewBook')}</button>
        </p>
        {!inDir && (
          <>
            <p>
              <button onClick={exportAll} disabled={!cards.value.length}>{t('exportVCard')}</button>
            </p>
            <p class="field">
              <label for="ct-import">{t('importVCard')}</label>
              <input id="ct-import" type="file" accept=".vcf,text/vcard" onChange={(e) => importFile(e.currentTarget.files[0]).catch(fail)} />
            </p>
          </>
        )}
      </aside>
      <main class="contacts-main">
        <h1 class="sr">{t('section_contacts')}</h1>
        <section class="contact-list" aria-label={inDir ? t('ctDirectory') : t('contactList')}>
          <p class="field phone-only book-pick">
            <label for="ct-book">{t('addressBooks')}</label>
            <select id="ct-book" value={book.value} onChange={(e) => pickBook(e.currentTarget.value)}>
              {books.value.map((b) => <option value={b.id}>{b.name}</option>)}
              <option value={DIRECTORY}>{t('ctDirectory')}</option>
            </select>
          </p>
          {inDir ? <DirectoryList /> : <>
          <button class="primary phone-only" onClick={() => { editing.value = draftOf(null); }}>{t('newContact')}</button>
          <input type="search" aria-label={t('filterContacts')} placeholder={t('filterContacts')} value={filter.value} onInput={(e) => { filter.value = e.currentTarget.value; }} />
          {shown.value.length === 0 ? <p class="empty">{t('noContacts')}</p> : (
            <ul>
              {shown.value.map((c) => (
                <li><button class="contact-row" aria-current={c.id === selected.value ? 'true' : undefined} onClick={() => { selected.value = c.id; }}>
                  <span class="name">{displayName(c)}</span>
                  <span class="muted">{isGroup(c) ? t('ctGroupN', { n: membersOf(c).length }) : vals(c.emails, 'address')[0] || ''}</span>
                </button></li>
              ))}
            </ul>
          )}
          </>}
        </section>
        <section class="contact-pane" aria-label={t('contactDetails')}>
          {selected.value && <button class="back" onClick={() => { selected.value = null; dirSel.value = null; }}>{t('back')}</button>}
          <Detail />
        </section>
      </main>
      {editing.value && <Editor />}
      {grouping.value && <GroupEditor />}
      {newBook.value !== null && <NewBook />}
      <div class="toast" role="status" aria-live="polite">{toast.value}</div>
    </div>
  );
}
