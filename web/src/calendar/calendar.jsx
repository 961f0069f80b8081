// The calendar (issue 12 item 3): day, week, month and agenda views over
// JMAP for Calendars (docs/jmap.md). Loaded on demand as a chunk of its
// own. The views are written here rather than taken from FullCalendar or
// Schedule-X (docs/web.md says why). Times are shown in the browser's
// zone; recurring events are expanded by the server
// (CalendarEvent/query expandRecurrences), one occurrence is changed
// through the master's recurrenceOverrides.
import { signal, computed } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n.js';
import { locale, hourOpts } from '../prefs/prefs.js';
import { events as pushEvents } from '../jmap.js';
import { gw, gwAll, setOne } from '../gw/jmap.js';
import { getSession } from '../jmap.js';
import { TopBar, Modal } from '../gw/lazy.jsx';
import { FreeBusy, resources, loadResources, isResourceAddr } from './schedule.jsx';
import { AddressInput } from '../autocomplete.jsx';
import { parseAddresses } from '../state.js';
import {
  userZone, shown, real, wall, localWall, ymd, parseLocal, shiftWall, durMinutes, durString,
  addDays, startOfDay, startOfWeek, sameDay, utc,
} from './time.js';

const PX_PER_HOUR = 48;
const PPM = PX_PER_HOUR / 60;
const palette = ['#1f6fbf', '#2e8540', '#b35c00', '#8e44ad', '#c0392b', '#16808a'];

// calendars: the user's own and those of the accounts shared with them
// (the session's other accounts with the calendars capability), each
// { ...Calendar, acct, key, own } with key = acct/id.
const calendars = signal([]);
const accounts = signal([]); // [{ id, name, own }]
const hidden = signal({});
const view = signal(matchMedia('(max-width: 760px)').matches ? 'agenda' : 'week');
const anchor = signal(startOfDay(shown(new Date())));
const items = signal([]);
const loaded = signal(0); // counts the loads, for views that follow them
const me = signal('');
const editing = signal(null); // the event dialog's draft
const calEditing = signal(null); // the calendar dialog's draft
const ask = signal(null); // the "this one / all" question: { resolve }
const toast = signal('');

function fail(e) { toast.value = t('error', { error: e.message || String(e) }); }
function say(s) { toast.value = s; setTimeout(() => { if (toast.value === s) toast.value = ''; }, 4000); }

const colorOf = (key) => {
  const i = calendars.value.findIndex((c) => c.key === key);
  return (calendars.value[i] && calendars.value[i].color) || palette[Math.max(0, i) % palette.length];
};

function range() {
  const a = anchor.value;
  switch (view.value) {
    case 'day': return [a, addDays(a, 1)];
    case 'month': { const s = startOfWeek(new Date(a.getFullYear(), a.getMonth(), 1)); return [s, addDays(s, 42)]; }
    case 'agenda': return [a, addDays(a, 30)];
    default: { const s = startOfWeek(a); return [s, addDays(s, 7)]; }
  }
}

function norm(e, acct) {
  const allDay = !!e.showWithoutTime;
  let start, end;
  if (allDay) {
    start = parseLocal(e.start);
    end = addDays(start, Math.max(1, Math.round(durMinutes(e.duration) / 1440)));
  } else {
    start = shown(e.utcStart);
    end = shown(e.utcEnd || e.utcStart);
  }
  const baseId = e.id[0] === 'W' ? 'V' + e.id.slice(1, e.id.lastIndexOf('_')) : e.id;
  const calId = Object.keys(e.calendarIds || {})[0];
  return { id: acct + '/' + e.id, baseId, acct, rid: e.recurrenceId || null, title: e.title || t('noTitle'), calId, calKey: acct + '/' + calId, start, end, allDay, raw: e };
}

// loads counts load calls: an answer that arrives after a newer load
// began (a view or date switched while it was in flight) is dropped, so
// a slow answer for the old range never replaces the new one.
let loads = 0;

// calendarAccounts lists the user's own calendars account first, then
// the shared ones, by name, then the tenant's public folders' (a public
// store has no owner principal).
async function calendarAccounts() {
  const s = await getSession();
  const cap = 'urn:ietf:params:jmap:calendars';
  const own = s.primaryAccounts[cap] || s.accountId;
  const shared = Object.entries(s.accounts).filter(([id, a]) => id !== own && a.accountCapabilities && a.accountCapabilities[cap])
    .map(([id, a]) => ({ id, name: a.name, own: false, isPublic: !(a.accountCapabilities['urn:ietf:params:jmap:principals:owner']) }))
    .sort((a, b) => a.isPublic - b.isPublic || a.name.localeCompare(b.name));
  return [{ id: own, name: '', own: true }, ...shared];
}

// load reads the calendars and the events of the range of every
// calendars account in one request; a shared account that fails (its
// share withdrawn meanwhile) is left out, the others still show.
async function load() {
  const mine = ++loads;
  const [from, to] = range();
  const accts = await calendarAccounts();
  const calls = [];
  accts.forEach((a, i) => {
    calls.push(['Calendar/get', { accountId: a.id }, 'c' + i]);
    calls.push(['CalendarEvent/query', { accountId: a.id, filter: { after: utc(from), before: utc(to) }, expandRecurrences: true }, 'q' + i]);
    calls.push(['CalendarEvent/get', { accountId: a.id, '#ids': { resultOf: 'q' + i, name: 'CalendarEvent/query', path: '/ids' } }, 'g' + i]);
  });
  const r = await gwAll(calls);
  if (mine !== loads) return;
  if (r.c0.methodError) throw new Error(r.c0.type);
  const cals = [];
  let evs = [];
  const ok = [];
  accts.forEach((a, i) => {
    if (r['c' + i].methodError || r['g' + i].methodError) return;
    ok.push(a);
    const list = r['c' + i].list.slice().sort((x, y) => (y.isDefault ? 1 : 0) - (x.isDefault ? 1 : 0) || (x.sortOrder || 0) - (y.sortOrder || 0) || x.name.localeCompare(y.name));
    for (const c of list) cals.push({ ...c, acct: a.id, key: a.id + '/' + c.id, own: a.own });
    evs = evs.concat(r['g' + i].list.filter((e) => e['@type'] !== 'Task').map((e) => norm(e, a.id)));
  });
  accounts.value = ok;
  calendars.value = cals;
  items.value = evs.sort((a, b) => a.start - b.start);
  loaded.value++;
}
const reload = () => load().catch(fail);

