// The account settings at /settings (loaded on demand, its own chunk):
// out-of-office (the same state as `roost admin user oof`), password
// change, app passwords and tokens (the secret shown once), sign out
// everywhere, the Apple configuration profile, the ActiveSync devices
// (wipe and remove, as `roost admin device`), theme and language. Over
// /web/self/… (the admin API for the signed-in user) and
// /web/api/password.
import { useEffect } from 'preact/hooks';
import { signal, useSignal } from '@preact/signals';
import { t } from './i18n.js';
import { self, changePassword } from './adminapi.js';
import { logout } from './jmap.js';
import { Sharing } from './settings/sharing.jsx';
import { RestoreDeleted } from './settings/restore.jsx';
import { FilterRules } from './settings/filters.jsx';
import { Signatures } from './settings/signatures.jsx';
import { fmtDateTime } from './prefs/prefs.js';
import { DatePrefs } from './prefs/section.jsx';
import { TrustedSenders } from './mail2/trusted.jsx';

const note = signal('');

async function run(fn, ok) {
  try {
    await fn();
    note.value = ok;
    return true;
  } catch (e) {
    note.value = t('adminFailed', { msg: e.message });
    return false;
  }
}

// local turns an ISO time into the value of a datetime-local input.
function local(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function OutOfOffice() {
  const oof = useSignal(null);
  const load = () => self('GET', 'oof').then((o) => { oof.value = o; }, (e) => { note.value = t('adminFailed', { msg: e.message }); });
  useEffect(() => { load(); }, []);
  if (!oof.value) return <p role="status">{t('loading')}</p>;
  const o = oof.value;
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const zero = '0001-01-01T00:00:00Z';
    const at = (k) => (f.get(k) ? new Date(f.get(k)).toISOString() : zero);
    const body = { enabled: f.get('enabled') === 'on', subject: f.get('subject'), message: f.get('message'), from: at('from'), until: at('until') };
    if (await run(async () => { oof.value = await self('PATCH', 'oof', body); }, t('settingsSaved'))) { /* shown */ }
  };
  return (
    <form class="admin-form" onSubmit={save} aria-labelledby="h-oof">
      <h2 id="h-oof">{t('oofTitle')}</h2>
      <label class="inline"><input type="checkbox" name="enabled" checked={o.enabled} /> {t('oofEnabled')}</label>
      <label>{t('subject')} <input name="subject" value={o.subject} /></label>
      <label>{t('oofMessage')} <textarea name="message" rows="4">{o.message}</textarea></label>
      <label>{t('oofFrom')} <input name="from" type="datetime-local" value={local(o.from)} /></label>
      <label>{t('oofUntil')} <input name="until" type="datetime-local" value={local(o.until)} /></label>
      <button class="primary" type="submit">{t('adminSave')}</button>
    </form>
  );
}

function Password() {
  const save = async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = new FormData(form);
    if (f.get('new') !== f.get('repeat')) { note.value = t('passwordMismatch'); return; }
    try {
      await changePassword(f.get('current'), f.get('new'));
      note.value = t('passwordChanged');
      form.reset();
    } catch (e) {
      note.value = e.status === 401 ? t('passwordWrong') : t('adminFailed', { msg: e.message });
    }
  };
  return (
    <form class="admin-form" onSubmit={save} aria-labelledby="h-pw">
      <h2 id="h-pw">{t('passwordTitle')}</h2>
      <input type="text" name="username" autocomplete="username" hidden />
      <label>{t('passwordCurrent')} <input name="current" type="password" autocomplete="current-password" required /></label>
      <label>{t('passwordNew')} <input name="new" type="password" autocomplete="new-password" required minlength="8" /></label>
      <label>{t('passwordRepeat')} <input name="repeat" type="password" autocomplete="new-password" required minlength="8" /></label>
      <button class="primary" type="submit">{t('passwordChange')}</button>
    </form>
  );
}

