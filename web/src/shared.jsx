// The folder tree's sections for the other Mail accounts of the session:
// other users' folders shared with the user (one section per owner) and
// the tenant's public folders. Each is an ARIA tree of its own with the
// folders' unread counts; opening a folder lists its messages from that
// account (state.js, acct). What may be done there follows the folder's
// myRights (state.js, may). Messages dropped on one move or copy there
// (state.js, moveTo). Push refreshes them with the rest.
import { t } from './i18n.js';
import * as S from './state.js';

// onKey moves the focus in a tree with the arrows and opens a folder
// with Enter or Space.
function onKey(ev) {
  const items = [...ev.currentTarget.querySelectorAll('[role=treeitem]')];
  const k = items.indexOf(document.activeElement);
  const go = (j) => { const el = items[Math.max(0, Math.min(items.length - 1, j))]; if (el) el.focus(); };
  const id = document.activeElement && document.activeElement.dataset.id;
  const act = {
    ArrowDown: () => go(k + 1), ArrowUp: () => go(k - 1), Home: () => go(0), End: () => go(items.length - 1),
    Enter: () => id && S.selectFolder(id), ' ': () => id && S.selectFolder(id),
  }[ev.key];
  if (act) { ev.preventDefault(); ev.stopPropagation(); act(); }
}

function SharedTree({ a }) {
  const items = S.sharedTree(a);
  if (!items.length) return null;
  const cur = S.currentMailbox.value;
  const label = a.isPublic ? t('sharePublicFolders') : t('shareAccountOf', { name: a.name });
  const focusId = items.some(({ m }) => m.id === cur) ? cur : items[0].m.id;
  const head = 'shared-' + a.id;
  return (
    <>
      <h2 class="archive-head shared-head" id={head}>{label}</h2>
      <ul role="tree" aria-labelledby={head} class="shared-tree" onKeyDown={onKey}>
        {items.map(({ m, depth }) => (
          <li key={m.id} role="none">
            <div
              class="folder"
              role="treeitem"
              tabindex={m.id === focusId ? 0 : -1}
              aria-level={depth + 1}
              aria-selected={m.id === cur ? 'true' : 'false'}
              aria-current={m.id === cur ? 'page' : undefined}
              data-id={m.id}
              data-account={a.id}
              style={{ paddingInlineStart: `${0.75 + depth}rem` }}
              onClick={() => S.selectFolder(m.id)}
              onDragOver={(ev) => { ev.preventDefault(); ev.currentTarget.classList.add('drop'); }}
              onDragLeave={(ev) => ev.currentTarget.classList.remove('drop')}
              onDrop={(ev) => {
                // Messages dropped here: a move within this account, or
                // Email/copy from another (state.js, moveTo).
                ev.preventDefault();
                ev.currentTarget.classList.remove('drop');
                const emails = ev.dataTransfer.getData('application/x-roost-email');
                if (emails) S.moveTo(emails.split(','), m.id);
              }}
            >
              <span class="name">{S.mailboxName(m)}</span>
              {m.unreadEmails > 0 && <span class="count" aria-label={t('unreadCount', { n: m.unreadEmails })}>{m.unreadEmails}</span>}
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

export function SharedFolders() {
  return S.sharedAccounts.value.map((a) => <SharedTree key={a.id} a={a} />);
}