// canWrite tells whether the user may change the events of a calendar
// (their own, or a shared one with the write right).
function canWrite(calKey) {
  const c = calendars.value.find((x) => x.key === calKey);
  return !!c && (c.own || !!(c.myRights && (c.myRights.mayWriteAll || c.myRights.mayWriteOwn)));
}

const visible = computed(() => items.value.filter((e) => !hidden.value[e.calKey]));

// myParticipant finds the signed-in user among an event's participants.
function myParticipant(e) {
  const addr = me.value.toLowerCase();
  if (!addr) return null;
  for (const [k, p] of Object.entries(e.participants || {})) {
    if ((p.email || '').toLowerCase() === addr || (p.sendTo && (p.sendTo.imip || '').toLowerCase() === 'mailto:' + addr)) return [k, p];
  }
  return null;
}
const emailOf = (p) => p.email || ((p.sendTo && p.sendTo.imip) || '').replace(/^mailto:/i, '');
const schedules = (e) => Object.keys(e.participants || {}).length > 0 && e.isOrigin !== false;

async function getBase(id, acct) {
  const r = await gw([['CalendarEvent/get', { accountId: acct, ids: [id] }, 'g']]);
  if (!r.g.list.length) throw new Error('notFound');
  return r.g.list[0];
}

// overridePatch changes one occurrence: the master's recurrenceOverrides
// with that occurrence's patch merged in (the whole map, as the path
// recurrenceOverrides/<id> needs the map to exist already).
function overridePatch(base, rid, change) {
  const all = { ...(base.recurrenceOverrides || {}) };
  all[rid] = { ...(all[rid] || {}), ...change };
  return { recurrenceOverrides: all };
}

function askScope() {
  return new Promise((resolve) => { ask.value = { resolve }; });
}

// moveTo changes an occurrence's start and length (drag, resize).
async function moveTo(inst, start, minutes) {
  let scope = 'all';
  if (inst.rid) {
    scope = await askScope();
    if (!scope) return;
  }
  const base = await getBase(inst.baseId, inst.acct);
  const allDay = inst.allDay;
  const newStart = allDay ? ymd(start) + 'T00:00:00' : base.timeZone ? wall(real(start), base.timeZone) : localWall(start);
  const duration = durString(minutes, allDay);
  let patch;
  if (scope === 'following' && inst.rid !== base.start) {
    await splitSeries(inst, base, { start: newStart, duration });
    say(t('eventSaved'));
    await load();
    return;
  }
  if (scope === 'one') {
    patch = overridePatch(base, inst.rid, { start: newStart, duration });
  } else if (inst.rid) {
    const delta = Math.round((start - inst.start) / 60000);
    patch = { start: shiftWall(base.start, delta), duration };
  } else {
    patch = { start: newStart, duration };
  }
  await setOne('CalendarEvent', { accountId: inst.acct, update: { [inst.baseId]: patch }, sendSchedulingMessages: schedules(base) });
  say(t('eventSaved'));
  await load();
}

// The properties a series' second half copies from the first when it
// is split ("this and following").
const SPLIT_COPY = ['title', 'description', 'locations', 'showWithoutTime', 'timeZone', 'duration', 'participants', 'replyTo',
  'privacy', 'freeBusyStatus', 'alerts', 'useDefaultAlerts', 'keywords', 'categories', 'color', 'status', 'recurrenceRules'];

// countBefore counts a series' occurrences before inst (for a rule with
// a count that is split), or null when that is too far to expand.
async function countBefore(inst, base) {
  const from = shown(base.utcStart || 0);
  if (!base.uid || !(inst.start - from < 399 * 86400000)) return null;
  const r = await gw([['CalendarEvent/query', { accountId: inst.acct, filter: { uid: base.uid, after: utc(from), before: utc(inst.start) }, expandRecurrences: true }, 'q']]);
  return r.q.ids.length;
}

// splitSeries changes an occurrence and the ones after it: the series
// ends before it (UNTIL; its overrides before it stay) and a new series
// with the changes starts from it, in one /set. The new series keeps the
// later overrides when its occurrences keep their times, and a rule with
// a count counts on where the old one stopped. Attendees are asked
// again (it is a new event for them).
async function splitSeries(inst, base, changes) {
  const rid = inst.rid;
  const rule = (base.recurrenceRules || [])[0] || {};
  const keep = {}, later = {};
  for (const [k, v] of Object.entries(base.recurrenceOverrides || {})) (k < rid ? keep : later)[k] = v;
  const oldRule = { ...rule, until: shiftWall(rid, -1) };
  delete oldRule.count;
  const fresh = { '@type': 'Event', calendarIds: base.calendarIds, start: rid };
  for (const k of SPLIT_COPY) if (base[k] != null) fresh[k] = base[k];
  Object.assign(fresh, changes);
  for (const k of Object.keys(fresh)) if (fresh[k] == null) delete fresh[k];
  const next = (fresh.recurrenceRules || [])[0];
  if (next && rule.count && next.count === rule.count) {
    const n = await countBefore(inst, base);
    if (n != null) fresh.recurrenceRules = [{ ...next, count: Math.max(1, rule.count - n) }];
  }
  if (fresh.start === rid && (!changes.timeZone || changes.timeZone === base.timeZone) && Object.keys(later).length) fresh.recurrenceOverrides = later;
  if (fresh.participants) {
    const ps = {};
    for (const [k, p] of Object.entries(fresh.participants)) ps[k] = p.roles && p.roles.owner ? p : { ...p, participationStatus: 'needs-action' };
    fresh.participants = ps;
  }
  const r = await setOne('CalendarEvent', {
    accountId: inst.acct, create: { n: fresh },
    update: { [inst.baseId]: { recurrenceRules: [oldRule], recurrenceOverrides: Object.keys(keep).length ? keep : null } },
    sendSchedulingMessages: schedules(base) || !!fresh.participants,
  });
  return { acct: inst.acct, id: r.created.n.id };
}

