// Keyboard shortcuts (listed by "?") and the modal dialog they share.
import { useEffect, useRef } from 'preact/hooks';
import { t } from './i18n.js';
import * as S from './state.js';
import { scrollToIndex } from './list.jsx';

export const shortcuts = [
  ['j', 'scNext'], ['k', 'scPrev'], ['Enter', 'scOpen'], ['c', 'scCompose'], ['r', 'scReply'], ['a', 'scReplyAll'],
  ['f', 'scForward'], ['s', 'scFlag'], ['u', 'scUnread'], ['#', 'scDelete'], ['Delete', 'scDelete'], ['v', 'scMove'],
  ['x', 'scSelect'], ['Shift+j / Shift+↓', 'scExtend'], ['*', 'scSelectAll'], ['/', 'scSearch'], ['g i', 'scInbox'], ['?', 'scHelp'], ['Esc', 'scEscape'],
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

function step(d, extend) {
  const from = S.selectedIndex.value;
  const i = Math.min(S.total.value - 1, Math.max(0, from + d));
  if (extend) {
    // Shift+j/k: take the row in the selection and move on without
    // opening it.
    if (from >= 0 && !S.checked.value.size) S.checkRange(from);
    S.checkRange(i);
    const e = S.emailAt(i);
    S.selectedIndex.value = i;
    if (e) S.selectedId.value = e.id;
  } else S.select(i);
  scrollToIndex(i);
}

// selectLoaded selects every message of the list that is loaded (or
// clears the selection when it already holds them).
function selectLoaded() {
  const all = [];
  for (let i = 0; i < S.total.value; i++) { const e = S.emailAt(i); if (e) all.push(e.id); }
  S.checked.value = S.checked.value.size >= all.length ? new Set() : new Set(all);
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
    const ids = S.targets();
    const act = {
      j: () => step(1), ArrowDown: () => step(1, ev.shiftKey), k: () => step(-1), ArrowUp: () => step(-1, ev.shiftKey),
      J: () => step(1, true), K: () => step(-1, true),
      x: () => { if (S.selectedIndex.value >= 0 && id) S.toggleCheck(S.selectedIndex.value, id, false); },
      '*': () => selectLoaded(),
      Enter: () => { if (S.selectedIndex.value >= 0) S.select(S.selectedIndex.value); },
      o: () => { if (S.selectedIndex.value >= 0) S.select(S.selectedIndex.value); },
      c: () => S.startCompose('new'),
      r: () => S.message.value && S.startCompose('reply'),
      a: () => S.message.value && S.startCompose('replyAll'),
      f: () => S.message.value && S.startCompose('forward'),
      s: () => S.toggleFlag(),
      u: () => ids.length && S.setKeyword(ids, '$seen', false),
      '#': () => ids.length && S.remove(ids),
      Delete: () => ids.length && S.remove(ids),
      v: () => { if (ids.length) S.dialog.value = !S.mayTransferOut() && S.transferGroups.value.length ? 'copy' : 'move'; },
      '/': () => document.getElementById('search')?.focus(),
      '?': () => { S.dialog.value = 'help'; },
      g: () => { prefix = 'g'; },
      Escape: () => { if (S.checked.value.size) S.clearChecked(); else S.mobileView.value = 'list'; },
    }[k];
    if (act) { ev.preventDefault(); act(); }
  };
}
