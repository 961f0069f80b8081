// The virtualised message list: only the rows in view (plus a margin)
// are in the DOM, and only their pages of the Email/query result are
// fetched (position/limit), so a folder of 100,000 messages scrolls
// like one of ten.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import * as S from './state.js';
import { fmtShort } from './prefs/prefs.js';
import { ListTags, BulkTag } from './mail2/tags.jsx';

export const ROW = 64; // px; fixed so a position maps to an offset
const MARGIN = 8;      // rows rendered beyond the viewport

const when = (iso) => fmtShort(iso);

export function scrollToIndex(i) {
  const el = document.getElementById('message-list');
  if (!el) return;
  const top = i * ROW;
  if (top < el.scrollTop) el.scrollTop = top;
  else if (top + ROW > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW - el.clientHeight;
}

function Row({ i, e }) {
  const sel = S.checked.value;
  const cursor = i === S.selectedIndex.value;
  const selected = e && sel.size ? sel.has(e.id) : cursor;
  if (!e) {
    return <div class="row placeholder" role="option" aria-selected="false" aria-posinset={i + 1} aria-setsize={S.total.value} style={{ top: i * ROW }}>{t('loading')}</div>;
  }
  const from = e.from && e.from[0] ? (e.from[0].name || e.from[0].email) : '';
  // Conversation view: the row stands for its thread (the newest of its
  // messages here), unread while one of them is, with their number.
  // (Read after listVersion: the thread's count arrives after the row.)
  const th = S.threadView.value && S.listVersion.value >= 0 ? S.threadInfo(e.threadId) : null;
  const count = th ? th.count : 0;
  const unread = th && !th.partial ? th.unread : !e.keywords.$seen;
  const flagged = !!e.keywords.$flagged;
  return (
    <div
      id={`row-${e.id}`}
      class={`row${unread ? ' unread' : ''}${selected ? ' selected' : ''}${cursor ? ' cursor' : ''}`}
      role="option"
      aria-selected={selected ? 'true' : 'false'}
      aria-posinset={i + 1}
      aria-setsize={S.total.value}
      data-id={e.id}
      style={{ top: i * ROW }}
      draggable
      onDragStart={(ev) => {
        // Dragging a selected row drags the whole selection.
        const ids = S.expand(sel.has(e.id) ? [...sel] : [e.id]);
        ev.dataTransfer.setData('application/x-roost-email', ids.join(','));
        ev.dataTransfer.effectAllowed = 'move';
      }}
      onClick={(ev) => {
        if (ev.shiftKey) { ev.preventDefault(); S.checkRange(i); return; }
        if (ev.ctrlKey || ev.metaKey) { S.toggleCheck(i, e.id, true); return; }
        S.clearChecked();
        S.select(i, e.id);
      }}
    >
      <span class={`check${sel.has(e.id) ? ' on' : ''}`} aria-hidden="true" title={t('selectRow')}
        onClick={(ev) => { ev.stopPropagation(); if (ev.shiftKey) S.checkRange(i); else S.toggleCheck(i, e.id, false); }} />
      <span class="from">{unread && <span class="sr">{t('unread')}: </span>}{from}
        {count > 1 && <span class="thread-count" title={t('threadCount', { n: count })}><span aria-hidden="true">{count}</span><span class="sr">, {t('threadCount', { n: count })}</span></span>}</span>
      <span class="date">{when(e.receivedAt)}</span>
      <span class="subject">{flagged && <span class="flag" aria-label={t('flagged')} title={t('flagged')}>⚑</span>}{e.subject || t('noSubject')}<ListTags kw={e.keywords} /></span>
      <span class="preview">{S.searchAll.value && <span class="in-folders">{t('m2InFolders', { folders: S.folderNamesOf(e).join(', ') })} · </span>}{e.preview}</span>
    </div>
  );
}

export function MessageList() {
  const ref = useRef(null);
  const scrollTop = useSignal(0);
  const height = useSignal(600);
  useEffect(() => {
    const el = ref.current;
    const ro = new ResizeObserver(() => { height.value = el.clientHeight; });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // Scroll back to the top on another folder, query or view. The first
  // render of the other list is already at the top (the effect comes
  // after it): else it would ask for the pages at the old offset.
  const key = `${S.currentMailbox.value}\n${S.query.value}\n${S.threadView.value}`;
  const shown = useRef(key);
  useEffect(() => {
    shown.current = key;
    if (ref.current) { ref.current.scrollTop = 0; scrollTop.value = 0; }
  }, [key]);
  const top = shown.current === key ? scrollTop.value : 0;

  S.listVersion.value; // re-render when rows arrive
  const total = S.total.value;
  const first = Math.max(0, Math.floor(top / ROW) - MARGIN);
  const last = Math.min(total, Math.ceil((top + height.value) / ROW) + MARGIN);
  useEffect(() => { S.ensureRange(first, Math.max(last, first + 1)); });
  const rows = [];
  for (let i = first; i < last; i++) rows.push(<Row key={i} i={i} e={S.emailAt(i)} />);
  const sel = S.selectedIndex.value;
  const selEmail = sel >= 0 ? S.emailAt(sel) : null;
  const n = S.checked.value.size;
  const tv = S.threadView.value;
  return (
    <section class="list" aria-label={t('messages')}>
      <div class="list-head">
        <button type="button" class="view-toggle" aria-pressed={tv ? 'true' : 'false'} title={t('threadViewHint')}
          onClick={() => S.setThreadView(!tv)}>{t('threadView')}</button>
      </div>
      {n > 0 && <Bulk n={n} />}
      <div
        id="message-list"
        ref={ref}
        class="scroller"
        role="listbox"
        aria-multiselectable="true"
        tabindex="0"
        aria-label={tv ? t('conversations') : t('messages')}
        aria-activedescendant={selEmail ? `row-${selEmail.id}` : undefined}
        onScroll={(e) => { scrollTop.value = e.currentTarget.scrollTop; }}
      >
        <div class="spacer" style={{ height: total * ROW }}>{rows}</div>
        {total === 0 && <p class="empty" role="status">{S.listLoaded.value ? t('noMessages') : t('loading')}</p>}
      </div>
    </section>
  );
}

// Bulk is the toolbar of a multi-selection: each action is one Email/set
// (setEmails: more when the selection passes maxObjectsInSet)
// over all the selected messages.
function Bulk({ n }) {
  const ids = () => S.targets();
  return (
    <div class="bulk" role="toolbar" aria-label={t('selection')}>
      <span role="status">{t('selectedN', { n })}</span>
      {S.may('mayRemoveItems') && <button onClick={() => { S.dialog.value = 'move'; }}>{t('moveTo')}</button>}
      {S.transferGroups.value.length > 0 && <button onClick={() => { S.dialog.value = 'copy'; }}>{S.inArchive.value ? t('xferCopyMine') : t('xferCopyTo')}</button>}
      {S.may('maySetKeywords') && <button onClick={() => S.flagTargets()}>{t('flag')}</button>}
      {S.may('maySetKeywords') && <BulkTag ids={ids} />}
      {S.may('maySetSeen') && <button onClick={() => S.setKeyword(ids(), '$seen', true)}>{t('markRead')}</button>}
      {S.may('maySetSeen') && <button onClick={() => S.setKeyword(ids(), '$seen', false)}>{t('markUnread')}</button>}
      {S.may('mayRemoveItems') && <button class="danger" onClick={() => S.remove(ids())}>{t('delete')}</button>}
      <button onClick={() => S.clearChecked()}>{t('clearSelection')}</button>
    </div>
  );
}