// ruleFor is the recurrence rule the dialog describes: frequency, an
// interval, weekdays (weekly), and an end by count or by date. An edited
// rule keeps what the dialog does not show (byMonthDay, …).
function ruleFor(d, orig) {
  if (!d.freq) return [];
  const r = { ...(orig || {}), '@type': 'RecurrenceRule', frequency: d.freq };
  for (const k of ['interval', 'byDay', 'count', 'until']) delete r[k];
  if (+d.interval > 1) r.interval = Math.min(999, Math.floor(+d.interval));
  if (d.freq === 'weekly' && d.byDay.length) r.byDay = WEEKDAYS.filter((w) => d.byDay.includes(w)).map((day) => ({ '@type': 'NDay', day }));
  else if (orig && orig.byDay && d.freq === orig.frequency && d.freq !== 'weekly') r.byDay = orig.byDay;
  if (d.until && +d.count > 0) throw new Error(t('countAndUntil'));
  if (d.until) r.until = d.until + 'T23:59:59';
  else if (+d.count > 0) r.count = Math.floor(+d.count);
  return [r];
}
const WEEKDAYS = ['mo', 'tu', 'we', 'th', 'fr', 'sa', 'su'];

function draftFor(inst, at) {
  if (!inst) {
    const s = at || new Date(anchor.value.getFullYear(), anchor.value.getMonth(), anchor.value.getDate(), 9);
    const e = new Date(s.getTime() + 3600000);
    const cal = calendars.value.find((c) => c.own && c.isDefault) || calendars.value[0];
    return { isNew: true, title: '', calKey: cal && cal.key, allDay: false, sDate: ymd(s), sTime: localWall(s).slice(11, 16), eDate: ymd(e), eTime: localWall(e).slice(11, 16), freq: '', interval: '1', byDay: [], count: '', until: '', location: '', description: '', attendees: '', resource: '', scope: 'all' };
  }
  const e = inst.raw;
  const rule = (e.recurrenceRules || [])[0];
  const endShown = inst.allDay ? addDays(inst.end, -1) : inst.end;
  const invited = Object.values(e.participants || {}).filter((p) => !(p.roles && p.roles.owner));
  const others = invited.filter((p) => !isResource(p)).map(emailOf).filter(Boolean);
  const res = invited.filter(isResource).map(emailOf)[0] || '';
  return {
    isNew: false, inst, title: e.title || '', calKey: inst.calKey, allDay: inst.allDay, resource: res,
    sDate: ymd(inst.start), sTime: localWall(inst.start).slice(11, 16), eDate: ymd(endShown), eTime: localWall(inst.end).slice(11, 16),
    ...ruleFields(rule),
    location: Object.values(e.locations || {}).map((l) => l.name).filter(Boolean)[0] || '',
    description: e.description || '', attendees: others.join(', '), scope: inst.rid ? 'one' : 'all',
  };
}

// ruleFields are the dialog's fields of a recurrence rule.
function ruleFields(rule) {
  return {
    freq: rule ? rule.frequency : '', count: rule && rule.count ? String(rule.count) : '',
    interval: String((rule && rule.interval) || 1), until: rule && rule.until ? rule.until.slice(0, 10) : '',
    byDay: rule && rule.byDay ? rule.byDay.map((x) => x.day) : [], rule,
  };
}

// openEvent opens the dialog on an event. An occurrence of a series
// carries no rule of its own: the series' rule is read from its master
// and filled in when it arrives.
function openEvent(inst) {
  const d = draftFor(inst);
  editing.value = d;
  if (!inst.rid) return;
  getBase(inst.baseId, inst.acct).then((base) => {
    if (editing.value && editing.value.inst === inst && !editing.value.ruleTouched) {
      editing.value = { ...editing.value, ...ruleFields((base.recurrenceRules || [])[0]) };
    }
  }).catch(fail);
}

// isResource tells a room's or equipment's participant from a person's.
const isResource = (p) => ['room', 'resource', 'location'].includes(p.kind) || isResourceAddr(emailOf(p));

// participantsFor builds an event's participants: the user as owner,
// the attendees, and the room or equipment (res, an address) with the
// kind the server maps to CUTYPE (room, resource). Participants the
// event had keep their entries (and answers).
function participantsFor(list, old, res) {
  if (!list.length && !res) return null;
  const byMail = {};
  for (const [k, p] of Object.entries(old || {})) byMail[emailOf(p).toLowerCase()] = [k, p];
  const out = {};
  const mine = byMail[me.value.toLowerCase()];
  out[mine ? mine[0] : 'owner'] = mine ? mine[1] : { '@type': 'Participant', roles: { owner: true, attendee: true }, sendTo: { imip: 'mailto:' + me.value }, email: me.value, participationStatus: 'accepted' };
  list.forEach((addr, i) => {
    const had = byMail[addr.toLowerCase()];
    out[had ? had[0] : 'a' + i] = had ? had[1] : { '@type': 'Participant', roles: { attendee: true }, sendTo: { imip: 'mailto:' + addr }, email: addr, participationStatus: 'needs-action', expectReply: true };
  });
  if (res) {
    const had = byMail[res.toLowerCase()];
    const r = (resources.value || []).find((x) => x.email.toLowerCase() === res.toLowerCase());
    out[had ? had[0] : 'r0'] = had ? had[1] : { '@type': 'Participant', kind: r ? r.kind : 'room', name: r ? r.name : undefined, roles: { attendee: true }, sendTo: { imip: 'mailto:' + res }, email: res, participationStatus: 'needs-action', expectReply: true };
  }
  return out;
}

// attendeesIn reads the attendees field as the composer reads its
// recipients (parseAddresses), each address once; bare addresses may also
// be separated by spaces.
function attendeesIn(v) {
  const seen = new Set();
  return parseAddresses(v).flatMap((a) => (a.name ? [a] : a.email.split(/\s+/).map((email) => ({ name: null, email }))))
    .filter((a) => a.email.includes('@') && !seen.has(a.email.toLowerCase()) && seen.add(a.email.toLowerCase()));
}

