// The composer's address fields: a combobox (WAI-ARIA 1.2 combobox
// pattern, list autocomplete) suggesting addresses for the word being
// typed after the last comma, from the user's contacts (ContactCard/query
// with a text filter) and the tenant's directory (/web/api/directory).
// A contact group (a card of kind "group") is offered by its name and
// expands into its members' addresses.
import { useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import './contacts/strings.js';
import { gw } from './gw/jmap.js';
import { formatAddress } from './state.js';

const MAX_SUGGESTIONS = 8;
const MAX_GROUP = 200; // members a group expands into
const DELAY = 150; // ms after the last key before asking

const comp = (c, kind) => ((c.name && c.name.components) || []).filter((x) => x.kind === kind).map((x) => x.value).join(' ');
const cardName = (c) => (c.name && c.name.full) || [comp(c, 'given'), comp(c, 'surname')].filter(Boolean).join(' ');

// suggest returns up to MAX_SUGGESTIONS { name, email, source } for q:
// contacts first, then the directory, each address once.
export async function suggest(q) {
  const [cards, dir] = await Promise.all([
    gw([
      ['ContactCard/query', { filter: { text: q }, limit: MAX_SUGGESTIONS }, 'q'],
      ['ContactCard/get', { '#ids': { resultOf: 'q', name: 'ContactCard/query', path: '/ids' }, properties: ['name', 'emails', 'kind', 'members'] }, 'g'],
    ]).then((r) => r.g.list, () => []),
    fetch('/web/api/directory?q=' + encodeURIComponent(q), { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : []), () => []),
  ]);
  const out = [];
  const seen = new Set();
  const add = (name, email, source) => {
    const k = email.toLowerCase();
    if (!email || seen.has(k) || out.length >= MAX_SUGGESTIONS) return;
    seen.add(k);
    out.push({ name: name || '', email, source });
  };
  const lq = q.toLowerCase();
  for (const g of cards) {
    const name = cardName(g);
    if (g.kind !== 'group' || !name.toLowerCase().includes(lq)) continue;
    const members = await groupMembers(g);
    if (members.length && out.length < MAX_SUGGESTIONS) out.push({ name, email: '', members, source: 'group' });
  }
  for (const c of cards) {
    const name = cardName(c);
    for (const e of Object.values(c.emails || {})) {
      if (e.address && (name.toLowerCase().includes(lq) || e.address.toLowerCase().includes(lq))) add(name, e.address, 'contacts');
    }
  }
  for (const u of dir) add(u.name, u.email, 'directory');
  return out;
}

// groupMembers returns the { name, email } of a group's members (their
// first address each), looked up by uid.
async function groupMembers(g) {
  const uids = Object.keys(g.members || {}).filter((u) => g.members[u] === true).slice(0, MAX_GROUP);
  if (!uids.length) return [];
  const r = await gw([
    ['ContactCard/query', { filter: { operator: 'OR', conditions: uids.map((uid) => ({ uid })) }, limit: MAX_GROUP }, 'q'],
    ['ContactCard/get', { '#ids': { resultOf: 'q', name: 'ContactCard/query', path: '/ids' }, properties: ['name', 'emails'] }, 'g'],
  ]).catch(() => null);
  if (!r) return [];
  return r.g.list.map((c) => ({ name: cardName(c), email: Object.values(c.emails || {}).map((e) => e.address).find(Boolean) })).filter((m) => m.email);
}

// AddressInput is an <input> of comma-separated addresses with
// suggestions; onChange is called after a suggestion is taken (the form's
// input events cover typing).
// onValue, when given, hears the field's whole value after every change
// (typing or a suggestion taken), for forms that keep it in a signal.
export function AddressInput({ id, name, defaultValue, required, onChange, onValue, placeholder }) {
  const input = useRef(null);
  const items = useSignal([]);
  const active = useSignal(-1);
  const timer = useRef(0);
  const asked = useRef(0);
  const listId = id + '-list';
  const open = items.value.length > 0;
  const close = () => { items.value = []; active.value = -1; };
  const token = () => {
    const v = input.current.value.slice(0, input.current.selectionStart ?? input.current.value.length);
    return v.slice(v.lastIndexOf(',') + 1).trim();
  };
  const onInput = () => {
    if (onValue) onValue(input.current.value);
    clearTimeout(timer.current);
    const q = token();
    if (q.length < 2) { close(); return; }
    timer.current = setTimeout(async () => {
      const mine = ++asked.current;
      const found = await suggest(q);
      if (mine !== asked.current || document.activeElement !== input.current) return;
      items.value = found;
      active.value = found.length ? 0 : -1;
    }, DELAY);
  };
  const take = (s) => {
    const el = input.current;
    const v = el.value;
    const at = el.selectionStart ?? v.length;
    const start = v.lastIndexOf(',', at - 1) + 1;
    const endComma = v.indexOf(',', at);
    const rest = endComma < 0 ? '' : v.slice(endComma + 1).trim();
    const before = v.slice(0, start).trim();
    el.value = (before ? before + ' ' : '') + (s.members ? s.members.map(formatAddress).join(', ') : formatAddress(s)) + ', ' + rest;
    const caret = el.value.length - rest.length;
    el.setSelectionRange(caret, caret);
    close();
    if (onChange) onChange();
    if (onValue) onValue(el.value);
  };
  const onKeyDown = (e) => {
    if (!open) return;
    const n = items.value.length;
    if (e.key === 'ArrowDown') { e.preventDefault(); active.value = (active.value + 1) % n; }
    else if (e.key === 'ArrowUp') { e.preventDefault(); active.value = (active.value - 1 + n) % n; }
    else if ((e.key === 'Enter' || e.key === 'Tab') && active.value >= 0) { e.preventDefault(); take(items.value[active.value]); }
    else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(); }
  };
  return (
    <div class="combo">
      <input ref={input} id={id} name={name} type="text" inputmode="email" autocomplete="off" defaultValue={defaultValue} required={required} placeholder={placeholder}
        role="combobox" aria-autocomplete="list" aria-expanded={open ? 'true' : 'false'} aria-controls={listId}
        aria-activedescendant={open && active.value >= 0 ? `${id}-opt-${active.value}` : undefined}
        onInput={onInput} onKeyDown={onKeyDown} onBlur={() => setTimeout(close, 150)} />
      <ul id={listId} role="listbox" aria-label={t('suggestions')} class="suggestions" hidden={!open}>
        {items.value.map((s, i) => (
          <li id={`${id}-opt-${i}`} role="option" aria-selected={i === active.value ? 'true' : 'false'} class={i === active.value ? 'active' : ''}
            onMouseDown={(e) => { e.preventDefault(); take(s); }}>
            <span class="name">{s.name || s.email}</span> {s.name && s.email && <span class="email">{s.email}</span>}
            <span class="source">{s.members ? t('ctGroupN', { n: s.members.length }) : t(s.source === 'contacts' ? 'fromContacts' : 'fromDirectory')}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

