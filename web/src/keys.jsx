// Keyboard shortcuts (listed by "?") and the modal dialog they share.
import { useEffect, useRef } from 'preact/hooks';
import { t } from './i18n.js';
import * as S from './state.js';
import { scrollToIndex } from './list.jsx';

export const shortcuts = [
  ['j', 'scNext'], ['k', 'scPrev'], ['Enter', 'scOpen'], ['c', 'scCompose'], ['r', 'scReply'], ['a', 'scReplyAll'],
  ['f', 'scForward'], ['s', 'scFlag'], ['u', 'scUnread'], ['#', 'scDelete'], ['Delete', 'scDelete'], ['v', 'scMove'],
  ['/', 'scSearch'], ['g i', 'scInbox'], ['?', 'scHelp'], ['Esc', 'scEscape'],
];

export function Dialog({ title, children }) {
  const ref = useRef(null);
  useEffect(() => { if (ref.current && !ref.current.open) ref.current.showModal(); }, []);
  const close = () => { S.dialog.value = null; };
  return (
    <dialog ref={ref} class="dialog" aria-label={title} onCancel={(e) => { e.preventDefault(); close(); }}>
      <h2>{title}</h2>
      {children}
      <div class="actions"><button onClick={close}>{t('close')}</button></div>
    </dialog>
  );
}

export function Shortcuts() {
  return (
    <Dialog title={t('shortcuts')}>
      <table class="shortcuts">
        <tbody>
          {shortcuts.map(([k, label]) => <tr><th scope="row"><kbd>{k}</kbd></th><td>{t(label)}</td></tr>)}
        </tbody>
      </table>
    </Dialog>
  );
}

function step(d) {
  const i = Math.min(S.total.value - 1, Math.max(0, S.selectedIndex.value + d));
  S.select(i);
  scrollToIndex(i);
}

// keyHandler returns the document's keydown listener. Keys typed into a
// field, or with a modifier, are the field's.
export function keyHandler() {
  let prefix = '';
  return (ev) => {
    const tag = ev.target.tagName;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || ev.target.isContentEditable) return;
    if (S.compose.value || S.dialog.value) return; // the dialog's own keys (Esc closes it)
    const k = ev.key;
    if (prefix === 'g') {
      prefix = '';
      if (k === 'i') { const inbox = S.mailboxByRole('inbox'); if (inbox) S.selectFolder(inbox.id); ev.preventDefault(); }
      return;
    }
    const id = S.selectedId.value;
    const act = {
      j: () => step(1), ArrowDown: () => step(1), k: () => step(-1), ArrowUp: () => step(-1),
      Enter: () => { if (S.selectedIndex.value >= 0) S.select(S.selectedIndex.value); },
      o: () => { if (S.selectedIndex.value >= 0) S.select(S.selectedIndex.value); },
      c: () => S.startCompose('new'),
      r: () => S.message.value && S.startCompose('reply'),
      a: () => S.message.value && S.startCompose('replyAll'),
      f: () => S.message.value && S.startCompose('forward'),
      s: () => S.toggleFlag(),
      u: () => id && S.setKeyword([id], '$seen', false),
      '#': () => id && S.remove(id),
      Delete: () => id && S.remove(id),
      v: () => { if (id) S.dialog.value = 'move'; },
      '/': () => document.getElementById('search')?.focus(),
      '?': () => { S.dialog.value = 'help'; },
      g: () => { prefix = 'g'; },
      Escape: () => { S.mobileView.value = 'list'; },
    }[k];
    if (act) { ev.preventDefault(); act(); }
  };
}
