// Roost's web client: sign-in, then the mail view. Everything goes through
// JMAP with the session cookie; see docs/web.md.
import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { signal, useSignal } from '@preact/signals';
import { me, login, logout, getSession, events, AuthError } from './jmap.js';
import { t, lang, setLang, languages } from './i18n.js';
import * as S from './state.js';
import { MessageList } from './list.jsx';
import { Reader } from './reader.jsx';
import { Compose } from './compose.jsx';
import { Dialog, Shortcuts, keyHandler } from './keys.jsx';
import './style.css';
import './gw/gw.css';
import { section, Section, SectionNav } from './gw/lazy.jsx';

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

function Folders() {
  const onDrop = (id) => (ev) => {
    ev.preventDefault();
    ev.currentTarget.classList.remove('drop');
    const emailId = ev.dataTransfer.getData('application/x-roost-email');
    if (emailId) S.moveTo(emailId, id);
  };
  return (
    <nav class="folders" aria-label={t('folders')}>
      <ul>
        {S.tree.value.map(({ m, depth }) => (
          <li key={m.id}>
            <button
              class="folder"
              style={{ paddingInlineStart: `${0.75 + depth}rem` }}
              aria-current={m.id === S.currentMailbox.value ? 'page' : undefined}
              data-role={m.role || undefined}
              onClick={() => S.selectFolder(m.id)}
              onDragOver={(ev) => { ev.preventDefault(); ev.currentTarget.classList.add('drop'); }}
              onDragLeave={(ev) => ev.currentTarget.classList.remove('drop')}
              onDrop={onDrop(m.id)}
            >
              <span class="name">{S.mailboxName(m)}</span>
              {m.unreadEmails > 0 && <span class="count" aria-label={t('unreadCount', { n: m.unreadEmails })}>{m.unreadEmails}</span>}
            </button>
          </li>
        ))}
      </ul>
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
        <input id="search" name="q" type="search" aria-label={t('search')} placeholder={t('searchPlaceholder')} value={S.query.value}
          onInput={(e) => { if (!e.currentTarget.value && S.query.value) S.runSearch(''); }} />
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

function MoveDialog() {
  const id = S.selectedId.value;
  return (
    <Dialog title={t('moveTo')}>
      <ul class="move-list">
        {S.tree.value.filter(({ m }) => m.id !== S.currentMailbox.value).map(({ m, depth }) => (
          <li><button style={{ paddingInlineStart: `${0.5 + depth}rem` }} onClick={() => { S.dialog.value = null; S.moveTo(id, m.id); }}>{S.mailboxName(m)}</button></li>
        ))}
      </ul>
    </Dialog>
  );
}

function currentName() {
  const m = S.mailboxes.value.find((x) => x.id === S.currentMailbox.value);
  return m ? S.mailboxName(m) : t('appName');
}

function Mail() {
  useEffect(() => {
    const onKey = keyHandler();
    document.addEventListener('keydown', onKey);
    let timer;
    const stop = events(() => {
      clearTimeout(timer);
      timer = setTimeout(() => { S.loadMailboxes().catch(S.fail); S.resetList(true); }, 300);
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
      {d === 'settings' && <Settings />}
      {d === 'move' && S.selectedId.value && <MoveDialog />}
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
