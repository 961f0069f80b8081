// A tenant's contacts in the web admin: address book entries with an
// address and no account (a supplier, a partner); GET and POST
// /v1/contacts?tenant=…, PATCH and DELETE /v1/contacts/{email}?tenant=….
// The store lets the tenant's administrators change them and whoever sees
// the tenant list them; a refusal shows as the API's message.
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { admin } from '../adminapi.js';
import { run, useLoad, Loading } from '../admin.jsx';
import './strings.js';

function ContactEdit({ c, tenant, onDone }) {
  const path = `/v1/contacts/${encodeURIComponent(c.email)}?tenant=${encodeURIComponent(tenant)}`;
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const body = { email: f.get('email'), name: f.get('name'), hidden: f.get('hidden') === 'on' };
    if (await run(() => admin('PATCH', path, body), t('adminSaved', { name: body.email }))) onDone(body.email);
  };
  return (
    <form class="admin-form" onSubmit={save} aria-labelledby="h-contact-edit">
      <h5 id="h-contact-edit">{t('contactEdit', { name: c.email })}</h5>
      {c.directory && <p class="muted">{t('contactFromDirectory')}</p>}
      <label>{t('adminEmail')} <input name="email" type="email" required defaultValue={c.email} autocomplete="off" /></label>
      <label>{t('adminFullName')} <input name="name" defaultValue={c.name} maxLength={256} autocomplete="off" /></label>
      <label class="inline"><input type="checkbox" name="hidden" defaultChecked={c.hidden} /> {t('contactHidden')}</label>
      <p class="actions">
        <button class="primary" type="submit">{t('adminSave')}</button>{' '}
        <button type="button" onClick={() => onDone(null)}>{t('contactCancel')}</button>
      </p>
    </form>
  );
}

// Contacts lists the contacts of tenant with an edit and a delete button
// each, and a form to add one.
export function Contacts({ tenant }) {
  const q = `?tenant=${encodeURIComponent(tenant)}`;
  const { data, err, reload } = useLoad(`/v1/contacts${q}`);
  const sel = useSignal('');
  const fresh = useSignal(0); // an empty add form after a create
  const onCreate = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const email = f.get('email');
    const body = { email, name: f.get('name') || undefined, hidden: f.get('hidden') === 'on', tenant };
    if (await run(() => admin('POST', '/v1/contacts', body), t('adminCreated', { name: email }))) { fresh.value++; reload(); }
  };
  const del = (c) => confirm(t('adminConfirmDelete', { name: c.email })) &&
    run(() => admin('DELETE', `/v1/contacts/${encodeURIComponent(c.email)}${q}`), t('adminDeleted', { name: c.email }))
      .then((ok) => { if (ok && sel.value === c.email) sel.value = ''; reload(); });
  const chosen = data && data.find((c) => c.email === sel.value);
  return (
    <section class="contacts" aria-labelledby="h-tenant-contacts">
      <h4 id="h-tenant-contacts">{t('contactsTitle')}</h4>
      <p class="muted">{t('contactsHelp')}</p>
      {!data ? <Loading err={err} /> : data.length === 0 ? <p>{t('contactsNone')}</p> : (
        <div class="table-scroll" tabindex="0" role="region" aria-label={t('contactsList', { tenant })}>
          <table class="admin-table">
            <thead><tr>
              <th scope="col">{t('adminEmail')}</th><th scope="col">{t('adminFullName')}</th><th scope="col">{t('contactColHidden')}</th>
              <th scope="col">{t('contactColSource')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th>
            </tr></thead>
            <tbody>
              {data.map((c) => (
                <tr key={c.email} aria-current={sel.value === c.email ? 'true' : undefined}>
                  <th scope="row">{c.email}</th><td>{c.name}</td><td>{c.hidden ? t('resYes') : t('resNo')}</td>
                  <td>{c.directory ? t('contactSourceDirectory') : t('contactSourceLocal')}</td>
                  <td>
                    <button type="button" onClick={() => { sel.value = c.email; }}>{t('adminEdit')}<span class="sr"> {c.email}</span></button>{' '}
                    <button type="button" class="danger" onClick={() => del(c)}>{t('delete')}<span class="sr"> {c.email}</span></button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {chosen && <ContactEdit key={chosen.email} c={chosen} tenant={tenant} onDone={(email) => { sel.value = ''; if (email !== null) reload(); }} />}
      <form key={fresh.value} class="admin-form" onSubmit={onCreate} aria-labelledby="h-contact-new">
        <h5 id="h-contact-new">{t('contactNew')}</h5>
        <label>{t('adminEmail')} <input name="email" type="email" required autocomplete="off" /></label>
        <label>{t('adminFullName')} <input name="name" maxLength={256} autocomplete="off" /></label>
        <label class="inline"><input type="checkbox" name="hidden" /> {t('contactHidden')}</label>
        <button class="primary" type="submit">{t('contactAdd')}</button>
      </form>
    </section>
  );
}
