// The settings' time zone, date and time format and first day of the
// week (the server keeps them per user: /web/api/prefs).
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { prefs, savePrefs, browserZone, locale } from './prefs.js';
import './strings.js';

// The zones the browser knows (IANA names), the chosen one among them.
function zones(current) {
  let list = [];
  try { list = Intl.supportedValuesOf('timeZone'); } catch { /* older browsers: the chosen and the browser's */ }
  const all = new Set([...list, browserZone, 'UTC']);
  if (current) all.add(current);
  return [...all].sort();
}

const sample = new Date(Date.UTC(2026, 11, 31, 13, 0));
const clock = (h) => new Intl.DateTimeFormat(locale(), { hour: 'numeric', minute: '2-digit', hourCycle: h, timeZone: 'UTC' }).format(sample);

export function DatePrefs() {
  const note = useSignal('');
  const p = prefs.value;
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    try {
      await savePrefs({ timeZone: f.get('timeZone'), dateFormat: f.get('dateFormat'), timeFormat: f.get('timeFormat'), weekStart: f.get('weekStart') });
      note.value = t('prefsSaved');
    } catch (e) {
      note.value = t('adminFailed', { msg: e.message });
    }
  };
  const auto = new Intl.DateTimeFormat(locale(), { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' }).format(sample);
  return (
    <form class="admin-form" onSubmit={save} aria-labelledby="h-prefs" id="date-prefs">
      <h2 id="h-prefs">{t('prefsTitle')}</h2>
      <p class="muted">{t('prefsHelp')}</p>
      <label>{t('prefsZone')}
        <select name="timeZone" value={p.timeZone}>
          <option value="">{t('prefsZoneBrowser', { zone: browserZone })}</option>
          {zones(p.timeZone).map((z) => <option value={z}>{z}</option>)}
        </select>
      </label>
      <label>{t('prefsDateFormat')}
        <select name="dateFormat" value={p.dateFormat}>
          <option value="">{t('prefsDateAuto', { example: auto })}</option>
          <option value="dmy">31.12.2026</option>
          <option value="mdy">12/31/2026</option>
          <option value="ymd">2026-12-31</option>
        </select>
      </label>
      <label>{t('prefsTimeFormat')}
        <select name="timeFormat" value={p.timeFormat}>
          <option value="">{t('prefsDateAuto', { example: clock(undefined) })}</option>
          <option value="24">{t('prefsTime24', { example: clock('h23') })}</option>
          <option value="12">{t('prefsTime12', { example: clock('h12') })}</option>
        </select>
      </label>
      <label>{t('prefsWeekStart')}
        <select name="weekStart" value={p.weekStart}>
          <option value="">{t('prefsMonday')}</option>
          <option value="sun">{t('prefsSunday')}</option>
          <option value="sat">{t('prefsSaturday')}</option>
        </select>
      </label>
      <button class="primary" type="submit">{t('adminSave')}</button>
      <p class="note" role="status" aria-live="polite">{note.value}</p>
    </form>
  );
}
