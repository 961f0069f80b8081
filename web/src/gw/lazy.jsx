// The app's sections: mail (in the entry chunk), calendar, contacts and tasks
// (each a chunk of its own, loaded on demand by a dynamic import, so the
// initial JavaScript stays within its budget). The section is the URL's
// hash: #calendar, #contacts, #tasks.
import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { logout } from '../jmap.js';
import './strings.js';

const sections = ['mail', 'calendar', 'contacts', 'tasks'];
const fromHash = () => { const h = location.hash.slice(1); return sections.includes(h) ? h : 'mail'; };
export const section = signal(fromHash());
addEventListener('hashchange', () => { section.value = fromHash(); });

const loaders = {
  calendar: () => import('../calendar/calendar.jsx'),
  contacts: () => import('../contacts/contacts.jsx'),
  tasks: () => import('../tasks/tasks.jsx'),
};

export function SectionNav() {
  return (
    <nav class="sections" aria-label={t('sections')}>
      {sections.map((s) => (
        <a href={'#' + s} aria-current={section.value === s ? 'page' : undefined}>{t('section_' + s)}</a>
      ))}
    </nav>
  );
}

// TopBar is the header of the calendar, contacts and tasks sections.
export function TopBar({ children }) {
  return (
    <header class="top">
      <span class="brand">{t('appName')}</span>
      <SectionNav />
      <span class="grow" />
      {children}
      <button class="signout" onClick={async () => { await logout(); location.reload(); }}>{t('signOut')}</button>
    </header>
  );
}

export function Section({ name }) {
  const [C, setC] = useState(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    setC(null);
    loaders[name]().then((m) => setC(() => m.default), (e) => setErr(String(e)));
  }, [name]);
  if (C) return <C />;
  return <p class="boot" role="status">{err ? t('error', { error: err }) : t('loading')}</p>;
}

// Modal is a native modal dialog (focus kept inside, Esc closes).
export function Modal({ title, onClose, children, wide }) {
  return (
    <dialog ref={(d) => { if (d && !d.open) d.showModal(); }} class={'dialog' + (wide ? ' wide' : '')} aria-label={title}
      onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}
