// The reading pane: one message, or in conversation view the open
// thread's messages (oldest first, the newest and the unread expanded).
// HTML bodies come sanitised from the server (/web/api/html/{id}), are
// sanitised again with DOMPurify and shown in a sandboxed iframe; remote
// content stays blocked until the user allows it for this message; inline
// images (cid:) are the message's own parts and show at once.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import * as S from './state.js';
import { fmtDateTime } from './prefs/prefs.js';
import { sanitize, frameDocument, cidKey } from './html.js';
import { senderOf, isTrusted, trustSender, untrustSender } from './mail2/senders.js';
import { previewKind, openPreview } from './mail2/preview.jsx';
import { Tags } from './mail2/tags.jsx';

function Addresses({ label, list }) {
  if (!list || !list.length) return null;
  return <div class="addr"><dt>{label}</dt><dd>{S.formatAddresses(list)}</dd></div>;
}

// downloadURL is the JMAP download of a part (RFC 8620 §6.2) of a
// message of the current account (own, archive or shared).
function downloadURL(a, absolute) {
  const acc = S.currentAccountId() || '';
  const path = `/jmap/download/${encodeURIComponent(acc)}/${encodeURIComponent(a.blobId)}/${encodeURIComponent(a.name || 'attachment')}?type=${encodeURIComponent(a.type)}`;
  return absolute ? location.origin + path : path;
}

