// Settings: restore deleted items (soft delete): messages, events,
// contacts and tasks by folder (mailbox, calendar, address book or task
// list) and date, and deleted folders. The store keeps deleted items and
// folders until the purge (softdelete_lifetime, docs/
// configuration.md); JMAP has no method for them, so this section talks
// to the session-cookie endpoints of internal/web (restore.go):
// GET /web/api/deleted?mailbox=&since=&position=&limit=,
// GET /web/api/deleted-folders and POST /web/api/restore.
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { fmtDateTime } from '../prefs/prefs.js';
import { api } from '../jmap.js';
import { gwAll } from '../gw/jmap.js';
import './strings.js';

const PAGE = 50;
const BATCH = 50; // ids per restore request (the server takes at most 100)

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let data = null;
  try { data = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const e = new Error((data && data.message) || `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  return data;
}

const when = (iso) => (iso ? fmtDateTime(iso) : '—');
// start shows an event's start or a task's due: a date as written, a
// time in UTC in the user's zone, a zone's or floating time as written.
const start = (v) => (!v ? '—' : /^\d{4}-\d\d-\d\d$/.test(v) ? v : /Z$|[+-]\d\d:\d\d$/.test(v) ? fmtDateTime(v) : v.replace('T', ' ').slice(0, 16));

// The folder kinds, by the first letter of their JMAP id, with the
// catalogue keys of their group in the picker.
const KINDS = { M: 'mail', C: 'calendar', B: 'contacts', L: 'tasks' };
const GROUPS = [['mail', 'restoreGroupMail'], ['calendar', 'restoreGroupCalendars'], ['contacts', 'restoreGroupAddressBooks'], ['tasks', 'restoreGroupTaskLists']];
const kindOf = (id) => KINDS[(id || 'M')[0]] || 'mail';

// folderPaths names each mailbox by its path ("Clients / Acme").
function folderPaths(list) {
  const byId = new Map(list.map((m) => [m.id, m]));
  const path = (m, depth = 0) => {
    const p = m.parentId && byId.get(m.parentId);
    const name = m.role && m.role !== 'archive' ? t('role.' + m.role) : m.name;
    return p && depth < 20 ? path(p, depth + 1) + ' / ' + name : name;
  };
  return list.map((m) => ({ id: m.id, name: path(m), role: m.role })).sort((a, b) =>
    (a.role === 'inbox' ? -1 : b.role === 'inbox' ? 1 : a.name.localeCompare(b.name)));
}

export function RestoreDeleted() {
  const folders = useSignal(null); // [{id, name, kind}]
  const deadFolders = useSignal(null); // [{id, name, deletedAt}]
  const keepDays = useSignal(null); // days until the purge; 0: none
  const mailbox = useSignal('');
  const since = useSignal('');
  const page = useSignal(null); // { total, items }
  const picked = useSignal(new Set());
  const progress = useSignal(null); // { done, total }
  const loadingMore = useSignal(false); // a "Show more" request in flight
  const status = useSignal('');

  const fail = (e) => { status.value = e.status === 409 ? t('restoreConflict') : t('restoreFailed', { msg: e.message }); };
  const kind = kindOf(mailbox.value);
  const shownKind = page.value ? page.value.kind : kind;
  const mail = shownKind === 'mail';
  const loadFolders = async () => {
    try {
      const r = await api([['Mailbox/get', { properties: ['id', 'name', 'parentId', 'role'] }, 'm']]);
      const gwr = await gwAll([
        ['Calendar/get', { properties: ['id', 'name'] }, 'c'],
        ['AddressBook/get', { properties: ['id', 'name'] }, 'b'],
        ['TaskList/get', { properties: ['id', 'name'] }, 'l'],
      ]).catch(() => ({}));
      const others = [['c', 'calendar'], ['b', 'contacts'], ['l', 'tasks']].flatMap(([k, kind]) =>
        (gwr[k] && !gwr[k].methodError ? gwr[k].list : []).map((f) => ({ id: f.id, name: f.name, kind }))
          .sort((a, b) => a.name.localeCompare(b.name)));
      folders.value = [...folderPaths(r.m.list).map((f) => ({ ...f, kind: 'mail' })), ...others];
      if (!mailbox.value && folders.value.length) mailbox.value = (folders.value.find((f) => f.role === 'trash') || folders.value[0]).id;
      const d = await call('GET', '/web/api/deleted-folders');
      deadFolders.value = d.folders;
      keepDays.value = d.keepDays;
    } catch (e) { fail(e); }
  };
  useEffect(() => { loadFolders(); }, []);

  const query = (position) => `/web/api/deleted?mailbox=${encodeURIComponent(mailbox.value)}` +
    // since: the browser's midnight of the day picked.
    (since.value ? `&since=${encodeURIComponent(new Date(since.value + 'T00:00').toISOString())}` : '') + `&position=${position}&limit=${PAGE}`;
  const show = async (ev) => {
    if (ev) ev.preventDefault();
    try {
      const r = await call('GET', query(0));
      const k = kindOf(mailbox.value);
      page.value = { ...r, kind: k };
      picked.value = new Set();
      const m = k === 'mail';
      status.value = r.total ? t(m ? 'restoreFound' : 'restoreFoundItems', { n: r.total }) : t(m ? 'restoreNone' : 'restoreNoneItems');
    } catch (e) { fail(e); }
  };
  // more loads the next page once: a second click while one is loading
  // would ask for the same position and list its rows twice.
  const more = async () => {
    if (loadingMore.value) return;
    loadingMore.value = true;
    try {
      const r = await call('GET', query(page.value.items.length));
      const have = new Set(page.value.items.map((it) => it.id));
      page.value = { ...page.value, total: r.total, items: [...page.value.items, ...r.items.filter((it) => !have.has(it.id))] };
    } catch (e) { fail(e); } finally { loadingMore.value = false; }
  };
  const toggle = (id, on) => {
    const s = new Set(picked.value);
    if (on) s.add(id); else s.delete(id);
    picked.value = s;
  };
  const restore = async () => {
    const ids = [...picked.value];
    if (!ids.length) return;
    progress.value = { done: 0, total: ids.length };
    try {
      for (let i = 0; i < ids.length; i += BATCH) {
        await call('POST', '/web/api/restore', { items: ids.slice(i, i + BATCH) });
        progress.value = { done: Math.min(i + BATCH, ids.length), total: ids.length };
      }
      const done = t(mail ? 'restoredN' : 'restoredItems', { n: ids.length });
      status.value = done;
      progress.value = null;
      await show();
      status.value = done;
    } catch (e) {
      progress.value = null;
      await show();
      fail(e);
    }
  };
  const restoreFolder = async (f) => {
    try {
      await call('POST', '/web/api/restore', { folder: f.id });
      status.value = t('restoredFolder', { name: f.name });
      await loadFolders();
    } catch (e) { fail(e); }
  };

  const items = page.value ? page.value.items : [];
  const all = items.length > 0 && items.every((it) => picked.value.has(it.id));
  return (
    <section class="admin-form wide" aria-labelledby="h-restore">
      <h2 id="h-restore">{t('restoreTitle')}</h2>
      <p class="muted">{t('restoreHelp')} {keepDays.value === null ? '' : keepDays.value > 0 ? t('restoreKeep', { n: keepDays.value }) : t('restoreKeepForever')}</p>
      <p class="note" role="status" aria-live="polite">{status.value}</p>
      {!folders.value ? <p>{t('loading')}</p> : (
        <form class="inline-form" onSubmit={show}>
          <label>{t('restoreFolder')} <select value={mailbox.value} onChange={(e) => { mailbox.value = e.currentTarget.value; }}>
            {GROUPS.map(([k, label]) => {
              const fs = folders.value.filter((f) => f.kind === k);
              return fs.length > 0 && (
                <optgroup key={k} label={t(label)}>
                  {fs.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
                </optgroup>
              );
            })}
          </select></label>
          <label>{t('restoreSince')} <input type="date" value={since.value} onChange={(e) => { since.value = e.currentTarget.value; }} /></label>
          <button type="submit">{t(kind === 'mail' ? 'restoreShow' : 'restoreShowItems')}</button>
        </form>
      )}
      {page.value && items.length > 0 && (
        <div class="table-scroll">
          <table class="admin-table" aria-label={t(mail ? 'restoreItems' : 'restoreItemsOther')}>
            <thead><tr>
              <th scope="col"><input type="checkbox" checked={all} aria-label={t('restoreSelectAll')}
                onChange={(e) => { picked.value = e.currentTarget.checked ? new Set(items.map((it) => it.id)) : new Set(); }} /></th>
              {mail ? <>
                <th scope="col">{t('subject')}</th><th scope="col">{t('restoreFrom')}</th>
                <th scope="col">{t('restoreDate')}</th>
              </> : <>
                <th scope="col">{t(shownKind === 'contacts' ? 'restoreName' : 'restoreItemTitle')}</th>
                {shownKind !== 'contacts' && <th scope="col">{t(shownKind === 'tasks' ? 'restoreDue' : 'restoreStart')}</th>}
              </>}
              <th scope="col">{t('restoreDeletedAt')}</th>
            </tr></thead>
            <tbody>
              {items.map((it) => {
                // a broken event, task or contact shows its resource name
                const title = it.subject || (mail ? t('restoreNoSubject') : it.name || t('restoreNoTitle'));
                return (
                  <tr key={it.id}>
                    <td><input type="checkbox" checked={picked.value.has(it.id)} aria-label={t('restoreSelect', { subject: title })}
                      onChange={(e) => toggle(it.id, e.currentTarget.checked)} /></td>
                    <th scope="row">{title}</th>
                    {mail ? <><td>{it.from || '—'}</td><td>{when(it.date)}</td></>
                      : shownKind !== 'contacts' && <td>{start(it.start)}</td>}
                    <td>{when(it.deletedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {page.value && items.length < page.value.total && (
        <p><button onClick={more} disabled={loadingMore.value}>{t('restoreMore', { n: page.value.total - items.length })}</button></p>
      )}
      {page.value && items.length > 0 && (
        <p>
          <button class="primary" disabled={!picked.value.size || !!progress.value} onClick={restore}>
            {t('restoreSelected', { n: picked.value.size })}
          </button>
        </p>
      )}
      {progress.value && (
        <p><progress max={progress.value.total} value={progress.value.done} aria-label={t('restoreProgress')} /> {progress.value.done} / {progress.value.total}</p>
      )}
      <h3>{t('restoreFoldersTitle')}</h3>
      {deadFolders.value && (deadFolders.value.length === 0 ? <p>{t('restoreNoFolders')}</p> : (
        <table class="admin-table" aria-label={t('restoreFoldersTitle')}>
          <thead><tr><th scope="col">{t('adminName')}</th><th scope="col">{t('restoreDeletedAt')}</th><th scope="col"><span class="sr">{t('adminActions')}</span></th></tr></thead>
          <tbody>
            {deadFolders.value.map((f) => (
              <tr key={f.id}>
                <th scope="row">{f.name}</th><td>{when(f.deletedAt)}</td>
                <td><button onClick={() => restoreFolder(f)}>{t('restoreFolderButton')}<span class="sr"> {f.name}</span></button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
