// The scheduling view of the event dialog: the rooms and equipment of
// the tenant (JMAP principals of type location and resource) and a
// free/busy grid of the day for the user, the attendees and the chosen
// resource (Principal/getAvailability; docs/jmap.md). The server books a
// resource by itself when the event is saved (internal/groupware
// resource.go): a room with auto-accept declines a conflicting booking,
// and its answer shows in the dialog's participant list.
import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { gw, gwAll } from '../gw/jmap.js';
import { getSession } from '../jmap.js';
import { parseLocal, addDays, utc, localWall, shown } from './time.js';

// The tenant's rooms and equipment, loaded once: [{ id, name, email, kind }].
export const resources = signal(null);
let resourcesLoading = null;

export function loadResources() {
  if (resources.value || resourcesLoading) return resourcesLoading;
  resourcesLoading = gw([
    ['Principal/query', { filter: { operator: 'OR', conditions: [{ type: 'location' }, { type: 'resource' }] }, sort: [{ property: 'name' }], limit: 200 }, 'q'],
    ['Principal/get', { '#ids': { resultOf: 'q', name: 'Principal/query', path: '/ids' }, properties: ['id', 'type', 'name', 'email'] }, 'g'],
  ]).then((r) => {
    resources.value = r.g.list.filter((p) => p.email).map((p) => ({ id: p.id, name: p.name || p.email, email: p.email, kind: p.type === 'location' ? 'room' : 'resource' }));
  }).catch(() => { resources.value = []; }).finally(() => { resourcesLoading = null; });
  return resourcesLoading;
}

export const isResourceAddr = (addr) => !!(resources.value || []).find((r) => r.email.toLowerCase() === (addr || '').toLowerCase());

// The hours the grid shows.
const FROM_H = 7, TO_H = 20;
const SPAN = (TO_H - FROM_H) * 60;

// availability asks the busy periods of the user and of every address
// for the day, in one request: { addr: [{ s, e, status }] | 'none' }.
async function availability(me, addrs, day) {
  const s = await getSession();
  const acct = s.primaryAccounts['urn:ietf:params:jmap:calendars'] || s.accountId;
  const from = utc(day), to = utc(addDays(day, 1));
  const calls = [['Principal/getAvailability', { id: acct, utcStart: from, utcEnd: to }, 'me']];
  if (addrs.length) {
    calls.push(['Principal/query', { filter: { operator: 'OR', conditions: addrs.map((a) => ({ email: a })) }, limit: 200 }, 'q']);
    calls.push(['Principal/get', { '#ids': { resultOf: 'q', name: 'Principal/query', path: '/ids' }, properties: ['id', 'email'] }, 'g']);
  }
  const first = await gwAll(calls);
  const out = {};
  const periods = (r) => (r && !r.methodError ? r.list.map((p) => ({ s: shown(p.utcStart), e: shown(p.utcEnd), status: p.busyStatus })) : 'none');
  out[me.toLowerCase()] = periods(first.me);
  const ids = {};
  for (const p of (first.g && !first.g.methodError ? first.g.list : [])) if (p.email) ids[p.email.toLowerCase()] = p.id;
  const more = addrs.filter((a) => ids[a.toLowerCase()]).map((a, i) => ['Principal/getAvailability', { id: ids[a.toLowerCase()], utcStart: from, utcEnd: to }, 'a' + i]);
  const second = more.length ? await gwAll(more) : {};
  addrs.forEach((a) => { out[a.toLowerCase()] = 'none'; });
  addrs.filter((a) => ids[a.toLowerCase()]).forEach((a, i) => { out[a.toLowerCase()] = periods(second['a' + i]); });
  return out;
}

const hm = (d) => localWall(d).slice(11, 16);
const pct = (day, d) => Math.max(0, Math.min(100, ((d - day) / 60000 - FROM_H * 60) / SPAN * 100));

// FreeBusy is the grid: one row per person or resource, busy time
// shaded, the event's own slot outlined. people: [{ label, email }].
// skip is the event being edited (its own time is not a conflict).
export function FreeBusy({ me, people, date, start, end, reloadKey }) {
  const [busy, setBusy] = useState(null);
  const [err, setErr] = useState('');
  const day = parseLocal(date);
  const key = [date, me, ...people.map((p) => p.email)].join('|') + '#' + reloadKey;
  useEffect(() => {
    if (!day || !me) return;
    let live = true;
    availability(me, people.map((p) => p.email), day).then((b) => { if (live) { setBusy(b); setErr(''); } }, (e) => { if (live) setErr(e.message || String(e)); });
    return () => { live = false; };
  }, [key]);
  if (!day) return null;
  const rows = [{ label: t('you'), email: me }, ...people];
  const slot = start && end && end > start ? [pct(day, start), pct(day, end)] : null;
  return (
    <section class="fb" aria-label={t('freeBusy')}>
      <h3>{t('freeBusy')}</h3>
      {err && <p class="error">{t('error', { error: err })}</p>}
      <div class="fb-grid">
        <div class="fb-row fb-hours" aria-hidden="true">
          <span class="fb-name" />
          <div class="fb-track">
            {Array.from({ length: TO_H - FROM_H }, (_, i) => <span class="fb-h" style={`left:${(i * 60) / SPAN * 100}%`}>{String(FROM_H + i).padStart(2, '0')}</span>)}
          </div>
        </div>
        {rows.map((r) => {
          const b = busy && busy[(r.email || '').toLowerCase()];
          const list = Array.isArray(b) ? b : [];
          const summary = !busy ? t('loading') : b === 'none' ? t('fbUnknown')
            : list.length ? t('busyAt', { times: list.map((p) => `${hm(p.s)}–${hm(p.e)}`).join(', ') }) : t('freeAllDay');
          return (
            <div class="fb-row" data-email={r.email}>
              <span class="fb-name" title={r.email}>{r.label}</span>
              <div class={'fb-track' + (b === 'none' ? ' unknown' : '')} role="img" aria-label={`${r.label}: ${summary}`}>
                {list.map((p) => {
                  const a = pct(day, p.s), z = pct(day, p.e);
                  return z > a ? <span class={'fb-busy ' + p.status} data-start={hm(p.s)} data-end={hm(p.e)} style={`left:${a}%;width:${z - a}%`} /> : null;
                })}
                {slot && <span class="fb-slot" style={`left:${slot[0]}%;width:${Math.max(0.5, slot[1] - slot[0])}%`} />}
              </div>
            </div>
          );
        })}
      </div>
      <p class="muted fb-legend">{t('fbLegend')}</p>
    </section>
  );
}