async function save(d) {
  const start = d.allDay ? parseLocal(d.sDate) : parseLocal(d.sDate + 'T' + d.sTime);
  const end = d.allDay ? addDays(parseLocal(d.eDate), 1) : parseLocal(d.eDate + 'T' + d.eTime);
  if (!start || !end || end < start) throw new Error(t('endBeforeStart'));
  const minutes = Math.round((end - start) / 60000);
  const attendees = attendeesIn(d.attendees).map((a) => a.email);
  const newRules = ruleFor(d, d.rule);
  const common = {
    title: d.title, description: d.description, showWithoutTime: d.allDay, duration: durString(minutes, d.allDay),
    locations: d.location ? { l1: { '@type': 'Location', name: d.location } } : null,
  };
  if (d.isNew) {
    const cal = calendars.value.find((c) => c.key === d.calKey);
    if (!cal) throw new Error(t('noCalendar'));
    const obj = {
      '@type': 'Event', calendarIds: { [cal.id]: true }, ...common,
      start: d.allDay ? d.sDate + 'T00:00:00' : localWall(start), timeZone: d.allDay ? null : userZone(),
    };
    if (!obj.locations) delete obj.locations;
    if (newRules.length) obj.recurrenceRules = newRules;
    const parts = participantsFor(attendees, null, d.resource);
    if (parts) { obj.participants = parts; obj.replyTo = { imip: 'mailto:' + me.value }; }
    const r = await setOne('CalendarEvent', { accountId: cal.acct, create: { n: obj }, sendSchedulingMessages: !!parts });
    return { acct: cal.acct, id: r.created.n.id };
  }
  const inst = d.inst;
  const base = await getBase(inst.baseId, inst.acct);
  // An occurrence's rule is the series': unchanged unless edited (the
  // dialog may have opened before the series' rule arrived).
  const rules = inst.rid && !d.ruleTouched ? (base.recurrenceRules || []) : newRules;
  const zone = d.allDay ? null : (base.showWithoutTime || !base.timeZone ? userZone() : base.timeZone);
  const wallStart = d.allDay ? d.sDate + 'T00:00:00' : wall(real(start), zone);
  if (inst.rid && d.scope === 'following' && inst.rid !== base.start) {
    const ch = { ...common, start: wallStart, timeZone: zone, recurrenceRules: rules.length ? rules : null };
    ch.participants = participantsFor(attendees, base.participants, d.resource);
    if (ch.participants && !base.replyTo) ch.replyTo = { imip: 'mailto:' + me.value };
    return splitSeries(inst, base, ch);
  }
  let patch;
  if (inst.rid && d.scope === 'one') {
    const o = { ...common, start: wallStart };
    if (!o.locations) delete o.locations;
    patch = overridePatch(base, inst.rid, o);
  } else {
    patch = { ...common, timeZone: zone, recurrenceRules: rules.length ? rules : null };
    patch.start = inst.rid ? shiftWall(base.start, Math.round((start - inst.start) / 60000)) : wallStart;
    const before = Object.values(base.participants || {}).filter((p) => !(p.roles && p.roles.owner)).map(emailOf).join(',');
    if (before !== [...attendees, ...(d.resource ? [d.resource] : [])].join(',')) {
      patch.participants = participantsFor(attendees, base.participants, d.resource);
      if (patch.participants && !base.replyTo) patch.replyTo = { imip: 'mailto:' + me.value };
    }
  }
  const send = schedules(base) || !!patch.participants;
  await setOne('CalendarEvent', { accountId: inst.acct, update: { [inst.baseId]: patch }, sendSchedulingMessages: send });
  return { acct: inst.acct, id: inst.baseId };
}

// declinedResources reads the saved event back: the rooms and
// equipment that declined it (the server books them while saving).
async function declinedResources(saved) {
  if (!saved) return [];
  const e = await getBase(saved.id, saved.acct).catch(() => null);
  if (!e) return [];
  return Object.values(e.participants || {}).filter((p) => isResource(p) && p.participationStatus === 'declined').map((p) => p.name || emailOf(p));
}

async function remove(d) {
  const inst = d.inst;
  const base = await getBase(inst.baseId, inst.acct);
  if (inst.rid && d.scope === 'following' && inst.rid !== base.start) {
    // The series ends before this occurrence.
    const rule = { ...(base.recurrenceRules || [])[0], until: shiftWall(inst.rid, -1) };
    delete rule.count;
    const keep = Object.fromEntries(Object.entries(base.recurrenceOverrides || {}).filter(([k]) => k < inst.rid));
    await setOne('CalendarEvent', { accountId: inst.acct, update: { [inst.baseId]: { recurrenceRules: [rule], recurrenceOverrides: Object.keys(keep).length ? keep : null } }, sendSchedulingMessages: schedules(base) });
  } else if (inst.rid && d.scope === 'one') {
    await setOne('CalendarEvent', { accountId: inst.acct, update: { [inst.baseId]: { recurrenceOverrides: { ...(base.recurrenceOverrides || {}), [inst.rid]: { excluded: true } } } }, sendSchedulingMessages: schedules(base) });
  } else {
    await setOne('CalendarEvent', { accountId: inst.acct, destroy: [inst.baseId], sendSchedulingMessages: schedules(base) });
  }
}

// answer sends the user's answer to an invitation, with a comment for
// the organizer (participationComment; "" removes it).
async function answer(inst, status, comment) {
  const mine = myParticipant(inst.raw);
  if (!mine) return;
  const key = 'participants/' + mine[0];
  await setOne('CalendarEvent', {
    accountId: inst.acct, sendSchedulingMessages: true,
    update: { [inst.baseId]: { [key + '/participationStatus']: status, [key + '/participationComment']: comment.trim() || null } },
  });
}

