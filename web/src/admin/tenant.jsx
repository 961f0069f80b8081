// A tenant's settings in the web admin: its quota warning level, the
// default quota of its users, the tenants that see its address list
// (viewers) and its administrators; PATCH /v1/tenants/{tenant} and
// PUT/DELETE …/viewers/{tenant} and …/admins/{login}, and its contacts
// (contacts.jsx, which its administrators change). The store lets only
// system administrators change the rest; a tenant administrator sees their
// own tenant's (and no other).
import { t } from '../i18n.js';
import { admin } from '../adminapi.js';
import { run, useLoad, Loading, me } from '../admin.jsx';
import { Contacts } from './contacts.jsx';
import './strings.js';

const MB = 1 << 20;
const mb = (n) => (n ? Math.round(n / MB) : '');

// Members is a list of names with a remove button each and an add form.
function Members({ title, names, addLabel, path, onDone, system }) {
  const add = async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const name = new FormData(form).get('name');
    if (await run(() => admin('PUT', `${path}/${encodeURIComponent(name)}`), t('adminSaved', { name }))) { form.reset(); onDone(); }
  };
  return (
    <fieldset>
      <legend>{title}</legend>
      {names.length === 0 ? <p>{t('adminNone')}</p> : (
        <ul class="members">
          {names.map((n) => (
            <li key={n}>{n}{system && <> <button type="button" onClick={() => run(() => admin('DELETE', `${path}/${encodeURIComponent(n)}`), t('adminSaved', { name: n })).then(onDone)}>
              {t('adminRemove')}<span class="sr"> {t('tenantRemoveNamed', { name: n })}</span></button></>}</li>
          ))}
        </ul>
      )}
      {system && (
        <form class="inline-form" onSubmit={add}>
          <input name="name" aria-label={addLabel} required />
          <button type="submit">{t('adminAdd')}</button>
        </form>
      )}
    </fieldset>
  );
}

export function TenantEdit({ name, onDone }) {
  const path = `/v1/tenants/${encodeURIComponent(name)}`;
  const { data: x, err, reload } = useLoad(path);
  if (!x) return <Loading err={err} />;
  const system = me.value?.admin >= 2;
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const body = {};
    for (const k of ['quota_warn', 'user_quota_warn', 'user_quota_soft', 'user_quota_hard']) body[`${k}_mb`] = Number(f.get(k) || 0);
    if (await run(() => admin('PATCH', path, body), t('adminSaved', { name }))) { reload(); onDone(); }
  };
  const done = () => { reload(); onDone(); };
  return (
    <div class="admin-form tenant-edit" role="region" aria-labelledby="h-tenant-edit">
      <h3 id="h-tenant-edit">{t('tenantEdit', { name })}</h3>
      {!system && <p class="muted">{t('tenantOnlySystem')}</p>}
      <form onSubmit={save} class="admin-form">
        <label>{t('tenantQuotaWarn')} <input name="quota_warn" type="number" min="0" defaultValue={mb(x.quota_warn)} disabled={!system} /></label>
        <fieldset>
          <legend>{t('tenantUserQuotas')}</legend>
          <label>{t('adminQuotaWarn')} <input name="user_quota_warn" type="number" min="0" defaultValue={mb(x.user_quota_warn)} disabled={!system} /></label>
          <label>{t('adminQuotaSoft')} <input name="user_quota_soft" type="number" min="0" defaultValue={mb(x.user_quota_soft)} disabled={!system} /></label>
          <label>{t('adminQuotaHard')} <input name="user_quota_hard" type="number" min="0" defaultValue={mb(x.user_quota_hard)} disabled={!system} /></label>
        </fieldset>
        {system && <button class="primary" type="submit">{t('adminSave')}</button>}
      </form>
      <Members title={t('tenantViewers')} names={x.viewers || []} addLabel={t('tenantViewerAdd')} path={`${path}/viewers`} onDone={done} system={system} />
      <Members title={t('tenantAdminsTitle')} names={x.admins || []} addLabel={t('tenantAdminAdd')} path={`${path}/admins`} onDone={done} system={system} />
      <Contacts tenant={x.name} />
    </div>
  );
}
