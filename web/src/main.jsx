// Roost's web client: sign-in, then the mail view. Everything goes through
// JMAP with the session cookie; see docs/web.md.
import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { signal, useSignal } from '@preact/signals';
import { me, login, logout, getSession, events, AuthError } from './jmap.js';
import { t, lang, setLang, languages } from './i18n.js';
import * as S from './state.js';
import { loadPrefs } from './prefs/prefs.js';
import { MessageList } from './list.jsx';
import { Reader } from './reader.jsx';
import { Compose } from './compose.jsx';
import { Dialog, Shortcuts, keyHandler } from './keys.jsx';
import './style.css';
import './gw/gw.css';
import './settings/settings.css';
import { section, Section, SectionNav } from './gw/lazy.jsx';
import { SharedFolders } from './shared.jsx';
import './sharing/strings.js';
import './xfer/strings.js';
import { AdvancedSearch } from './mail2/advanced.jsx';
import { MAX_QUERY } from './mail2/search.js';
import { loadTrusted } from './mail2/senders.js';
import { Preview } from './mail2/preview.jsx';

const phase = signal('boot'); // boot | login | mail | page (/admin, /settings)
const page = signal(null); // the on-demand view of /admin or /settings

// Theme: system, light or dark, remembered in the browser.
export const theme = signal(localStorage.getItem('roost.theme') || 'system');
function applyTheme(v) {
  if (v === 'light' || v === 'dark') document.documentElement.dataset.theme = v;
  else delete document.documentElement.dataset.theme;
}
applyTheme(theme.value);
export function setTheme(v) {
  theme.value = v;
  localStorage.setItem('roost.theme', v);
  applyTheme(v);
}

async function boot() {
  try {
    const u = await me();
    if (!u) { phase.value = 'login'; return; }
    S.user.value = u;
    await loadPrefs(); // the user's zone and date format, before any date is shown
    loadTrusted(); // the senders trusted with remote content
    // /admin and /settings are their own chunks, loaded only there.
    if (location.pathname === '/admin') {
      if (u.admin >= 1) {
        const { Admin } = await import('./admin.jsx');
        page.value = <Admin user={u} />;
      } else page.value = <NotAdmin />;
      phase.value = 'page';
      return;
    }
    if (location.pathname === '/settings') {
      const { Settings: Account } = await import('./settings.jsx');
      page.value = <Account user={u} Appearance={Appearance} />;
      phase.value = 'page';
      return;
    }
    await getSession();
    await S.loadMailboxes();
    phase.value = 'mail';
    S.selectFolder(S.currentMailbox.value);
  } catch (e) {
    if (e instanceof AuthError) phase.value = 'login';
    else { phase.value = 'login'; S.fail(e); }
  }
}

function Login() {
  const err = useSignal('');
  const busy = useSignal(false);
  const needCode = useSignal(false); // a second factor (TOTP) is asked for
  const onSubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    busy.value = true;
    const e = await login(f.get('login'), f.get('password'), f.get('code')).catch(() => 'unavailable');
    busy.value = false;
    if (e === 'secondFactor') {
      needCode.value = true;
      err.value = t('enterCode');
      setTimeout(() => document.getElementById('login-code')?.focus());
      return;
    }
    if (e) { err.value = t(e === 'badCredentials' || e === 'denied' ? (needCode.value && e === 'badCredentials' ? 'badCode' : e) : 'unavailable'); return; }
    // The cookie is Secure: over plain http (but localhost) the browser
    // drops it, and the sign-in would silently not stick.
    if (!(await me().catch(() => null))) { err.value = t('cookieRefused'); return; }
    phase.value = 'boot';
    boot();
  };
  return (
    <main class="login">
      <form method="post" action="/web/login" onSubmit={onSubmit} aria-labelledby="login-title">
        <h1 id="login-title">{t('signInTitle')}</h1>
        <label for="login-name">{t('loginLabel')}</label>
        <input id="login-name" name="login" autocomplete="username" required autofocus />
        <label for="login-password">{t('passwordLabel')}</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required />
        {needCode.value && <>
          <label for="login-code">{t('codeLabel')}</label>
          <input id="login-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6,8}" required />
        </>}
        <p class="error" role="alert">{err.value}</p>
        <button type="submit" class="primary" disabled={busy.value}>{t('signIn')}</button>
        <LanguageSelect />
      </form>
    </main>
  );
}