// ---- formatting ----
// The browser's own locale when it is of the app's language (en-GB
// rather than en: 24-hour times), else the app's language.
// Shown Dates carry the user's wall clock in the browser's fields, so
// they are formatted without a zone; hours in the chosen clock.
const fmt = (d, o) => new Intl.DateTimeFormat(locale(), o.hour ? hourOpts(o) : o).format(d);
const hm = (d) => fmt(d, { hour: 'numeric', minute: '2-digit' });
function title() {
  const [from, to] = range();
  switch (view.value) {
    case 'day': return fmt(from, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
    case 'month': return fmt(anchor.value, { month: 'long', year: 'numeric' });
    default: return `${fmt(from, { day: 'numeric', month: 'short' })} – ${fmt(addDays(to, -1), { day: 'numeric', month: 'short', year: 'numeric' })}`;
  }
}
const when = (e) => (e.allDay ? t('allDay') : `${hm(e.start)}–${hm(e.end)}`);

// ---- drag and drop, resize ----
let drag = null; // { inst, grabMin }
let resizing = false;

function dragProps(inst) {
  // An invitation is the organizer's to move: the invitee only answers.
  if (inst.raw.isOrigin === false || !canWrite(inst.calKey)) return {};
  return {
    draggable: true,
    onDragStart: (ev) => {
      if (resizing) { ev.preventDefault(); return; }
      const r = ev.currentTarget.getBoundingClientRect();
      drag = { inst, grabMin: (ev.clientY - r.top) / PPM };
      ev.dataTransfer.setData('application/x-roost-event', inst.id);
      ev.dataTransfer.effectAllowed = 'move';
    },
    onDragEnd: () => { drag = null; },
  };
}
const allowDrop = (ev) => { if (drag) { ev.preventDefault(); ev.dataTransfer.dropEffect = 'move'; } };
const lengthOf = (inst) => Math.round((inst.end - inst.start) / 60000);

function dropOnDay(day) {
  return (ev) => {
    if (!drag) return;
    ev.preventDefault();
    const { inst } = drag;
    drag = null;
    const s = new Date(day);
    if (!inst.allDay) s.setHours(inst.start.getHours(), inst.start.getMinutes());
    if (+s !== +inst.start) moveTo(inst, s, lengthOf(inst)).catch(fail);
  };
}

function dropOnTime(day) {
  return (ev) => {
    if (!drag) return;
    ev.preventDefault();
    const { inst, grabMin } = drag;
    drag = null;
    if (inst.allDay) return;
    const r = ev.currentTarget.getBoundingClientRect();
    const min = Math.max(0, Math.min(1440 - 15, Math.round(((ev.clientY - r.top) / PPM - grabMin) / 15) * 15));
    const s = new Date(day.getFullYear(), day.getMonth(), day.getDate(), 0, min);
    if (+s !== +inst.start) moveTo(inst, s, lengthOf(inst)).catch(fail);
  };
}

function startResize(inst, col) {
  return (ev) => {
    ev.stopPropagation();
    ev.preventDefault();
    resizing = true;
    const block = ev.currentTarget.parentElement;
    const r = col().getBoundingClientRect();
    const dayStart = startOfDay(inst.start);
    let endMin = 0;
    const onMove = (m) => {
      endMin = Math.round((m.clientY - r.top) / PPM / 15) * 15;
      const startMin = (inst.start - dayStart) / 60000;
      endMin = Math.max(startMin + 15, Math.min(1440, endMin));
      block.style.height = `${(endMin - startMin) * PPM}px`;
    };
    const onUp = () => {
      removeEventListener('pointermove', onMove);
      removeEventListener('pointerup', onUp);
      setTimeout(() => { resizing = false; });
      if (!endMin) return;
      const minutes = endMin - (inst.start - dayStart) / 60000;
      if (minutes !== lengthOf(inst)) moveTo(inst, inst.start, minutes).catch((e) => { fail(e); reload(); });
    };
    addEventListener('pointermove', onMove);
    addEventListener('pointerup', onUp);
  };
}

function EventChip({ inst, style, cls, col }) {
  const e = inst.raw;
  const mine = myParticipant(e);
  const pending = e.isOrigin === false && mine && mine[1].participationStatus === 'needs-action';
  return (
    <div role="button" tabIndex={0} class={`ev ${cls || ''}${pending ? ' pending' : ''}`} style={`--c:${colorOf(inst.calKey)};${style || ''}`}
      data-start={inst.allDay ? ymd(inst.start) : localWall(inst.start).slice(0, 16)} data-end={inst.allDay ? ymd(inst.end) : localWall(inst.end).slice(0, 16)} data-title={inst.title}
      onClick={(ev) => { ev.stopPropagation(); if (!resizing) openEvent(inst); }}
      onKeyDown={(ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openEvent(inst); } }}
      {...dragProps(inst)}>
      <span class="ev-title">{inst.rid ? '↻ ' : ''}{inst.title}</span>
      {!inst.allDay && <span class="ev-time">{when(inst)}</span>}
      {col && e.isOrigin !== false && canWrite(inst.calKey) && <span class="resize" aria-hidden="true" onPointerDown={startResize(inst, col)} />}
    </div>
  );
}

// lanes places overlapping timed events side by side.
function lanes(list) {
  const ends = [];
  const out = list.map((e) => {
    let i = ends.findIndex((x) => x <= e.start);
    if (i < 0) { i = ends.length; ends.push(e.end); } else ends[i] = e.end;
    return [e, i];
  });
  return [out, Math.max(1, ends.length)];
}

function DayColumn({ day }) {
  const ref = useRef(null);
  const dayEnd = addDays(day, 1);
  const list = visible.value.filter((e) => !e.allDay && e.start < dayEnd && e.end > day);
  const [placed, n] = lanes(list);
  const onClick = (ev) => {
    if (ev.target !== ev.currentTarget || resizing) return; // not the click that ends a resize
    const r = ev.currentTarget.getBoundingClientRect();
    const min = Math.floor((ev.clientY - r.top) / PPM / 30) * 30;
    editing.value = draftFor(null, new Date(day.getFullYear(), day.getMonth(), day.getDate(), 0, min));
  };
  return (
    <div class="tg-col" ref={ref} data-day={ymd(day)} onClick={onClick} onDragOver={allowDrop} onDrop={dropOnTime(day)}>
      {placed.map(([e, lane]) => {
        const s = Math.max(0, (e.start - day) / 60000);
        const en = Math.min(1440, (e.end - day) / 60000);
        return <EventChip key={e.id} inst={e} cls="timed" col={() => ref.current}
          style={`top:${s * PPM}px;height:${Math.max(18, (en - s) * PPM)}px;left:${(lane / n) * 100}%;width:${100 / n}%`} />;
      })}
    </div>
  );
}