// Secrets lists app passwords or tokens; a new one's secret is shown
// once, here, and never again.
function Secrets({ kind }) {
  const list = useSignal(null);
  const shown = useSignal(null);
  const load = () => self('GET', kind).then((l) => { list.value = l; }, (e) => { note.value = t('adminFailed', { msg: e.message }); });
  useEffect(() => { load(); }, []);
  const create = async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const name = new FormData(form).get('name');
    await run(async () => {
      const r = await self('PUT', `${kind}/${encodeURIComponent(name)}`, {});
      shown.value = { name, secret: r.password || r.token };
      form.reset();
    }, t('adminCreated', { name }));
    load();
  };
  const revoke = (name) => run(() => self('DELETE', `${kind}/${encodeURIComponent(name)}`), t('secretRevoked', { name })).then(load);
  const h = kind === 'tokens' ? 'tokensTitle' : 'appPasswordsTitle';
  return (
    <section class="admin-form" aria-labelledby={`h-${kind}`}>
      <h2 id={`h-${kind}`}>{t(h)}</h2>
      <p class="muted">{t(kind === 'tokens' ? 'tokensHelp' : 'appPasswordsHelp')}</p>
      {list.value && (list.value.length === 0 ? <p>{t('adminNone')}</p> : (
        <table class="admin-table">
          <thead><tr><th scope="col">{t('adminName')}</th><th scope="col">{t('secretCreated')}</th><th scope="col">{t('secretLastUsed')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
          <tbody>
            {list.value.map((s) => (
              <tr key={s.name}>
                <th scope="row">{s.name}</th><td>{fmtDateTime(s.created)}</td><td>{s.last_used ? fmtDateTime(s.last_used) : '—'}</td>
                <td><button class="danger" onClick={() => revoke(s.name)}>{t('secretRevoke')}<span class="sr"> {s.name}</span></button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {shown.value && (
        <div class="secret" role="alert">
          <p>{t('secretShownOnce', { name: shown.value.name })}</p>
          <p><code class="secret-value">{shown.value.secret}</code></p>
          <button onClick={() => { shown.value = null; }}>{t('secretHide')}</button>
        </div>
      )}
      <form class="inline-form" onSubmit={create}>
        <label>{t('secretName')} <input name="name" required pattern="[A-Za-z0-9._\-]{1,64}" /></label>
        <button class="primary" type="submit">{t('adminCreate')}</button>
      </form>
    </section>
  );
}

// when formats an API time ('' and Go's zero time: a dash).
const when = (iso) => (iso && !iso.startsWith('0001-') ? fmtDateTime(iso) : '—');

function deviceState(d) {
  const w = d.wipe;
  if (w?.state === 'done') return t('deviceWiped', { when: when(w.done) });
  if (w?.state === 'account-done') return t('deviceAccountWiped', { when: when(w.done) });
  if (w?.state === 'account') return t('deviceAccountWipePending');
  if (w) return t('deviceWipePending');
  return d.policy_key ? t('deviceProvisioned') : t('deviceNotProvisioned');
}

// Account-only wipe needs protocol 16.1 ([MS-ASPROV] AccountOnlyRemoteWipe).
const accountWipe = (d) => parseFloat(d.protocol_version || '0') >= 16.1;

const deviceActions = {
  wipe: { q: 'deviceWipeQ', text: 'deviceWipeText', confirm: 'deviceWipeConfirm', done: 'deviceWipeRequested' },
  account: { q: 'deviceWipeAccountQ', text: 'deviceWipeAccountText', confirm: 'deviceWipeAccountConfirm', done: 'deviceAccountWipeRequested' },
  remove: { q: 'deviceRemoveQ', text: 'deviceRemoveText', confirm: 'deviceRemoveConfirm', done: 'deviceRemoved' },
};

// MobileDevices lists the user's ActiveSync devices with wipe (the whole
// device, or only this account's data on 16.1 devices) and remove, each
// asked again in a dialog first. The wipe happens at the device's next
// request (Provision).
function MobileDevices() {
  const list = useSignal(null);
  const ask = useSignal(null); // { d, action }
  const load = () => self('GET', 'devices').then((l) => { list.value = l; }, (e) => { note.value = t('adminFailed', { msg: e.message }); });
  useEffect(() => { load(); }, []);
  const act = async () => {
    const { d, action } = ask.value;
    ask.value = null;
    const id = encodeURIComponent(d.id);
    await run(() => (action === 'remove' ? self('DELETE', `devices/${id}`) : self('POST', `devices/${id}/wipe`, { account_only: action === 'account' })),
      t(deviceActions[action].done, { name: d.id }));
    load();
  };
  const a = ask.value && deviceActions[ask.value.action];
  return (
    <div class="devices" role="region" aria-labelledby="h-mobile">
      <h3 id="h-mobile">{t('mobileDevicesTitle')}</h3>
      <p class="muted">{t('mobileDevicesHelp')}</p>
      {list.value && (list.value.length === 0 ? <p>{t('adminNone')}</p> : (
        <div class="table-scroll" tabindex="0">
          <table class="admin-table">
            <thead><tr>
              <th scope="col">{t('deviceId')}</th><th scope="col">{t('deviceModel')}</th>
              <th scope="col">{t('deviceFirstSync')}</th><th scope="col">{t('deviceLastSync')}</th>
              <th scope="col">{t('deviceState')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th>
            </tr></thead>
            <tbody>
              {list.value.map((d) => {
                const pending = d.wipe && (d.wipe.state === 'requested' || d.wipe.state === 'account');
                return (
                  <tr key={d.id}>
                    <th scope="row" class="device-id">{d.id}</th>
                    <td>{d.friendly_name || d.model || d.type}
                      <div class="muted">{[d.os, d.protocol_version && t('deviceProtocol', { v: d.protocol_version })].filter(Boolean).join(' · ')}</div></td>
                    <td>{when(d.first_sync)}</td><td>{when(d.last_sync)}</td><td>{deviceState(d)}</td>
                    <td><div class="device-actions">
                      {!pending && <button class="danger" onClick={() => { ask.value = { d, action: 'wipe' }; }}>{t('deviceWipe')}<span class="sr"> {d.id}</span></button>}
                      {!pending && accountWipe(d) && <button class="danger" onClick={() => { ask.value = { d, action: 'account' }; }}>{t('deviceWipeAccount')}<span class="sr"> {d.id}</span></button>}
                      <button onClick={() => { ask.value = { d, action: 'remove' }; }}>{t('deviceRemove')}<span class="sr"> {d.id}</span></button>
                    </div></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ))}
      {a && (
        <dialog ref={(el) => { if (el && !el.open) el.showModal(); }} aria-labelledby="device-q" aria-describedby="device-text"
          onCancel={(e) => { e.preventDefault(); ask.value = null; }}>
          <h2 id="device-q">{t(a.q, { name: ask.value.d.id })}</h2>
          <p id="device-text">{t(a.text)}</p>
          <div class="actions">
            <button onClick={() => { ask.value = null; }}>{t('cancel')}</button>
            <button class={ask.value.action === 'remove' ? 'primary' : 'danger'} onClick={act}>{t(a.confirm)}</button>
          </div>
        </dialog>
      )}
    </div>
  );
}

export function Settings({ user, Appearance }) {
  return (
    <div class="admin settings">
      <header class="top">
        <span class="brand">{t('settings')}</span>
        <span class="muted">{user.login}</span>
        <a class="button" href="/">{t('adminBackToMail')}</a>
        {user.admin >= 1 && <a class="button" href="/admin">{t('adminTitle')}</a>}
      </header>
      <main class="admin-main">
        <h1 class="sr">{t('settings')}</h1>
        <p class="note" role="status" aria-live="polite">{note.value}</p>
        <OutOfOffice />
        <DatePrefs />
        <FilterRules />
        <Password />
        <RestoreDeleted />
        <Signatures note={(s) => { note.value = s; }} />
        <TrustedSenders note={(s) => { note.value = s; }} />
        <Secrets kind="app-passwords" />
        <Secrets kind="tokens" />
        <Sharing />
        <section class="admin-form wide" aria-labelledby="h-devices">
          <h2 id="h-devices">{t('devicesTitle')}</h2>
          <p><a class="button" href="/web/self/profile" download="roost.mobileconfig">{t('profileDownload')}</a></p>
          <p class="muted">{t('profileHelp')}</p>
          <MobileDevices />
          <p><button onClick={async () => { await logout(true); location.href = '/'; }}>{t('signOutEverywhere')}</button></p>
        </section>
        <section class="admin-form" aria-labelledby="h-look">
          <h2 id="h-look">{t('appearance')}</h2>
          <Appearance />
        </section>
      </main>
    </div>
  );
}
