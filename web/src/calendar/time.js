// Dates for the calendar. Times are shown in the user's zone (the one
// chosen in the settings, else the browser's); an event's own start is
// kept in its own zone (timeZone), so a move writes the wall-clock time of
// that zone.
//
// The views lay out "shown" Dates: Dates whose local (browser) fields are
// the wall clock of the user's zone, so the grid's arithmetic (getHours,
// setDate, …) needs no zone. shown() turns an instant into one, real()
// back; both are the identity when the user's zone is the browser's.
import { zone, weekStart } from '../prefs/prefs.js';

// userZone is the zone new events are created in and times are shown in.
export const userZone = () => zone();

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'Etc/UTC';
const same = () => zone() === browserZone;

// shown is the shown Date of an instant.
export const shown = (instant) => (same() ? new Date(instant) : parseLocal(wall(new Date(instant), zone())));

// real is the instant of a shown Date.
export const real = (d) => (same() ? new Date(d) : zonedInstant(localWall(d), zone()));

// zonedInstant is the instant of a wall-clock time ('YYYY-MM-DDThh:mm:ss')
// in a zone: the UTC reading of the wall clock, less the zone's offset
// there (found twice, for times near a change of offset).
export function zonedInstant(w, z) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(w);
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const offset = (t) => { const x = wall(new Date(t), z); const n = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(x); return Date.UTC(+n[1], +n[2] - 1, +n[3], +n[4], +n[5], +n[6]) - t; };
  let t = guess - offset(guess);
  t = guess - offset(t);
  return new Date(t);
}

const pad = (n) => String(n).padStart(2, '0');

// wall is the local date-time string of a Date in a zone ('YYYY-MM-DDThh:mm:ss').
export function wall(date, zone) {
  if (!zone) return localWall(date);
  const p = {};
  for (const x of new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(date)) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

export function localWall(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00`;
}

export const ymd = (d) => localWall(d).slice(0, 10);

// parseLocal reads 'YYYY-MM-DD[Thh:mm[:ss]]' as a local Date.
export function parseLocal(s) {
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?)?/.exec(s || '');
  if (!m) return null;
  return new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
}

// shiftWall adds minutes to a wall-clock string, as wall-clock arithmetic.
export function shiftWall(s, minutes) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(s);
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + minutes * 60000);
  return d.toISOString().slice(0, 19);
}

// Durations (RFC 8984 §1.4.6) in minutes, and back.
export function durMinutes(s) {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(s || '');
  if (!m) return 0;
  return (+(m[1] || 0)) * 10080 + (+(m[2] || 0)) * 1440 + (+(m[3] || 0)) * 60 + (+(m[4] || 0)) + Math.floor((+(m[5] || 0)) / 60);
}

export function durString(min, allDay) {
  if (allDay) return `P${Math.max(1, Math.round(min / 1440))}D`;
  if (min <= 0) return 'PT0S';
  const d = Math.floor(min / 1440), h = Math.floor((min % 1440) / 60), mm = min % 60;
  return `P${d ? d + 'D' : ''}${h || mm ? 'T' : ''}${h ? h + 'H' : ''}${mm ? mm + 'M' : ''}`;
}

export const addDays = (d, n) => { const x = new Date(d); x.setDate(x.getDate() + n); return x; };
export const startOfDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
// Weeks start on the chosen day (Monday unless chosen otherwise).
export const startOfWeek = (d) => addDays(startOfDay(d), -((d.getDay() - weekStart() + 7) % 7));
export const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
// utc is the UTC time of a shown Date, as JMAP's UTCDate.
export const utc = (d) => real(d).toISOString().slice(0, 19) + 'Z';