function TimeGrid({ days }) {
  const body = useRef(null);
  useEffect(() => { if (body.current) body.current.scrollTop = 7 * PX_PER_HOUR; }, []);
  const today = shown(new Date());
  return (
    <div class="tg" style={`--days:${days.length}`}>
      <div class="tg-row tg-head">
        <div class="tg-gutter" />
        {days.map((d) => (
          <div class={'tg-dayname' + (sameDay(d, today) ? ' today' : '')}>
            <button class="link" onClick={() => { anchor.value = d; view.value = 'day'; reload(); }}>{fmt(d, { weekday: 'short', day: 'numeric' })}</button>
          </div>
        ))}
      </div>
      <div class="tg-row tg-allday">
        <div class="tg-gutter muted">{t('allDay')}</div>
        {days.map((d) => (
          <div class="tg-adcell" data-day={ymd(d)} onDragOver={allowDrop} onDrop={dropOnDay(d)}>
            {visible.value.filter((e) => e.allDay && e.start < addDays(d, 1) && e.end > d).map((e) => <EventChip key={e.id} inst={e} />)}
          </div>
        ))}
      </div>
      <div class="tg-body" ref={body}>
        <div class="tg-row">
          <div class="tg-gutter tg-hours" aria-hidden="true">
            {Array.from({ length: 24 }, (_, h) => <div class="tg-hour">{fmt(new Date(2000, 0, 1, h), { hour: 'numeric' })}</div>)}
          </div>
          {days.map((d) => <DayColumn day={d} />)}
        </div>
      </div>
    </div>
  );
}

function MonthGrid() {
  const [from] = range();
  const month = anchor.value.getMonth();
  const days = Array.from({ length: 42 }, (_, i) => addDays(from, i));
  const today = shown(new Date());
  return (
    <div class="month">
      {days.slice(0, 7).map((d) => <div class="month-wd" aria-hidden="true">{fmt(d, { weekday: 'short' })}</div>)}
      {days.map((d) => {
        const list = visible.value.filter((e) => e.start < addDays(d, 1) && e.end > d && !(e.allDay === false && +e.end === +d));
        return (
          <div class={'month-cell' + (d.getMonth() !== month ? ' other' : '') + (sameDay(d, today) ? ' today' : '')} data-day={ymd(d)}
            onDragOver={allowDrop} onDrop={dropOnDay(d)}
            onClick={(ev) => { if (ev.target === ev.currentTarget) editing.value = draftFor(null, new Date(d.getFullYear(), d.getMonth(), d.getDate(), 9)); }}>
            <button class="link day-num" aria-label={fmt(d, { weekday: 'long', day: 'numeric', month: 'long' })}
              onClick={() => { anchor.value = d; view.value = 'day'; reload(); }}>{d.getDate()}</button>
            {list.slice(0, 4).map((e) => <EventChip key={e.id} inst={e} />)}
            {list.length > 4 && <span class="muted more">{t('more', { n: list.length - 4 })}</span>}
          </div>
        );
      })}
    </div>
  );
}

