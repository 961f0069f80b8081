// Settings: restore deleted items (soft delete). The store keeps deleted
// messages and folders until the purge (softdelete_lifetime, docs/
// configuration.md); JMAP has no method for them, so this section talks
// to the session-cookie endpoints of internal/web (restore.go):
// GET /web/api/deleted?mailbox=&since=&position=&limit=,
// GET /web/api/deleted-folders and POST /web/api/restore.
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { fmtDateTime } from '../prefs/prefs.js';
import { api } from '../jmap.js';
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
  const folders = useSignal(null); // [{id, name}]
  const deadFolders = useSignal(null); // [{id, name, deletedAt}]
  const keepDays = useSignal(null); // days until the purge; 0: none
  const mailbox = useSignal('');
  const since = useSignal('');
  const page = useSignal(null); // { total, items }
  const picked = useSignal(new Set());
  const progress = useSignal(null); // { done, total }
  const status = useSignal('');

  const fail = (e) => { status.value = t('restoreFailed', { msg: e.message }); };
  const loadFolders = async () => {
    try {
      const r = await api([['Mailbox/get', { properties: ['id', 'name', 'parentId', 'role'] }, 'm']]);
      folders.value = folderPaths(r.m.list);
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
      page.value = r;
      picked.value = new Set();
      status.value = r.total ? t('restoreFound', { n: r.total }) : t('restoreNone');
    } catch (e) { fail(e); }
  };
  const more = async () => {
    try {
      const r = await call('GET', query(page.value.items.length));
      page.value = { total: r.total, items: [...page.value.items, ...r.items] };
    } catch (e) { fail(e); }
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
      status.value = t('restoredN', { n: ids.length });
      progress.value = null;
      await show();
      status.value = t('restoredN', { n: ids.length });
    } catch (e) {
      progress.value = null;
      fail(e);
      await show();
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
            {folders.value.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </select></label>
          <label>{t('restoreSince')} <input type="date" value={since.value} onChange={(e) => { since.value = e.currentTarget.value; }} /></label>
          <button type="submit">{t('restoreShow')}</button>
        </form>
      )}
      {page.value && items.length > 0 && (
        <div class="table-scroll">
          <table class="admin-table" aria-label={t('restoreItems')}>
            <thead><tr>
              <th scope="col"><input type="checkbox" checked={all} aria-label={t('restoreSelectAll')}
                onChange={(e) => { picked.value = e.currentTarget.checked ? new Set(items.map((it) => it.id)) : new Set(); }} /></th>
              <th scope="col">{t('subject')}</th><th scope="col">{t('restoreFrom')}</th>
              <th scope="col">{t('restoreDate')}</th><th scope="col">{t('restoreDeletedAt')}</th>
            </tr></thead>
            <tbody>
              {items.map((it) => (
                <tr key={it.id}>
                  <td><input type="checkbox" checked={picked.value.has(it.id)} aria-label={t('restoreSelect', { subject: it.subject || t('restoreNoSubject') })}
                    onChange={(e) => toggle(it.id, e.currentTarget.checked)} /></td>
                  <th scope="row">{it.subject || t('restoreNoSubject')}</th>
                  <td>{it.from || '—'}</td><td>{when(it.date)}</td><td>{when(it.deletedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page.value && items.length < page.value.total && (
        <p><button onClick={more}>{t('restoreMore', { n: page.value.total - items.length })}</button></p>
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