function LanguageSelect() {
  return (
    <label class="inline">
      {t('language')}{' '}
      <select value={lang.value} onChange={(e) => setLang(e.currentTarget.value)}>
        {Object.entries(languages).map(([k, v]) => <option value={k}>{v}</option>)}
      </select>
    </label>
  );
}

// The folder tree (ARIA tree: arrows move, Enter opens, F2 renames,
// Delete deletes); messages and folders drop onto a folder.
function Folders() {
  const onDrop = (id) => (ev) => {
    ev.preventDefault();
    ev.currentTarget.classList.remove('drop');
    const folder = ev.dataTransfer.getData('application/x-roost-folder');
    if (folder) { S.moveFolder(folder, id); return; }
    const emails = ev.dataTransfer.getData('application/x-roost-email');
    if (emails) S.moveTo(emails.split(','), id);
  };
  const onKey = (ev) => {
    const items = [...ev.currentTarget.querySelectorAll('[role=treeitem]')];
    const k = items.indexOf(document.activeElement);
    const go = (j) => { const el = items[Math.max(0, Math.min(items.length - 1, j))]; if (el) el.focus(); };
    const id = document.activeElement && document.activeElement.dataset.id;
    const act = {
      ArrowDown: () => go(k + 1), ArrowUp: () => go(k - 1), Home: () => go(0), End: () => go(items.length - 1),
      Enter: () => id && S.selectFolder(id), ' ': () => id && S.selectFolder(id),
      F2: () => id && openFolderAction('rename', id), Delete: () => id && openFolderAction('delete', id),
    }[ev.key];
    if (act) { ev.preventDefault(); ev.stopPropagation(); act(); }
  };
  const cur = S.currentMailbox.value;
  const focusId = S.tree.value.some(({ m }) => m.id === cur) ? cur : S.tree.value[0]?.m.id;
  return (
    <nav class="folders" aria-label={t('folders')}>
      <div class="folder-tools" role="toolbar" aria-label={t('folderActions')}>
        <button onClick={() => openFolderAction('create', null)}>{t('newFolder')}</button>
        <button onClick={() => openFolderAction('rename', cur)}>{t('rename')}</button>
        <button onClick={() => openFolderAction('move', cur)}>{t('moveFolder')}</button>
        <button onClick={() => openFolderAction('delete', cur)}>{t('deleteFolder')}</button>
      </div>
      <ul role="tree" aria-label={t('folders')} onKeyDown={onKey}>
        {S.tree.value.map(({ m, depth }) => (
          <li key={m.id} role="none">
            <div
              class="folder"
              role="treeitem"
              tabindex={m.id === focusId ? 0 : -1}
              aria-level={depth + 1}
              aria-selected={m.id === cur ? 'true' : 'false'}
              aria-current={m.id === cur ? 'page' : undefined}
              data-id={m.id}
              data-role={m.role || undefined}
              style={{ paddingInlineStart: `${0.75 + depth}rem` }}
              draggable={!m.role}
              onClick={() => S.selectFolder(m.id)}
              onDragStart={(ev) => { ev.dataTransfer.setData('application/x-roost-folder', m.id); ev.dataTransfer.effectAllowed = 'move'; }}
              onDragOver={(ev) => { ev.preventDefault(); ev.currentTarget.classList.add('drop'); }}
              onDragLeave={(ev) => ev.currentTarget.classList.remove('drop')}
              onDrop={onDrop(m.id)}
            >
              <span class="name">{S.mailboxName(m)}</span>
              {m.unreadEmails > 0 && <span class="count" aria-label={t('unreadCount', { n: m.unreadEmails })}>{m.unreadEmails}</span>}
            </div>
          </li>
        ))}
      </ul>
      <SharedFolders />
      {S.archiveTree.value.length > 0 && (
        <>
          <h2 class="archive-head">{t('onlineArchive')}</h2>
          <ul aria-label={t('onlineArchive')}>
            {S.archiveTree.value.map(({ m, depth }) => (
              <li key={m.id}>
                <button
                  class="folder"
                  style={{ paddingInlineStart: `${0.75 + depth}rem` }}
                  aria-current={m.id === S.currentMailbox.value ? 'page' : undefined}
                  onClick={() => S.selectFolder(m.id)}
                >
                  <span class="name">{m.name}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </nav>
  );
}

function openFolderAction(kind, id) {
  const acc = id ? S.accountOf(id) : null;
  const m = acc ? acc.mailboxes.find((x) => x.id === id) : null;
  if (kind === 'create') {
    // Inside a shared or public folder: with its mayCreateChild.
    const cur = S.currentFolder.value;
    const sh = S.currentShared.value;
    if (sh && cur) {
      if (cur.myRights && !cur.myRights.mayCreateChild) { S.notify(t('xferNoCreate', { name: S.mailboxName(cur) })); return; }
      S.folderAction.value = { kind, id: null, acct: sh.id, parent: cur.id };
      S.dialog.value = 'folder';
      return;
    }
  } else {
    if (!m) return;
    // The archive, and moving another's folder: its owner's.
    if (acc.archive || (acc.shared && kind === 'move')) { S.notify(t('shareFolderNotYours')); return; }
    // Inbox, Sent, Trash, …: the server's special-use folders stay.
    if (m.role) { S.notify(t('folderSpecial', { name: S.mailboxName(m) })); return; }
    // A shared or public folder: rename and delete with its mayRename
    // and mayDelete (one ACL right, x).
    if (acc.shared && m.myRights && !(kind === 'rename' ? m.myRights.mayRename : m.myRights.mayDelete)) {
      S.notify(t('xferNoRename', { name: m.name }));
      return;
    }
  }
  S.folderAction.value = { kind, id };
  S.dialog.value = 'folder';
}

// FolderDialog creates, renames, moves or (after confirming) deletes a
// folder.
function FolderDialog() {
  const a = S.folderAction.value;
  const m = a.id ? S.folderById(a.id) : null;
  const busy = useSignal(false);
  const done = (ok) => { busy.value = false; if (ok) { S.dialog.value = null; S.folderAction.value = null; } };
  const submit = (fn) => async (ev) => {
    ev.preventDefault();
    busy.value = true;
    done(await fn(new FormData(ev.currentTarget)));
  };
  if (a.kind === 'create') {
    return (
      <Dialog title={t('newFolder')}>
        <form class="folder-form" onSubmit={submit((f) => S.createFolder(f.get('name') || '', f.get('parent') || null))}>
          <label for="folder-name">{t('folderName')}</label>
          <input id="folder-name" name="name" required maxlength="200" autofocus />
          <label for="folder-parent">{t('folderParent')}</label>
          {/* In a shared or public account: inside its folders that
              allow it (no top level there: mayCreateTopLevelMailbox). */}
          <select id="folder-parent" name="parent" defaultValue={a.parent || ''}>
            {!a.acct && <option value="">{t('topLevel')}</option>}
            {(a.acct ? S.sharedTree(S.sharedAccounts.value.find((x) => x.id === a.acct) || { mailboxes: [] }).filter(({ m: p }) => !p.myRights || p.myRights.mayCreateChild)
              : S.tree.value).map(({ m: p, depth }) => <option value={p.id}>{'\u00a0'.repeat(depth * 2) + S.mailboxName(p)}</option>)}
          </select>
          <button type="submit" class="primary" disabled={busy.value}>{t('create')}</button>
        </form>
      </Dialog>
    );
  }
  if (!m) return null;
  if (a.kind === 'rename') {
    return (
      <Dialog title={t('renameFolder', { name: m.name })}>
        <form class="folder-form" onSubmit={submit((f) => S.renameFolder(m.id, f.get('name') || ''))}>
          <label for="folder-name">{t('folderName')}</label>
          {/* defaultValue: a folder list refreshed by push while the user
              types must not put the old name back. */}
          <input id="folder-name" name="name" required maxlength="200" defaultValue={m.name} autofocus />
          <button type="submit" class="primary" disabled={busy.value}>{t('rename')}</button>
        </form>
      </Dialog>
    );
  }
  if (a.kind === 'move') {
    const below = S.descendants(m.id);
    const go = async (pid) => { busy.value = true; done(await S.moveFolder(m.id, pid)); };
    return (
      <Dialog title={t('moveFolderTitle', { name: m.name })}>
        <ul class="move-list">
          {m.parentId && <li><button onClick={() => go(null)}>{t('topLevel')}</button></li>}
          {S.tree.value.filter(({ m: p }) => p.id !== m.id && p.id !== m.parentId && !below.has(p.id)).map(({ m: p, depth }) => (
            <li><button style={{ paddingInlineStart: `${0.5 + depth}rem` }} disabled={busy.value} onClick={() => go(p.id)}>{S.mailboxName(p)}</button></li>
          ))}
        </ul>
      </Dialog>
    );
  }
  // delete: say what goes with it.
  return (
    <Dialog title={t('deleteFolder')}>
      <p>{m.totalEmails > 0 ? t('deleteFolderConfirmN', { name: m.name, n: m.totalEmails }) : t('deleteFolderConfirm', { name: m.name })}</p>
      <p><button class="danger" disabled={busy.value} onClick={async () => { busy.value = true; done(await S.deleteFolder(m.id)); }}>{t('deleteFolderYes')}</button></p>
    </Dialog>
  );
}

function Header() {
  const onSearch = (ev) => {
    ev.preventDefault();
    S.runSearch(new FormData(ev.currentTarget).get('q') || '');
  };
  return (
    <header class="top">
      <button class="icon menu" aria-label={t('showFolders')} onClick={() => { S.mobileView.value = S.mobileView.value === 'folders' ? 'list' : 'folders'; }}>☰</button>
      <span class="brand">{t('appName')}</span>
      <SectionNav />
      <form role="search" class="search" onSubmit={onSearch}>
        <input id="search" name="q" type="search" aria-label={t('search')} placeholder={t('searchPlaceholder')} value={S.query.value} maxLength={MAX_QUERY}
          onInput={(e) => { if (!e.currentTarget.value && S.query.value) S.runSearch(''); }} />
        <button type="button" class="link advanced-toggle" aria-haspopup="dialog" onClick={() => { S.dialog.value = 'search'; }}>{t('m2Advanced')}</button>
      </form>
      <button class="primary" onClick={() => S.startCompose('new')}>{t('compose')}</button>
      <button class="icon" aria-label={t('settings')} title={t('settings')} onClick={() => { S.dialog.value = 'settings'; }}>⚙</button>
      <button class="icon" aria-label={t('shortcuts')} title={t('shortcuts')} onClick={() => { S.dialog.value = 'help'; }}>?</button>
      <button class="signout" onClick={async () => { await logout(); location.reload(); }}>{t('signOut')}</button>
    </header>
  );
}

function NotAdmin() {
  return (
    <main class="login">
      <h1>{t('adminTitle')}</h1>
      <p role="alert">{t('adminNotAdmin')}</p>
      <p><a class="button" href="/">{t('adminBackToMail')}</a></p>
    </main>
  );
}

function Appearance() {
  return (
    <>
      <fieldset>
        <legend>{t('theme')}</legend>
        {['system', 'light', 'dark'].map((v) => (
          <label class="inline"><input type="radio" name="theme" value={v} checked={theme.value === v} onChange={() => setTheme(v)} />
            {t('theme' + v[0].toUpperCase() + v.slice(1))}</label>
        ))}
      </fieldset>
      <LanguageSelect />
    </>
  );
}

function Settings() {
  return (
    <Dialog title={t('settings')}>
      <Appearance />
      <p>
        <a class="button" href="/settings">{t('accountSettings')}</a>{' '}
        {S.user.value?.admin >= 1 && <a class="button" href="/admin">{t('adminTitle')}</a>}
      </p>
      <p class="signout-all">
        <button onClick={async () => { await logout(); location.reload(); }}>{t('signOut')}</button>{' '}
        <button onClick={async () => { await logout(true); location.reload(); }}>{t('signOutEverywhere')}</button>
      </p>
    </Dialog>
  );
}

// MoveDialog lists the folders messages can go to: those of the current
// folder's account (a move, Email/set) and, under a heading each, those of
// the user's other accounts with the add right (Email/copy). copy: only
// the other accounts', and the messages stay.
function MoveDialog({ copy }) {
  const ids = S.targets();
  const go = (id) => { S.dialog.value = null; S.moveTo(ids, id, copy); };
  const item = ({ m, depth }) => (
    <li><button style={{ paddingInlineStart: `${0.5 + depth}rem` }} onClick={() => go(m.id)}>{S.mailboxName(m)}</button></li>
  );
  const groups = S.transferGroups.value;
  return (
    <Dialog title={copy ? (S.inArchive.value ? t('xferCopyMine') : t('xferCopyTo')) : t('moveTo')}>
      {!copy && (
        <ul class="move-list" aria-label={groups.length ? (S.currentShared.value ? S.currentShared.value.name : t('xferMyFolders')) : undefined}>
          {S.moveTree.value.filter(({ m }) => m.id !== S.currentMailbox.value).map(item)}
        </ul>
      )}
      {groups.map((g) => (
        <>
          <h3 class="move-head" id={'xfer-' + g.acct}>{g.label}</h3>
          <ul class="move-list" aria-labelledby={'xfer-' + g.acct}>{g.items.filter(({ m }) => m.id !== S.currentMailbox.value).map(item)}</ul>
        </>
      ))}
    </Dialog>
  );
}

function currentName() {
  const m = S.currentFolder.value;
  return m ? S.mailboxName(m) : t('appName');
}

function Mail() {
  useEffect(() => {
    const onKey = keyHandler();
    document.addEventListener('keydown', onKey);
    // Pushes a moment apart come as one: their accounts' newest states.
    // (null: one could not be read, what moved is not known.)
    let timer;
    let changed = {};
    const stop = events((c) => {
      if (!c) changed = null;
      else if (changed) for (const [a, types] of Object.entries(c)) changed[a] = { ...changed[a], ...types };
      clearTimeout(timer);
      timer = setTimeout(() => {
        const all = changed;
        changed = {};
        S.loadMailboxes().catch(S.fail);
        S.listChanged(all).catch(S.fail);
      }, 300);
    });
    return () => { document.removeEventListener('keydown', onKey); stop(); };
  }, []);
  const d = S.dialog.value;
  return (
    <div class={`mail view-${S.mobileView.value}`}>
      <Header />
      <Folders />
      <main class="content">
        <h1 class="sr">{currentName()}</h1>
        <MessageList />
        <Reader />
      </main>
      {S.compose.value && <Compose />}
      {d === 'help' && <Shortcuts />}
      {d === 'search' && <AdvancedSearch />}
      {d === 'preview' && <Preview />}
      {d === 'settings' && <Settings />}
      {d === 'move' && S.targets().length > 0 && <MoveDialog />}
      {d === 'copy' && S.targets().length > 0 && <MoveDialog copy />}
      {d === 'folder' && S.folderAction.value && <FolderDialog />}
      <div class="toast" role="status" aria-live="polite">{S.undoable.value ? <>{t('sendingUndo')} <button onClick={S.undoSend}>{t('undo')}</button></> : S.toast.value}</div>
    </div>
  );
}

function App() {
  // Re-render on a language change.
  document.documentElement.lang = lang.value;
  switch (phase.value) {
    case 'login': return <Login />;
    case 'mail': return section.value === 'mail' ? <Mail /> : <Section name={section.value} />;
    case 'page': return page.value;
    default: return <p class="boot" role="status">{t('loading')}</p>;
  }
}

render(<App />, document.getElementById('app'));
boot();