function Agenda() {
  const [from, to] = range();
  const days = [];
  for (let d = from; d < to; d = addDays(d, 1)) {
    const list = visible.value.filter((e) => e.start < addDays(d, 1) && e.end > d);
    if (list.length) days.push([d, list]);
  }
  if (!days.length) return <p class="empty">{t('noEvents')}</p>;
  return (
    <ol class="agenda">
      {days.map(([d, list]) => (
        <li>
          <h2>{fmt(d, { weekday: 'long', day: 'numeric', month: 'long' })}</h2>
          <ul>
            {list.map((e) => (
              <li class="agenda-row">
                <span class="agenda-time">{when(e)}</span>
                <EventChip inst={e} />
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}

function CalendarList({ list }) {
  return (
    <ul class="cal-list">
      {list.map((c) => (
        <li data-calendar={c.name}>
          <label class="inline">
            <input type="checkbox" checked={!hidden.value[c.key]} onChange={(e) => { hidden.value = { ...hidden.value, [c.key]: !e.currentTarget.checked }; }} />
            <span class="swatch" style={`--c:${colorOf(c.key)}`} aria-hidden="true" />
            {c.name}
          </label>
          {c.own && <button class="link cal-edit" aria-label={t('editCalendarNamed', { name: c.name })} title={t('editCalendar')}
            onClick={() => { calEditing.value = { key: c.key, id: c.id, name: c.name, color: colorOf(c.key) }; }}>✎</button>}
        </li>
      ))}
    </ul>
  );
}

function Sidebar() {
  const own = calendars.value.filter((c) => c.own);
  return (
    <aside class="cal-side" aria-label={t('calendars')}>
      <button class="primary new-event" onClick={() => { editing.value = draftFor(null); }}>{t('newEvent')}</button>
      <h2>{t('calendars')}</h2>
      <CalendarList list={own} />
      <button class="link new-cal" onClick={() => { calEditing.value = { key: '', name: '', color: palette[own.length % palette.length] }; }}>{t('newCalendar')}</button>
      {accounts.value.filter((a) => !a.own).map((a) => {
        const list = calendars.value.filter((c) => c.acct === a.id);
        return list.length > 0 && (
          <section class="cal-shared" aria-label={a.isPublic ? t('xferPublicCalendars') : t('calendarsOf', { name: a.name })}>
            <h2>{a.isPublic ? t('xferPublicCalendars') : t('calendarsOf', { name: a.name })}</h2>
            <CalendarList list={list} />
          </section>
        );
      })}
      <p class="muted zone">{t('timeZoneIs', { zone: userZone() })}</p>
    </aside>
  );
}

// CalendarDialog creates one of the user's calendars or changes its
// name and colour (Calendar/set; the colour is CalDAV's calendar-color).
function CalendarDialog() {
  const c = calEditing.value;
  const close = () => { calEditing.value = null; };
  const set = (k) => (ev) => { calEditing.value = { ...calEditing.value, [k]: ev.currentTarget.value }; };
  const submit = async (ev) => {
    ev.preventDefault();
    try {
      const acct = (accounts.value.find((a) => a.own) || {}).id;
      if (c.key) await setOne('Calendar', { accountId: acct, update: { [c.id]: { name: c.name, color: c.color } } });
      else await setOne('Calendar', { accountId: acct, create: { n: { name: c.name, color: c.color } } });
      close();
      say(t('calendarSaved'));
      await load();
    } catch (err) { fail(err); }
  };
  return (
    <Modal title={c.key ? t('editCalendar') : t('newCalendar')} onClose={close}>
      <form onSubmit={submit}>
        <Field label={t('calendarName')} id="cal-name"><input id="cal-name" value={c.name} onInput={set('name')} required maxLength={200} autofocus /></Field>
        <Field label={t('calendarColor')} id="cal-color"><input id="cal-color" type="color" value={c.color} onInput={set('color')} /></Field>
        <div class="actions">
          <span class="grow" />
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary">{t('save')}</button>
        </div>
      </form>
    </Modal>
  );
}

function step(n) {
  const a = anchor.value;
  switch (view.value) {
    case 'day': anchor.value = addDays(a, n); break;
    case 'month': anchor.value = new Date(a.getFullYear(), a.getMonth() + n, 1); break;
    case 'agenda': anchor.value = addDays(a, 30 * n); break;
    default: anchor.value = addDays(a, 7 * n);
  }
  reload();
}

function Toolbar() {
  return (
    <div class="cal-bar">
      <button class="primary phone-only" onClick={() => { editing.value = draftFor(null); }}>{t('newEvent')}</button>
      <button onClick={() => step(-1)} aria-label={t('previous')}>‹</button>
      <button onClick={() => { anchor.value = startOfDay(shown(new Date())); reload(); }}>{t('today')}</button>
      <button onClick={() => step(1)} aria-label={t('next')}>›</button>
      <h1>{title()}</h1>
      <div class="views" role="group" aria-label={t('view')}>
        {['day', 'week', 'month', 'agenda'].map((v) => (
          <button aria-pressed={view.value === v} onClick={() => { view.value = v; reload(); }}>{t('view_' + v)}</button>
        ))}
      </div>
    </div>
  );
}

function Field({ label, id, children }) {
  return <div class="field"><label for={id}>{label}</label>{children}</div>;
}

function EventDialog() {
  const d = editing.value;
  const set = (k) => (ev) => {
    editing.value = { ...editing.value, [k]: ev.currentTarget.type === 'checkbox' ? ev.currentTarget.checked : ev.currentTarget.value, ruleTouched: editing.value.ruleTouched || ['freq', 'interval', 'count', 'until'].includes(k) };
  };
  const close = () => { editing.value = null; };
  // The event as last loaded: a push reloads it, so answers (a room's,
  // an attendee's) show while the dialog is open.
  const fresh = d.inst && (items.value.find((i) => i.id === d.inst.id) || d.inst);
  const e = fresh && fresh.raw;
  const invite = e && e.isOrigin === false;
  const mine = e && myParticipant(e);
  const others = e ? Object.entries(e.participants || {}).filter(([, p]) => !(p.roles && p.roles.owner)) : [];
  const organizer = e && Object.values(e.participants || {}).find((p) => p.roles && p.roles.owner);
  const run = (f, msg) => async (ev) => {
    ev.preventDefault();
    try { await f(); close(); say(msg); await load(); } catch (err) { fail(err); }
  };
  const onSave = async (ev) => {
    ev.preventDefault();
    try {
      const saved = await save(d);
      close();
      const declined = await declinedResources(saved);
      say(declined.length ? t('resourceDeclined', { names: declined.join(', ') }) : t('eventSaved'));
      await load();
    } catch (err) { fail(err); }
  };
  const series = !(d.inst && d.inst.rid && d.scope === 'one');
  const people = attendeesIn(d.attendees).map((a) => ({ label: a.name || a.email, email: a.email }));
  if (d.resource) {
    const r = (resources.value || []).find((x) => x.email.toLowerCase() === d.resource.toLowerCase());
    people.push({ label: r ? r.name : d.resource, email: d.resource });
  }
  const fbStart = d.allDay ? parseLocal(d.sDate) : parseLocal(d.sDate + 'T' + d.sTime);
  const fbEnd = d.allDay ? addDays(parseLocal(d.sDate), 1) : parseLocal(d.eDate + 'T' + d.eTime);
  const writable = calendars.value.filter((c) => canWrite(c.key));
  const readOnly = !d.isNew && !invite && !canWrite(d.inst.calKey);
  return (
    <Modal title={d.isNew ? t('newEvent') : invite ? t('invitation') : readOnly ? t('viewEvent') : t('editEvent')} onClose={close} wide>
      <form class="event-form" onSubmit={onSave}>
        {invite && (
          <div class="invite" role="group" aria-label={t('yourAnswer')}>
            <p>{t('invitedBy', { name: organizer ? (organizer.name || emailOf(organizer)) : '?' })}</p>
            {mine && <p>{t('yourAnswer')}: <strong class="partstat">{t('ps_' + mine[1].participationStatus)}</strong></p>}
            {mine && (
              <div class="field answer-comment">
                <label for="ev-comment">{t('answerComment')}</label>
                <input id="ev-comment" maxLength={500} value={d.comment ?? (mine[1].participationComment || '')} onInput={set('comment')} />
              </div>
            )}
            {mine && ['accepted', 'tentative', 'declined'].map((s) => (
              <button type="button" class={s === 'accepted' ? 'primary' : ''} onClick={run(() => answer(d.inst, s, d.comment ?? (mine[1].participationComment || '')), t('answered'))}>{t('answer_' + s)}</button>
            ))}
          </div>
        )}
        <fieldset disabled={invite || readOnly}>
          <Field label={t('eventTitle')} id="ev-title"><input id="ev-title" value={d.title} onInput={set('title')} required autofocus /></Field>
          {d.isNew && (
            <Field label={t('calendar')} id="ev-cal">
              <select id="ev-cal" value={d.calKey} onChange={set('calKey')}>
                {writable.map((c) => <option value={c.key}>{c.own ? c.name : `${c.name} (${(accounts.value.find((a) => a.id === c.acct) || {}).name})`}</option>)}
              </select>
            </Field>
          )}
          <label class="inline"><input type="checkbox" checked={d.allDay} onChange={set('allDay')} />{t('allDay')}</label>
          <div class="when">
            <Field label={t('startDate')} id="ev-sd"><input id="ev-sd" type="date" value={d.sDate} onInput={set('sDate')} required /></Field>
            {!d.allDay && <Field label={t('startTime')} id="ev-st"><input id="ev-st" type="time" value={d.sTime} onInput={set('sTime')} required /></Field>}
            <Field label={t('endDate')} id="ev-ed"><input id="ev-ed" type="date" value={d.eDate} onInput={set('eDate')} required /></Field>
            {!d.allDay && <Field label={t('endTime')} id="ev-et"><input id="ev-et" type="time" value={d.eTime} onInput={set('eTime')} required /></Field>}
          </div>
          {!(d.inst && d.inst.rid && d.scope === 'one') && (
            <div class="when">
              <Field label={t('repeat')} id="ev-freq">
                <select id="ev-freq" value={d.freq} onChange={set('freq')}>
                  {['', 'daily', 'weekly', 'monthly', 'yearly'].map((f) => <option value={f}>{t('freq_' + (f || 'none'))}</option>)}
                </select>
              </Field>
              {d.freq && <Field label={t('repeatInterval')} id="ev-int"><input id="ev-int" type="number" min="1" max="999" value={d.interval} onInput={set('interval')} /></Field>}
              {d.freq && <Field label={t('repeatCount')} id="ev-count"><input id="ev-count" type="number" min="1" max="999" value={d.count} onInput={set('count')} placeholder={t('forever')} /></Field>}
              {d.freq && <Field label={t('repeatUntil')} id="ev-until"><input id="ev-until" type="date" value={d.until} onInput={set('until')} /></Field>}
            </div>
          )}
          {series && d.freq === 'weekly' && (
            <fieldset class="weekdays">
              <legend>{t('onWeekdays')}</legend>
              {WEEKDAYS.map((w, i) => (
                <label class="inline"><input type="checkbox" value={w} checked={d.byDay.includes(w)}
                  onChange={(ev) => { const on = ev.currentTarget.checked; editing.value = { ...editing.value, ruleTouched: true, byDay: on ? [...editing.value.byDay, w] : editing.value.byDay.filter((x) => x !== w) }; }} />
                  {fmt(new Date(2024, 0, 1 + i), { weekday: 'short' })}</label>
              ))}
            </fieldset>
          )}
          <Field label={t('location')} id="ev-loc"><input id="ev-loc" value={d.location} onInput={set('location')} /></Field>
          <Field label={t('description')} id="ev-desc"><textarea id="ev-desc" rows="3" value={d.description} onInput={set('description')} /></Field>
          {series && (
            <Field label={t('attendees')} id="ev-att">
              <AddressInput id="ev-att" name="attendees" defaultValue={d.attendees} placeholder="name@example.org, …"
                onValue={(v) => { editing.value = { ...editing.value, attendees: v }; }} />
            </Field>
          )}
          {series && (
            <Field label={t('roomOrEquipment')} id="ev-res">
              <select id="ev-res" value={d.resource} onChange={set('resource')}>
                <option value="">{t('noRoom')}</option>
                {(resources.value || []).map((r) => <option value={r.email}>{`${r.name} (${t('kind_' + r.kind)})`}</option>)}
                {d.resource && !isResourceAddr(d.resource) && <option value={d.resource}>{d.resource}</option>}
              </select>
            </Field>
          )}
        </fieldset>
        {!invite && !readOnly && series && <FreeBusy me={me.value} people={people} date={d.sDate} start={fbStart} end={fbEnd} reloadKey={loaded.value} />}
        {others.length > 0 && (
          <ul class="attendees" aria-label={t('attendees')}>
            {others.map(([k, p]) => (
              <li data-email={emailOf(p)} class={'ps-' + (p.participationStatus || 'needs-action')}>
                {p.name || emailOf(p)}{isResource(p) ? ` (${t('kind_' + (p.kind === 'resource' ? 'resource' : 'room'))})` : ''} — <span class="partstat">{t('ps_' + (p.participationStatus || 'needs-action'))}</span>
                {p.participationComment && <q class="ps-comment">{p.participationComment}</q>}
              </li>
            ))}
          </ul>
        )}
        {d.inst && d.inst.rid && !invite && !readOnly && (
          <fieldset class="scope">
            <legend>{t('applyTo')}</legend>
            <label class="inline"><input type="radio" name="scope" value="one" checked={d.scope === 'one'} onChange={set('scope')} />{t('scopeOne')}</label>
            <label class="inline"><input type="radio" name="scope" value="following" checked={d.scope === 'following'} onChange={set('scope')} />{t('scopeFollowing')}</label>
            <label class="inline"><input type="radio" name="scope" value="all" checked={d.scope === 'all'} onChange={set('scope')} />{t('scopeAll')}</label>
          </fieldset>
        )}
        <div class="actions">
          {!d.isNew && !invite && !readOnly && <button type="button" class="danger" onClick={run(() => remove(d), t('eventDeleted'))}>{t('delete')}</button>}
          <span class="grow" />
          <button type="button" onClick={close}>{invite || readOnly ? t('close') : t('cancel')}</button>
          {!invite && !readOnly && <button type="submit" class="primary">{t('save')}</button>}
        </div>
      </form>
    </Modal>
  );
}

function ScopeDialog() {
  const done = (v) => () => { const a = ask.value; ask.value = null; a.resolve(v); };
  return (
    <Modal title={t('changeRecurring')} onClose={done(null)}>
      <p>{t('changeRecurringText')}</p>
      <div class="actions">
        <button onClick={done(null)}>{t('cancel')}</button>
        <button onClick={done('all')}>{t('scopeAll')}</button>
        <button onClick={done('following')}>{t('scopeFollowing')}</button>
        <button class="primary" onClick={done('one')}>{t('scopeOne')}</button>
      </div>
    </Modal>
  );
}

export default function Calendar() {
  useEffect(() => {
    gw([['ParticipantIdentity/get', {}, 'p']]).then((r) => {
      const p = r.p.list[0];
      me.value = p ? ((p.sendTo && p.sendTo.imip) || '').replace(/^mailto:/i, '') : '';
    }).catch(fail);
    reload();
    loadResources();
    let timer;
    const stop = pushEvents(() => { clearTimeout(timer); timer = setTimeout(reload, 300); });
    return stop;
  }, []);
  const [from] = range();
  const v = view.value;
  return (
    <div class="gw calendar">
      <TopBar />
      <Sidebar />
      <main class="cal-main">
        <Toolbar />
        {v === 'week' && <TimeGrid days={Array.from({ length: 7 }, (_, i) => addDays(from, i))} />}
        {v === 'day' && <TimeGrid days={[from]} />}
        {v === 'month' && <MonthGrid />}
        {v === 'agenda' && <Agenda />}
      </main>
      {editing.value && <EventDialog />}
      {ask.value && <ScopeDialog />}
      {calEditing.value && <CalendarDialog />}
      <div class="toast" role="status" aria-live="polite">{toast.value}</div>
    </div>
  );
}
