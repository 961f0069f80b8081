// Contacts (issue 12 item 4): address books, a list, a card's details,
// and create, edit and delete of ContactCards over JMAP for Contacts
// (RFC 9610, JSContact RFC 9553; docs/jmap.md). A chunk of its own,
// loaded on demand.
import { signal, computed } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { t } from '../i18n.js';
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
  if (!book.value || !books.value.find((b) => b.id === book.value)) book.value = books.value[0] && books.value[0].id;
  await loadCards();
}

// cardLoads counts loadCards calls: an answer for an address book the
// user has already left (or a refresh overtaken by a newer one) is dropped.
let cardLoads = 0;

async function loadCards() {
  const mine = ++cardLoads;
  if (!book.value) { cards.value = []; return; }
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

function draftOf(c) {
  if (!c) return { id: null, given: '', surname: '', emails: '', phones: '', org: '', note: '' };
  return {
    id: c.id, given: comp(c, 'given'), surname: comp(c, 'surname'),
    emails: vals(c.emails, 'address').join('\n'), phones: vals(c.phones, 'number').join('\n'),
    org: vals(c.organizations, 'name')[0] || '', note: vals(c.notes, 'note').join('\n'),
  };
}

const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);
const mapOf = (list, prefix, f) => (list.length ? Object.fromEntries(list.map((v, i) => [prefix + (i + 1), f(v)])) : null);

async function save(d) {
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
  if (d.id) {
    await setOne('ContactCard', { update: { [d.id]: props } });
    return d.id;
  }
  for (const k of Object.keys(props)) if (props[k] === null) delete props[k];
  const r = await setOne('ContactCard', { create: { n: { '@type': 'Card', version: '1.0', kind: 'individual', addressBookIds: { [book.value]: true }, ...props } } });
  return r.created.n.id;
}

// ---- vCard export and import (the fields this page edits) ----
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/([,;])/g, '\\$1');
function toVCard(c) {
  const out = ['BEGIN:VCARD', 'VERSION:4.0', `FN:${esc(displayName(c))}`, `N:${esc(comp(c, 'surname'))};${esc(comp(c, 'given'))};;;`];
  for (const a of vals(c.emails, 'address')) out.push(`EMAIL:${esc(a)}`);
  for (const p of vals(c.phones, 'number')) out.push(`TEL:${esc(p)}`);
  for (const o of vals(c.organizations, 'name')) out.push(`ORG:${esc(o)}`);
  for (const n of vals(c.notes, 'note')) out.push(`NOTE:${esc(n)}`);
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
// parseVCards reads FN, N, EMAIL, TEL, ORG and NOTE of each card (folded
// lines joined, escapes undone); the server stores what it is sent.
export function parseVCards(text) {
  const unesc = (s) => s.replace(/\\([nN,;\\])/g, (m, c) => (c === 'n' || c === 'N' ? '\n' : c));
  const out = [];
  let cur = null;
  for (const line of text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).split(';')[0].toUpperCase().replace(/^ITEM\d+\./, '');
    const v = line.slice(i + 1);
    if (name === 'BEGIN' && v.toUpperCase() === 'VCARD') { cur = { given: '', surname: '', emails: [], phones: [], org: '', note: '', fn: '' }; continue; }
    if (!cur) continue;
    if (name === 'END') { out.push(cur); cur = null; if (out.length >= MAX_IMPORT) break; continue; }
    if (name === 'FN') cur.fn = unesc(v);
    else if (name === 'N') { const p = v.split(/(?<!\\);/); cur.surname = unesc(p[0] || ''); cur.given = unesc(p[1] || ''); }
    else if (name === 'EMAIL') cur.emails.push(unesc(v));
    else if (name === 'TEL') cur.phones.push(unesc(v.replace(/^tel:/i, '')));
    else if (name === 'ORG') cur.org = unesc(v.split(/(?<!\\);/)[0]);
    else if (name === 'NOTE') cur.note = unesc(v);
  }
  return out.map((c) => ({ id: null, given: c.given || (!c.surname ? c.fn : ''), surname: c.surname, emails: c.emails.join('\n'), phones: c.phones.join('\n'), org: c.org, note: c.note }));
}

