// The reading pane. HTML bodies come sanitised from the server
// (/web/api/html/{id}), are sanitised again with DOMPurify and shown in a
// sandboxed iframe; remote content stays blocked until the user allows it
// for this message.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import * as S from './state.js';
import { fmtDateTime } from './prefs/prefs.js';
import { sanitize, frameDocument } from './html.js';

function Addresses({ label, list }) {
  if (!list || !list.length) return null;
  return <div class="addr"><dt>{label}</dt><dd>{S.formatAddresses(list)}</dd></div>;
}

function HTMLBody({ m }) {
  const raw = useSignal(null);
  const allow = useSignal(false);
  const frame = useRef(null);
  useEffect(() => {
    raw.value = null;
    allow.value = false;
    let live = true;
    fetch(`/web/api/html/${encodeURIComponent(m.id)}`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((h) => { if (live) raw.value = h; })
      .catch(S.fail);
    return () => { live = false; };
  }, [m.id]);
  if (raw.value == null) return <p class="muted">{t('loading')}</p>;
  const { html, remote } = sanitize(raw.value, allow.value);
  const onLoad = () => {
    // Same-origin (allow-same-origin without allow-scripts: nothing in
    // the frame can run) so the pane can size the frame to its content.
    const f = frame.current;
    if (f && f.contentDocument) f.style.height = `${f.contentDocument.documentElement.scrollHeight + 16}px`;
  };
  return (
    <>
      {remote && !allow.value && (
        <div class="remote-banner" role="note">
          <span>{t('remoteBlocked')}</span>
          <button onClick={() => { allow.value = true; }}>{t('allowRemote')}</button>
        </div>
      )}
      <iframe
        ref={frame}
        class="html-body"
        title={m.subject || t('noSubject')}
        sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"
        referrerpolicy="no-referrer"
        srcdoc={frameDocument(html, allow.value)}
        onLoad={onLoad}
      />
    </>
  );
}

export function Reader() {
  const m = S.message.value;
  if (!m) {
    return <section class="reader empty" aria-label={t('body')}><p class="muted">{t('selectMessage')}</p></section>;
  }
  const text = m.textBody && m.textBody[0] && m.bodyValues && m.bodyValues[m.textBody[0].partId];
  const flagged = !!m.keywords.$flagged;
  return (
    <section class="reader" aria-labelledby="reader-subject">
      <div class="toolbar" role="toolbar" aria-label={t('body')}>
        <button class="back" onClick={() => { S.mobileView.value = 'list'; }}>{t('back')}</button>
        {m.keywords.$draft && <button class="primary" onClick={() => S.editDraft(m).catch(S.fail)}>{t('editDraft')}</button>}
        <button onClick={() => S.startCompose('reply')}>{t('reply')}</button>
        <button onClick={() => S.startCompose('replyAll')}>{t('replyAll')}</button>
        <button onClick={() => S.startCompose('forward')}>{t('forward')}</button>
        {/* The archive is read-only; in a shared folder the owner's
            rights (myRights) decide flag, read state, move and delete. */}
        {S.may('maySetKeywords') && <button aria-pressed={flagged ? 'true' : 'false'} onClick={S.toggleFlag}>{flagged ? t('unflag') : t('flag')}</button>}
        {S.may('maySetSeen') && <button onClick={() => S.setKeyword([m.id], '$seen', !m.keywords.$seen)}>{m.keywords.$seen ? t('markUnread') : t('markRead')}</button>}
        {S.may('mayRemoveItems') && <button onClick={() => { S.dialog.value = 'move'; }}>{t('moveTo')}</button>}
        {S.may('mayRemoveItems') && <button class="danger" onClick={() => S.remove(m.id)}>{t('delete')}</button>}
      </div>
      <h2 id="reader-subject">{m.subject || t('noSubject')}</h2>
      <dl class="meta">
        <Addresses label={t('from')} list={m.from} />
        <Addresses label={t('to')} list={m.to} />
        <Addresses label={t('cc')} list={m.cc} />
        <div class="addr"><dt>{t('date')}</dt><dd>{fmtDateTime(m.sentAt || m.receivedAt)}</dd></div>
      </dl>
      {m.attachments && m.attachments.length > 0 && (
        <ul class="attachments" aria-label={t('attachments')}>
          {m.attachments.map((a) => (
            <li><a href={`/jmap/download/${encodeURIComponent(S.currentAccountId() || '')}/${encodeURIComponent(a.blobId)}/${encodeURIComponent(a.name || 'attachment')}?type=${encodeURIComponent(a.type)}`} download={a.name || 'attachment'}>{a.name || a.type} ({Math.ceil(a.size / 1024)} KB)</a></li>
          ))}
        </ul>
      )}
      <div class="body">
        {m.hasHTML ? <HTMLBody m={m} /> : <pre class="text-body">{text ? text.value : ''}</pre>}
      </div>
    </section>
  );
}
