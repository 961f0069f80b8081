// The web admin at /admin (loaded on demand, its own chunk): tenants,
// domains with their DNS records, users, groups, orphaned stores, the
// outbound queue and the system status, all over the admin API with the
// session's principal (adminapi.js). A tenant administrator sees only
// their tenant because the store answers so, not because this hides it.
import { useEffect } from 'preact/hooks';
import { signal, useSignal } from '@preact/signals';
import { t } from './i18n.js';
import { admin, size } from './adminapi.js';
import { fmtDateTime } from './prefs/prefs.js';
import { Resources } from './admin/resources.jsx';
import { TenantEdit } from './admin/tenant.jsx';

const tab = signal('users');
const note = signal(''); // the last action's result, announced
export const me = signal(null);

const TABS = ['tenants', 'domains', 'users', 'resources', 'groups', 'orphans', 'queue', 'status'];
const FEATURES = ['imap', 'pop3', 'smtp', 'web', 'dav', 'jmap', 'eas'];

export async function run(fn, ok) {
  try {
    await fn();
    if (ok) note.value = ok;
    return true;
  } catch (e) {
    note.value = t('adminFailed', { msg: e.message });
    return false;
  }
}

// useLoad fetches path into a signal, again whenever reload() is called.
export function useLoad(path) {
  const data = useSignal(null);
  const err = useSignal('');
  const n = useSignal(0);
  useEffect(() => {
    let live = true;
    admin('GET', path).then((d) => { if (live) { data.value = d; err.value = ''; } },
      (e) => { if (live) err.value = e.message; });
    return () => { live = false; };
  }, [path, n.value]);
  return { data: data.value, err: err.value, reload: () => { n.value++; } };
}

export function Loading({ err }) {
  return err ? <p class="error" role="alert">{t('adminFailed', { msg: err })}</p> : <p role="status">{t('loading')}</p>;
}

