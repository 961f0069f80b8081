// The user's display preferences (time zone, date and time format, first
// day of the week), kept on the server per user (GET/PUT /web/api/prefs)
// so they follow the user from browser to browser. Empty fields are the
// browser's own: its zone, its language's date format. Every date the app
// shows goes through the formatters here.
import { signal } from '@preact/signals';
import { lang } from '../i18n.js';

export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'Etc/UTC';

export const prefs = signal({ timeZone: '', dateFormat: '', timeFormat: '', weekStart: '' });

// loadPrefs reads the preferences once at start; a failure leaves the
// browser's own.
export async function loadPrefs() {
  try {
    const r = await fetch('/web/api/prefs', { credentials: 'same-origin' });
    if (r.ok) prefs.value = await r.json();
  } catch { /* the browser's own */ }
}

export async function savePrefs(p) {
  const r = await fetch('/web/api/prefs', {
    method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(p),
  });
  let data = null;
  try { data = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new Error((data && (data.message || data.error)) || String(r.status));
  prefs.value = data;
  return data;
}

// zone is the zone dates are shown in.
export const zone = () => prefs.value.timeZone || browserZone;

// weekStart is the first day of the week as Date.getDay() numbers it
// (Monday unless chosen otherwise).
export const weekStart = () => ({ sun: 0, sat: 6 }[prefs.value.weekStart] ?? 1);

// locale is the browser's own when it is of the app's language (en-GB
// rather than en: 24-hour times), else the app's language.
export const locale = () => ((navigator.language || '').split('-')[0] === lang.value ? navigator.language : lang.value);

// hourOpts adds the chosen clock (24 or 12 hours) to Intl options.
export const hourOpts = (o) => {
  const tf = prefs.value.timeFormat;
  return tf === '24' ? { ...o, hourCycle: 'h23' } : tf === '12' ? { ...o, hourCycle: 'h12' } : o;
};

const cache = new Map();
function formatter(o) {
  const k = locale() + '|' + zone() + '|' + JSON.stringify(o);
  let f = cache.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(locale(), { ...o, timeZone: zone() });
    cache.set(k, f);
  }
  return f;
}

function parts(d) {
  const p = {};
  for (const x of formatter({ year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d)) p[x.type] = x.value;
  return p;
}

// fmtDate is a short date in the chosen zone and format (31.12.2026,
// 12/31/2026, 2026-12-31, or the language's own).
export function fmtDate(d) {
  d = new Date(d);
  const f = prefs.value.dateFormat;
  if (!f) return formatter({ year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const p = parts(d);
  return f === 'ymd' ? `${p.year}-${p.month}-${p.day}` : f === 'mdy' ? `${p.month}/${p.day}/${p.year}` : `${p.day}.${p.month}.${p.year}`;
}

// fmtTime is hours and minutes in the chosen zone and clock.
export const fmtTime = (d) => formatter(hourOpts({ hour: '2-digit', minute: '2-digit' })).format(new Date(d));

// fmtDateTime is fmtDate and fmtTime.
export const fmtDateTime = (d) => `${fmtDate(d)} ${fmtTime(d)}`;

// fmtShort is the message list's: the time for today, else the date
// (today as seen in the chosen zone).
export function fmtShort(d, now = new Date()) {
  d = new Date(d);
  if (fmtDate(d) === fmtDate(now)) return fmtTime(d);
  return prefs.value.dateFormat ? fmtDate(d) : formatter({ day: 'numeric', month: 'short', year: '2-digit' }).format(d);
}

// fmt formats with Intl options in the chosen zone (and clock).
export const fmt = (d, o) => formatter(o.hour ? hourOpts(o) : o).format(new Date(d));
