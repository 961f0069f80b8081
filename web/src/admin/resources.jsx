// The web admin's rooms and equipment: users that do not sign in (not
// active) whose invitations are answered by rules (auto-accept, decline
// conflicts, decline recurring) and, for equipment, a capacity above one
// unit; the same settings as `roost admin user update --mr-…`. Over the
// admin API: POST /v1/users, PATCH and DELETE /v1/users/{login}; the
// store decides which tenants the administrator reaches.
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { admin } from '../adminapi.js';
import { run, useLoad, Loading, me } from '../admin.jsx';
import './strings.js';

// isResource tells a room or equipment from the other users (as the
// store's CalendarUserType does: not active, with a capacity above one or
// a meeting-request rule).
export const isResource = (u) => !u.active && !!u.resource &&
  (u.resource.capacity > 1 || u.resource.auto_accept || u.resource.decline_conflict || u.resource.decline_recurring);

// settingsOf reads the form's rules and capacity: a room has capacity 0,
// equipment at least 2 units.
// A room without a rule would be a shared mailbox, not a room.
function settingsOf(f) {
  const equipment = f.get('kind') === 'equipment';
  if (!equipment && !['accept', 'conflict', 'recurring'].some((k) => f.get(k) === 'on')) throw new Error(t('resNeedsRule'));
  return {
    mr_accept: f.get('accept') === 'on', mr_decline_conflict: f.get('conflict') === 'on', mr_decline_recurring: f.get('recurring') === 'on',
    capacity: equipment ? Math.max(2, Number(f.get('capacity')) || 2) : 0,
  };
}

// Fields are the kind, capacity and rules of the new and the edit form
// (uncontrolled: the list reloads beside them).
function Fields({ r, id }) {
  const kind = useSignal(r && r.capacity > 1 ? 'equipment' : 'room');
  return (
    <>
      <fieldset>
        <legend>{t('resKind')}</legend>
        <label class="inline"><input type="radio" name="kind" value="room" checked={kind.value === 'room'} onChange={() => { kind.value = 'room'; }} /> {t('resRoom')}</label>
        <label class="inline"><input type="radio" name="kind" value="equipment" checked={kind.value === 'equipment'} onChange={() => { kind.value = 'equipment'; }} /> {t('resEquipment')}</label>
      </fieldset>
      {kind.value === 'equipment' && <label>{t('resCapacity')} <input name="capacity" type="number" min="2" max="100000" required defaultValue={r && r.capacity > 1 ? r.capacity : 2} id={id + '-cap'} /></label>}
      <fieldset>
        <legend>{t('resRules')}</legend>
        <label class="inline"><input type="checkbox" name="accept" defaultChecked={r ? r.auto_accept : true} /> {t('resAutoAccept')}</label>
        <label class="inline"><input type="checkbox" name="conflict" defaultChecked={r ? r.decline_conflict : true} /> {t('resDeclineConflict')}</label>
        <label class="inline"><input type="checkbox" name="recurring" defaultChecked={r ? r.decline_recurring : false} /> {t('resDeclineRecurring')}</label>
      </fieldset>
    </>
  );
}

function ResourceEdit({ u, onDone }) {
  const path = `/v1/users/${encodeURIComponent(u.login)}`;
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    if (await run(() => admin('PATCH', path, { name: f.get('name'), email: f.get('email'), ...settingsOf(f) }), t('adminSaved', { name: u.login }))) onDone();
  };
  const del = () => confirm(t('adminConfirmDelete', { name: u.login })) &&
    run(() => admin('DELETE', path), t('adminDeleted', { name: u.login })).then((ok) => ok && onDone(true));
  return (
    <form class="admin-form" onSubmit={save} aria-labelledby="h-res-edit">
      <h3 id="h-res-edit">{t('resEdit', { name: u.login })}</h3>
      <label>{t('adminFullName')} <input name="name" defaultValue={u.full_name} /></label>
      <label>{t('adminEmail')} <input name="email" type="email" defaultValue={u.email} /></label>
      <Fields r={u.resource} id="res-edit" />
      <p class="actions">
        <button class="primary" type="submit">{t('adminSave')}</button>{' '}
        <button type="button" class="danger" onClick={del}>{t('resDelete', { name: u.login })}</button>
      </p>
    </form>
  );
}

export function Resources() {
  const list = useLoad('/v1/users');
  const sel = useSignal('');
  const fresh = useSignal(0); // a new form after a create (its kind back to room)
  const onCreate = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const login = f.get('login');
    const body = { login, name: f.get('name') || undefined, email: f.get('email') || undefined, active: false };
    if (me.value?.admin >= 2 && f.get('tenant')) body.tenant = f.get('tenant');
    const ok = await run(async () => {
      const rules = settingsOf(f);
      await admin('POST', '/v1/users', body);
      await admin('PATCH', `/v1/users/${encodeURIComponent(login)}`, rules);
    }, t('adminCreated', { name: login }));
    if (ok) { fresh.value++; list.reload(); }
  };
  if (!list.data) return <Loading err={list.err} />;
  const res = list.data.filter(isResource);
  const yes = (b) => (b ? t('resYes') : t('resNo'));
  const chosen = res.find((u) => u.login === sel.value);
  return (
    <section aria-labelledby="h-resources">
      <h2 id="h-resources">{t('resTitle')}</h2>
      <p class="muted">{t('resHelp')}</p>
      {res.length === 0 ? <p>{t('resNone')}</p> : (
        <div class="table-scroll" tabindex="0" role="region" aria-labelledby="h-resources">
          <table class="admin-table">
            <thead><tr>
              <th scope="col">{t('adminLogin')}</th><th scope="col">{t('adminFullName')}</th><th scope="col">{t('adminEmail')}</th><th scope="col">{t('adminTenant')}</th>
              <th scope="col">{t('resKind')}</th><th scope="col">{t('resCapacity')}</th><th scope="col">{t('resColAccept')}</th>
              <th scope="col">{t('resColConflict')}</th><th scope="col">{t('resColRecurring')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th>
            </tr></thead>
            <tbody>
              {res.map((u) => (
                <tr key={u.login} aria-current={sel.value === u.login ? 'true' : undefined}>
                  <th scope="row">{u.login}</th><td>{u.full_name}</td><td>{u.email}</td><td>{u.tenant}</td>
                  <td>{u.resource.capacity > 1 ? t('resEquipment') : t('resRoom')}</td><td>{u.resource.capacity > 1 ? u.resource.capacity : ''}</td>
                  <td>{yes(u.resource.auto_accept)}</td><td>{yes(u.resource.decline_conflict)}</td><td>{yes(u.resource.decline_recurring)}</td>
                  <td><button onClick={() => { sel.value = u.login; }}>{t('adminEdit')}<span class="sr"> {u.login}</span></button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {chosen && <ResourceEdit key={chosen.login} u={chosen} onDone={(gone) => { if (gone) sel.value = ''; list.reload(); }} />}
      <form key={fresh.value} class="admin-form" onSubmit={onCreate} aria-labelledby="h-res-new">
        <h3 id="h-res-new">{t('resNew')}</h3>
        <label>{t('adminLogin')} <input name="login" required autocomplete="off" /></label>
        <label>{t('adminFullName')} <input name="name" autocomplete="off" /></label>
        <label>{t('adminEmail')} <input name="email" type="email" autocomplete="off" /></label>
        {me.value?.admin >= 2 && <label>{t('adminTenant')} <input name="tenant" /></label>}
        <Fields r={null} id="res-new" />
        <button class="primary" type="submit">{t('adminCreate')}</button>
      </form>
    </section>
  );
}