function Tenants() {
  const { data, err, reload } = useLoad('/v1/tenants');
  const sel = useSignal('');
  const onCreate = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    if (await run(() => admin('POST', '/v1/tenants', { name: f.get('name') }), t('adminCreated', { name: f.get('name') }))) { ev.currentTarget?.reset(); reload(); }
  };
  if (!data) return <Loading err={err} />;
  return (
    <section aria-labelledby="h-tenants">
      <h2 id="h-tenants">{t('adminTenants')}</h2>
      <table class="admin-table">
        <thead><tr><th scope="col">{t('adminName')}</th><th scope="col">{t('adminAdmins')}</th><th scope="col">{t('adminUsage')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
        <tbody>
          {data.map((x) => (
            <tr key={x.name}>
              <th scope="row">{x.name}</th>
              <td>{(x.admins || []).join(', ')}</td>
              <td>{x.usage ? x.usage.size_human : ''}</td>
              <td><button onClick={() => { sel.value = x.name; }}>{t('adminEdit')}<span class="sr"> {x.name}</span></button>{' '}
                {me.value?.admin >= 2 && <button class="danger" onClick={() => confirm(t('adminConfirmDelete', { name: x.name })) &&
                run(() => admin('DELETE', `/v1/tenants/${encodeURIComponent(x.name)}`), t('adminDeleted', { name: x.name })).then(reload)}>{t('delete')}<span class="sr"> {x.name}</span></button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sel.value && <TenantEdit key={sel.value} name={sel.value} onDone={reload} />}
      {me.value?.admin >= 2 && (
        <form class="admin-form" onSubmit={onCreate}>
          <h3>{t('adminNewTenant')}</h3>
          <label>{t('adminName')} <input name="name" required /></label>
          <button class="primary" type="submit">{t('adminCreate')}</button>
        </form>
      )}
    </section>
  );
}

function Domains() {
  const { data, err, reload } = useLoad('/v1/domains');
  const sel = useSignal('');
  const onAdd = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const body = { name: f.get('name') };
    if (f.get('tenant')) body.tenant = f.get('tenant');
    if (await run(() => admin('POST', '/v1/domains', body), t('adminCreated', { name: body.name }))) reload();
  };
  if (!data) return <Loading err={err} />;
  return (
    <section aria-labelledby="h-domains">
      <h2 id="h-domains">{t('adminDomains')}</h2>
      <table class="admin-table">
        <thead><tr><th scope="col">{t('adminDomain')}</th><th scope="col">{t('adminTenant')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
        <tbody>
          {data.map((d) => (
            <tr key={d.name} aria-current={sel.value === d.name ? 'true' : undefined}>
              <th scope="row">{d.name}</th>
              <td>{d.tenant}</td>
              <td>
                <button onClick={() => { sel.value = d.name; }}>{t('adminDNS')}<span class="sr"> {d.name}</span></button>{' '}
                <button class="danger" onClick={() => confirm(t('adminConfirmDelete', { name: d.name })) &&
                  run(() => admin('DELETE', `/v1/domains/${encodeURIComponent(d.name)}`), t('adminDeleted', { name: d.name })).then(reload)}>{t('delete')}<span class="sr"> {d.name}</span></button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="admin-form" onSubmit={onAdd}>
        <h3>{t('adminNewDomain')}</h3>
        <label>{t('adminDomain')} <input name="name" required /></label>
        {me.value?.admin >= 2 && <label>{t('adminTenant')} <input name="tenant" /></label>}
        <button class="primary" type="submit">{t('adminAdd')}</button>
      </form>
      {sel.value && <DomainDNS key={sel.value} domain={sel.value} />}
    </section>
  );
}

// DomainDNS is the table `roost admin domain dns` prints, and on request
// the result of `roost admin domain check` (live DNS lookups).
function DomainDNS({ domain }) {
  const { data, err } = useLoad(`/v1/domains/${encodeURIComponent(domain)}/dns`);
  const check = useSignal(null);
  const checking = useSignal(false);
  const doCheck = async () => {
    checking.value = true;
    await run(async () => { check.value = await admin('GET', `/v1/domains/${encodeURIComponent(domain)}/check`); });
    checking.value = false;
  };
  if (!data) return <Loading err={err} />;
  const state = (r) => {
    const c = check.value?.results?.find((x) => x.name === r.name && x.type === r.type && x.value === r.value);
    return c ? c.state : '';
  };
  return (
    <div class="dns" id="dns">
      <h3>{t('adminDNSFor', { domain })}</h3>
      <p class="muted">{t('adminDNSHelp')}</p>
      <table class="admin-table dns-table">
        <thead><tr><th scope="col">{t('adminRecordName')}</th><th scope="col">{t('adminRecordType')}</th><th scope="col">{t('adminRecordValue')}</th><th scope="col">{t('adminRecordAbout')}</th>{check.value && <th scope="col">{t('adminCheckState')}</th>}</tr></thead>
        <tbody>
          {data.records.map((r) => (
            <tr>
              <td><code>{r.name}</code></td><td>{r.type}</td><td class="value"><code>{r.value}</code></td><td>{r.about}</td>
              {check.value && <td class={`state-${state(r)}`}>{state(r)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <p><button onClick={doCheck} disabled={checking.value}>{checking.value ? t('loading') : t('adminCheckDNS')}</button></p>
      <details><summary>{t('adminZone')}</summary><pre class="zone">{data.zone}</pre></details>
    </div>
  );
}

function Usage({ u }) {
  const st = u.store;
  if (!st) return null;
  const max = st.quota.hard || st.quota.soft || st.quota.warn;
  const label = max ? t('adminUsageOf', { used: size(st.size), max: size(max) }) : size(st.size);
  return (
    <span class="usage">
      {max > 0 && <meter min="0" max={max} low={st.quota.warn || undefined} high={st.quota.soft || undefined} value={st.size} aria-label={t('adminUsageFor', { login: u.login, usage: label })} />}
      <span>{label}</span>
    </span>
  );
}

function Users() {
  const list = useLoad('/v1/users');
  const details = useSignal({}); // login → user with store usage
  const sel = useSignal('');
  useEffect(() => {
    if (!list.data) return;
    const want = list.data.slice(0, 100);
    Promise.all(want.map((u) => admin('GET', `/v1/users/${encodeURIComponent(u.login)}`).catch(() => u))).then((us) => {
      const m = {};
      for (const u of us) m[u.login] = u;
      details.value = m;
    });
  }, [list.data]);
  const onCreate = async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const f = new FormData(form);
    const body = { login: f.get('login'), name: f.get('name') || undefined, email: f.get('email') || undefined, password: f.get('password') };
    if (f.get('tenant')) body.tenant = f.get('tenant');
    if (await run(() => admin('POST', '/v1/users', body), t('adminCreated', { name: body.login }))) { form.reset(); list.reload(); sel.value = body.login; }
  };
  if (!list.data) return <Loading err={list.err} />;
  return (
    <section aria-labelledby="h-users">
      <h2 id="h-users">{t('adminUsers')}</h2>
      <table class="admin-table">
        <thead><tr><th scope="col">{t('adminLogin')}</th><th scope="col">{t('adminFullName')}</th><th scope="col">{t('adminEmail')}</th><th scope="col">{t('adminTenant')}</th><th scope="col">{t('adminStatus')}</th><th scope="col">{t('adminUsage')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
        <tbody>
          {list.data.map((u0) => {
            const u = details.value[u0.login] || u0;
            return (
              <tr key={u.login} aria-current={sel.value === u.login ? 'true' : undefined}>
                <th scope="row">{u.login}</th><td>{u.full_name}</td><td>{u.email}</td><td>{u.tenant}</td>
                <td>{u.active ? t('adminActive') : t('adminDisabled')}{u.admin ? ` · ${t(u.admin >= 2 ? 'adminSystemAdmin' : 'adminTenantAdmin')}` : ''}</td>
                <td><Usage u={u} /></td>
                <td><button onClick={() => { sel.value = u.login; }}>{t('adminEdit')}<span class="sr"> {u.login}</span></button></td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {sel.value && <UserEdit key={sel.value} login={sel.value} onDone={() => { list.reload(); }} onDeleted={() => { sel.value = ''; list.reload(); }} />}
      <form class="admin-form" onSubmit={onCreate} aria-labelledby="h-newuser">
        <h3 id="h-newuser">{t('adminNewUser')}</h3>
        <label>{t('adminLogin')} <input name="login" required autocomplete="off" /></label>
        <label>{t('adminFullName')} <input name="name" autocomplete="off" /></label>
        <label>{t('adminEmail')} <input name="email" type="email" autocomplete="off" /></label>
        <label>{t('passwordLabel')} <input name="password" type="password" required autocomplete="new-password" /></label>
        {me.value?.admin >= 2 && <label>{t('adminTenant')} <input name="tenant" /></label>}
        <button class="primary" type="submit">{t('adminCreate')}</button>
      </form>
    </section>
  );
}

const MB = 1 << 20;

function UserEdit({ login, onDone, onDeleted }) {
  const { data: u, err, reload } = useLoad(`/v1/users/${encodeURIComponent(login)}`);
  if (!u) return <Loading err={err} />;
  const path = `/v1/users/${encodeURIComponent(login)}`;
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const body = {
      name: f.get('name'), email: f.get('email'), active: f.get('active') === 'on',
      quota_override: f.get('quota_override') === 'on',
    };
    for (const k of ['warn', 'soft', 'hard']) {
      const v = f.get(`quota_${k}`);
      if (v !== '' && v !== null) body[`quota_${k}_mb`] = Number(v);
    }
    const on = FEATURES.filter((x) => f.get(`f_${x}`) === 'on');
    body.enable_feature = on.filter((x) => !u.features.effective.includes(x));
    body.disable_feature = FEATURES.filter((x) => !on.includes(x) && u.features.effective.includes(x));
    const sendAs = String(f.get('send_as') || '').split(/[\s,]+/).filter(Boolean);
    body.sendas_add = sendAs.filter((x) => !(u.send_as || []).includes(x));
    body.sendas_remove = (u.send_as || []).filter((x) => !sendAs.includes(x));
    if (f.get('password')) body.password = f.get('password');
    if (await run(() => admin('PATCH', path, body), t('adminSaved', { name: login }))) { reload(); onDone(); }
  };
  const del = () => confirm(t('adminConfirmDelete', { name: login })) &&
    run(() => admin('DELETE', path), t('adminDeleted', { name: login })).then((ok) => ok && onDeleted());
  // The fields are uncontrolled (defaultValue, defaultChecked): the list
  // beside this form reloads while the administrator types, and a
  // controlled field would be put back to the loaded value.
  const q = u.quota;
  const mb = (n) => (n ? Math.round(n / MB) : '');
  return (
    <form class="admin-form user-edit" onSubmit={save} aria-labelledby="h-edit">
      <h3 id="h-edit">{t('adminEditUser', { login })}</h3>
      <label>{t('adminFullName')} <input name="name" defaultValue={u.full_name} /></label>
      <label>{t('adminEmail')} <input name="email" type="email" defaultValue={u.email} /></label>
      <label class="inline"><input type="checkbox" name="active" defaultChecked={u.active} /> {t('adminActive')}</label>
      <label>{t('adminNewPassword')} <input name="password" type="password" autocomplete="new-password" /></label>
      <fieldset>
        <legend>{t('adminQuota')}</legend>
        {u.store && <p><Usage u={u} /> <span class="muted">{t('adminQuotaSource', { source: u.store.quota.source })}</span></p>}
        <label class="inline"><input type="checkbox" name="quota_override" defaultChecked={q.override} /> {t('adminQuotaOverride')}</label>
        <label>{t('adminQuotaWarn')} <input name="quota_warn" type="number" min="0" defaultValue={mb(q.warn)} /></label>
        <label>{t('adminQuotaSoft')} <input name="quota_soft" type="number" min="0" defaultValue={mb(q.soft)} /></label>
        <label>{t('adminQuotaHard')} <input name="quota_hard" type="number" min="0" defaultValue={mb(q.hard)} /></label>
      </fieldset>
      <fieldset>
        <legend>{t('adminFeatures')}</legend>
        {FEATURES.map((x) => <label class="inline"><input type="checkbox" name={`f_${x}`} defaultChecked={u.features.effective.includes(x)} /> {x}</label>)}
      </fieldset>
      <label>{t('adminSendAs')} <input name="send_as" defaultValue={(u.send_as || []).join(', ')} /></label>
      <p class="actions">
        <button class="primary" type="submit">{t('adminSave')}</button>{' '}
        <button type="button" class="danger" onClick={del}>{t('adminDeleteUser')}</button>
      </p>
    </form>
  );
}

function Groups() {
  const { data, err, reload } = useLoad('/v1/groups');
  const onCreate = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    if (await run(() => admin('POST', '/v1/groups', { name: f.get('name'), email: f.get('email') || undefined }), t('adminCreated', { name: f.get('name') }))) reload();
  };
  // kind: 'members' (a user's login) or 'contacts' (a contact's address:
  // mail to the group goes out to it too).
  const member = (g, method, kind = 'members') => async (ev) => {
    ev.preventDefault();
    const who = new FormData(ev.currentTarget).get(kind === 'members' ? 'login' : 'email');
    const q = `?tenant=${encodeURIComponent(g.tenant)}`;
    if (await run(() => admin(method, `/v1/groups/${encodeURIComponent(g.name)}/${kind}/${encodeURIComponent(who)}${kind === 'members' ? '' : q}`), t('adminSaved', { name: g.name }))) reload();
  };
  if (!data) return <Loading err={err} />;
  return (
    <section aria-labelledby="h-groups">
      <h2 id="h-groups">{t('adminGroups')}</h2>
      <table class="admin-table">
        <thead><tr><th scope="col">{t('adminName')}</th><th scope="col">{t('adminEmail')}</th><th scope="col">{t('adminTenant')}</th><th scope="col">{t('adminMembers')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
        <tbody>
          {data.map((g) => (
            <tr key={g.tenant + g.name}>
              <th scope="row">{g.name}</th><td>{g.email}</td><td>{g.tenant}</td>
              <td>{(g.members || []).join(', ')}{(g.contacts || []).length > 0 && <div>{t('adminGroupContacts', { list: g.contacts.join(', ') })}</div>}</td>
              <td>{!g.builtin && <>
                <form class="inline-form" onSubmit={member(g, 'PUT')}>
                  <input name="login" aria-label={t('adminMemberOf', { group: g.name })} required />
                  <button type="submit">{t('adminAdd')}</button>
                  <button type="button" onClick={(e) => member(g, 'DELETE')({ preventDefault() {}, currentTarget: e.currentTarget.form })}>{t('adminRemove')}</button>
                </form>
                <form class="inline-form" onSubmit={member(g, 'PUT', 'contacts')}>
                  <input name="email" type="email" aria-label={t('adminContactOf', { group: g.name })} required />
                  <button type="submit">{t('adminAdd')}</button>
                  <button type="button" onClick={(e) => member(g, 'DELETE', 'contacts')({ preventDefault() {}, currentTarget: e.currentTarget.form })}>{t('adminRemove')}</button>
                </form>
                <button class="danger" onClick={() => confirm(t('adminConfirmDelete', { name: g.name })) &&
                  run(() => admin('DELETE', `/v1/groups/${encodeURIComponent(g.name)}`), t('adminDeleted', { name: g.name })).then(reload)}>{t('delete')}<span class="sr"> {g.name}</span></button>
              </>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="admin-form" onSubmit={onCreate}>
        <h3>{t('adminNewGroup')}</h3>
        <label>{t('adminName')} <input name="name" required /></label>
        <label>{t('adminEmail')} <input name="email" type="email" /></label>
        <button class="primary" type="submit">{t('adminCreate')}</button>
      </form>
    </section>
  );
}

function Orphans() {
  const { data, err, reload } = useLoad('/v1/stores/orphans');
  if (!data) return <Loading err={err} />;
  return (
    <section aria-labelledby="h-orphans">
      <h2 id="h-orphans">{t('adminOrphans')}</h2>
      {data.length === 0 ? <p>{t('adminNone')}</p> : (
        <table class="admin-table">
          <thead><tr><th scope="col">ID</th><th scope="col">{t('adminTenant')}</th><th scope="col">{t('adminFormerOwner')}</th><th scope="col">{t('adminUsage')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
          <tbody>
            {data.map((s) => (
              <tr key={s.id}>
                <th scope="row">{s.id}</th><td>{s.tenant}</td><td>{s.former_owner}</td><td>{s.size_human} · {s.messages}</td>
                <td>
                  <form class="inline-form" onSubmit={async (ev) => {
                    ev.preventDefault();
                    const user = new FormData(ev.currentTarget).get('user');
                    if (await run(() => admin('POST', `/v1/stores/${s.id}/hook`, { user }), t('adminSaved', { name: String(s.id) }))) reload();
                  }}>
                    <input name="user" aria-label={t('adminHookTo', { id: s.id })} required />
                    <button type="submit">{t('adminHook')}</button>
                  </form>
                  <button class="danger" onClick={() => confirm(t('adminConfirmDelete', { name: String(s.id) })) &&
                    run(() => admin('DELETE', `/v1/stores/${s.id}`), t('adminDeleted', { name: String(s.id) })).then(reload)}>{t('delete')}<span class="sr"> {s.id}</span></button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Queue() {
  const { data, err, reload } = useLoad('/v1/queue');
  if (!data) return <Loading err={err} />;
  const act = (id, method, suffix) => run(() => admin(method, `/v1/queue/${id}${suffix}`), t('adminSaved', { name: String(id) })).then(reload);
  return (
    <section aria-labelledby="h-queue">
      <h2 id="h-queue">{t('adminQueue')}</h2>
      <p><button onClick={reload}>{t('adminRefresh')}</button></p>
      {data.length === 0 ? <p>{t('adminQueueEmpty')}</p> : (
        <table class="admin-table">
          <thead><tr><th scope="col">ID</th><th scope="col">{t('adminFrom')}</th><th scope="col">{t('adminRecipients')}</th><th scope="col">{t('adminAttempts')}</th><th scope="col">{t('adminNextAttempt')}</th><th scope="col">{t('adminLastError')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
          <tbody>
            {data.map((m) => (
              <tr key={m.id}>
                <th scope="row">{m.id}</th><td>{m.from || '<>'}</td>
                <td>{m.recipients.map((r) => `${r.addr} (${r.state})`).join(', ')}</td>
                <td>{m.attempts}</td><td>{fmtDateTime(m.next_attempt)}</td><td>{m.last_error}</td>
                <td>
                  <button onClick={() => act(m.id, 'POST', '/retry')}>{t('adminRetry')}<span class="sr"> {m.id}</span></button>{' '}
                  <button class="danger" onClick={() => confirm(t('adminConfirmDelete', { name: String(m.id) })) && act(m.id, 'DELETE', '')}>{t('delete')}<span class="sr"> {m.id}</span></button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Status() {
  const { data, err } = useLoad('/v1/stats');
  if (!data) return <Loading err={err} />;
  const rt = data.runtime;
  return (
    <section aria-labelledby="h-status">
      <h2 id="h-status">{t('adminStatusTitle')}</h2>
      <dl class="stats">
        <dt>{t('adminVersion')}</dt><dd>{data.version}</dd>
        <dt>{t('adminStarted')}</dt><dd>{fmtDateTime(data.started)}</dd>
        <dt>{t('adminUsers')}</dt><dd>{t('adminUserCounts', { total: data.users.total, active: data.users.active, admins: data.users.admins })}</dd>
        <dt>{t('adminQueue')}</dt><dd>{data.queue_messages}</dd>
        {rt && <><dt>{t('adminDatabase')}</dt><dd>{rt.database} · {size(rt.database_bytes)}</dd>
          <dt>{t('adminBlobs')}</dt><dd>{rt.blob_bytes >= 0 ? `${size(rt.blob_bytes)} · ${rt.blob_files}` : '—'}</dd>
          <dt>{t('adminSessions')}</dt><dd>{Object.entries(rt.sessions || {}).map(([k, v]) => `${k} ${v}`).join(', ') || '0'}</dd></>}
      </dl>
      <table class="admin-table">
        <caption>{t('adminTenants')}</caption>
        <thead><tr><th scope="col">{t('adminName')}</th><th scope="col">{t('adminUsers')}</th><th scope="col">{t('adminUsage')}</th><th scope="col">{t('messages')}</th></tr></thead>
        <tbody>{(data.tenants || []).map((x) => <tr><th scope="row">{x.name}</th><td>{x.users}</td><td>{size(x.bytes)}</td><td>{x.messages}</td></tr>)}</tbody>
      </table>
    </section>
  );
}

const VIEWS = { tenants: Tenants, domains: Domains, users: Users, resources: Resources, groups: Groups, orphans: Orphans, queue: Queue, status: Status };

export function Admin({ user }) {
  me.value = user;
  const View = VIEWS[tab.value];
  return (
    <div class="admin">
      <header class="top">
        <span class="brand">{t('adminTitle')}</span>
        <span class="muted">{user.login}{user.admin < 2 ? ` · ${user.tenant}` : ''}</span>
        <a class="button" href="/">{t('adminBackToMail')}</a>
      </header>
      <nav class="admin-nav" aria-label={t('adminSections')}>
        {TABS.map((k) => (
          <button aria-current={tab.value === k ? 'page' : undefined} onClick={() => { tab.value = k; note.value = ''; }}>{t('adminTab_' + k)}</button>
        ))}
      </nav>
      <main class="admin-main">
        <h1 class="sr">{t('adminTitle')}</h1>
        <p class="note" role="status" aria-live="polite">{note.value}</p>
        <View key={tab.value} />
      </main>
    </div>
  );
}