async function importFile(file) {
  if (!file || file.size > 5 << 20) { fail(new Error(t('importTooBig'))); return; }
  const list = parseVCards(await file.text());
  for (const d of list) await save(d);
  say(t('imported', { n: list.length }));
  await loadCards();
}

function Detail() {
  const c = cards.value.find((x) => x.id === selected.value);
  if (!c) return <p class="empty">{t('selectContact')}</p>;
  const row = (label, list, href) => list.length > 0 && (
    <><dt>{label}</dt>{list.map((v) => <dd>{href ? <a href={href + v}>{v}</a> : v}</dd>)}</>
  );
  return (
    <article class="contact-detail" aria-labelledby="contact-name">
      <h2 id="contact-name">{displayName(c)}</h2>
      <dl>
        {row(t('emails'), vals(c.emails, 'address'), 'mailto:')}
        {row(t('phones'), vals(c.phones, 'number'), 'tel:')}
        {row(t('organization'), vals(c.organizations, 'name'))}
        {row(t('notes'), vals(c.notes, 'note'))}
      </dl>
      <div class="actions start">
        <button onClick={() => { editing.value = draftOf(c); }}>{t('edit')}</button>
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

export default function Contacts() {
  useEffect(() => {
    reload();
    let timer;
    return pushEvents(() => { clearTimeout(timer); timer = setTimeout(reload, 300); });
  }, []);
  return (
    <div class={'gw contacts' + (selected.value ? ' has-detail' : '')}>
      <TopBar />
      <aside class="cal-side" aria-label={t('addressBooks')}>
        <button class="primary" onClick={() => { editing.value = draftOf(null); }}>{t('newContact')}</button>
        <h2>{t('addressBooks')}</h2>
        <ul class="cal-list">
          {books.value.map((b) => (
            <li><button class="folder" aria-current={b.id === book.value ? 'page' : undefined} onClick={() => { book.value = b.id; selected.value = null; loadCards().catch(fail); }}>{b.name}</button></li>
          ))}
        </ul>
        <p>
          <button onClick={exportAll} disabled={!cards.value.length}>{t('exportVCard')}</button>
        </p>
        <p class="field">
          <label for="ct-import">{t('importVCard')}</label>
          <input id="ct-import" type="file" accept=".vcf,text/vcard" onChange={(e) => importFile(e.currentTarget.files[0]).catch(fail)} />
        </p>
      </aside>
      <main class="contacts-main">
        <h1 class="sr">{t('section_contacts')}</h1>
        <section class="contact-list" aria-label={t('contactList')}>
          <button class="primary phone-only" onClick={() => { editing.value = draftOf(null); }}>{t('newContact')}</button>
          <input type="search" aria-label={t('filterContacts')} placeholder={t('filterContacts')} value={filter.value} onInput={(e) => { filter.value = e.currentTarget.value; }} />
          {shown.value.length === 0 ? <p class="empty">{t('noContacts')}</p> : (
            <ul>
              {shown.value.map((c) => (
                <li><button class="contact-row" aria-current={c.id === selected.value ? 'true' : undefined} onClick={() => { selected.value = c.id; }}>
                  <span class="name">{displayName(c)}</span>
                  <span class="muted">{vals(c.emails, 'address')[0] || ''}</span>
                </button></li>
              ))}
            </ul>
          )}
        </section>
        <section class="contact-pane" aria-label={t('contactDetails')}>
          {selected.value && <button class="back" onClick={() => { selected.value = null; }}>{t('back')}</button>}
          <Detail />
        </section>
      </main>
      {editing.value && <Editor />}
      <div class="toast" role="status" aria-live="polite">{toast.value}</div>
    </div>
  );
}