// inlineParts maps the Content-IDs of a message's images to their
// downloads: what an HTML body's <img src="cid:…"> shows (RFC 2392).
function inlineParts(m) {
  const out = new Map();
  for (const p of [...(m.htmlBody || []), ...(m.attachments || [])]) {
    if (p.cid && p.blobId && /^image\//i.test(p.type || '')) out.set(cidKey(p.cid), downloadURL(p, true));
  }
  return out;
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
  // Remote content shows when allowed for this message or its sender
  // is trusted (mail2/senders.js).
  const trusted = isTrusted(m);
  const allowed = allow.value || trusted;
  const from = senderOf(m);
  const { html, remote } = sanitize(raw.value, allowed, inlineParts(m));
  const onLoad = () => {
    // Same-origin (allow-same-origin without allow-scripts: nothing in
    // the frame can run) so the pane can size the frame to its content.
    const f = frame.current;
    if (f && f.contentDocument) f.style.height = `${f.contentDocument.documentElement.scrollHeight + 16}px`;
  };
  return (
    <>
      {remote && !allowed && (
        <div class="remote-banner" role="note">
          <span>{t('remoteBlocked')}</span>
          <button onClick={() => { allow.value = true; }}>{t('allowRemote')}</button>
          {from && <button onClick={() => trustSender(from).catch(S.fail)}>{t('m2AlwaysShow', { addr: from })}</button>}
        </div>
      )}
      {remote && trusted && (
        <div class="remote-banner" role="note">
          <span>{t('m2TrustedShown', { addr: from })}</span>
          <button onClick={() => { allow.value = false; untrustSender(from).catch(S.fail); }}>{t('m2BlockAgain')}</button>
        </div>
      )}
      <iframe
        ref={frame}
        class="html-body"
        title={m.subject || t('noSubject')}
        sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"
        referrerpolicy="no-referrer"
        srcdoc={frameDocument(html, allowed)}
        onLoad={onLoad}
      />
    </>
  );
}


// MessageBody is a message's addresses, attachments and body.
function MessageBody({ m }) {
  const text = m.textBody && m.textBody[0] && m.bodyValues && m.bodyValues[m.textBody[0].partId];
  return (
    <>
      <dl class="meta">
        <Addresses label={t('from')} list={m.from} />
        <Addresses label={t('to')} list={m.to} />
        <Addresses label={t('cc')} list={m.cc} />
        <div class="addr"><dt>{t('date')}</dt><dd>{fmtDateTime(m.sentAt || m.receivedAt)}</dd></div>
      </dl>
      {m.attachments && m.attachments.length > 0 && (
        <ul class="attachments" aria-label={t('attachments')}>
          {m.attachments.map((a) => (
            <li><a href={downloadURL(a)} download={a.name || 'attachment'}>{a.name || a.type} ({Math.ceil(a.size / 1024)} KB)</a>
              {previewKind(a) && <button type="button" class="link" aria-label={t('m2PreviewOf', { name: a.name || a.type })} onClick={() => openPreview(a, downloadURL(a))}>{t('m2Preview')}</button>}</li>
          ))}
        </ul>
      )}
      <div class="body">
        {m.hasHTML ? <HTMLBody m={m} /> : <pre class="text-body">{text ? text.value : ''}</pre>}
      </div>
    </>
  );
}

// Toolbar acts on the focused message (reply, forward, flag, read
// state); in conversation view move and delete take the conversation's
// messages in the folder shown.
function Toolbar({ m }) {
  const flagged = !!m.keywords.$flagged;
  const conv = S.threadView.value && S.conversation.value;
  const whole = () => (conv ? S.expand([S.selectedId.value || m.id]) : [m.id]);
  return (
    <div class="toolbar" role="toolbar" aria-label={t('body')}>
      <button class="back" onClick={() => { S.mobileView.value = 'list'; }}>{t('back')}</button>
      {m.keywords.$draft && <button class="primary" onClick={() => S.editDraft(m).catch(S.fail)}>{t('editDraft')}</button>}
      <button onClick={() => S.startCompose('reply')}>{t('reply')}</button>
      <button onClick={() => S.startCompose('replyAll')}>{t('replyAll')}</button>
      <button onClick={() => S.startCompose('forward')}>{t('forward')}</button>
      {/* The archive is read-only; in a shared folder the owner's
          rights (myRights) decide flag, read state, move and delete. */}
      {S.may('maySetKeywords') && <button aria-pressed={flagged ? 'true' : 'false'} onClick={() => (conv ? S.setKeyword([m.id], '$flagged', !flagged) : S.toggleFlag())}>{flagged ? t('unflag') : t('flag')}</button>}
      {S.may('maySetSeen') && <button onClick={() => S.setKeyword([m.id], '$seen', !m.keywords.$seen)}>{m.keywords.$seen ? t('markUnread') : t('markRead')}</button>}
      {S.may('mayRemoveItems') && <button onClick={() => { S.dialog.value = 'move'; }}>{t('moveTo')}</button>}
      {S.transferGroups.value.length > 0 && <button onClick={() => { S.dialog.value = 'copy'; }}>{S.inArchive.value ? t('xferCopyMine') : t('xferCopyTo')}</button>}
      {S.may('mayRemoveItems') && <button class="danger" onClick={() => S.remove(whole())}>{conv ? t('deleteConversation') : t('delete')}</button>}
    </div>
  );
}

const who = (x) => (x.from && x.from[0] ? (x.from[0].name || x.from[0].email) : '');

// Conversation is the open thread, oldest first: each message a header
// button (sender, date; the preview while collapsed) that expands it.
function Conversation({ c, m }) {
  return (
    <section class="reader" aria-labelledby="reader-subject">
      <Toolbar m={m} />
      <h2 id="reader-subject">{m.subject || t('noSubject')}</h2>
      {!S.inArchive.value && <Tags m={m} />}
      {c.items.length + c.earlier > 1 && <p class="muted">{t('threadCount', { n: c.items.length + c.earlier })}</p>}
      {c.earlier > 0 && <p class="conv-earlier">{t('earlierNotShown', { n: c.earlier })}</p>}
      <ol class="conversation" aria-label={t('conversation')}>
        {c.items.map((x) => {
          const full = c.full.get(x.id);
          const focused = m.id === x.id;
          return (
            <li key={x.id} class={focused ? 'focused' : ''} data-id={x.id}>
              <button type="button" class={'conv-head' + (x.keywords.$seen ? '' : ' unread')} aria-expanded={full ? 'true' : 'false'}
                aria-current={focused ? 'true' : undefined} onClick={() => S.expandMessage(x.id)}>
                <span class="who">{!x.keywords.$seen && <span class="sr">{t('unread')}: </span>}{who(x)}</span>
                <span class="when">{fmtDateTime(x.sentAt || x.receivedAt)}</span>
                {!full && <span class="preview">{x.preview}</span>}
              </button>
              {full && <div class="conv-body"><MessageBody m={full} /></div>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

export function Reader() {
  const m = S.message.value;
  if (!m) {
    return <section class="reader empty" aria-label={t('body')}><p class="muted">{t('selectMessage')}</p></section>;
  }
  const c = S.conversation.value;
  if (S.threadView.value && c) return <Conversation c={c} m={m} />;
  return (
    <section class="reader" aria-labelledby="reader-subject">
      <Toolbar m={m} />
      <h2 id="reader-subject">{m.subject || t('noSubject')}</h2>
      {!S.inArchive.value && <Tags m={m} />}
      <MessageBody m={m} />
    </section>
  );
}
