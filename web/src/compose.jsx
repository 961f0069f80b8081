// The composer: plain text, with attachments (file picker or drag and
// drop, each uploaded at once as a JMAP blob with its own progress bar).
// Rich text will load on demand as its own chunk.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import * as S from './state.js';
import { upload } from './jmap.js';

// MAX_FILES bounds the attachments of one message (the server bounds
// their bytes: maxSizeUpload and maxSizeAttachmentsPerEmail).
const MAX_FILES = 50;
let nextKey = 1;

export const formatSize = (n) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

export function Compose() {
  const d = S.compose.value;
  const busy = useSignal(false);
  const err = useSignal('');
  const files = useSignal(d.attachments || []); // { key, name, type, size, loaded, blobId, error, xhr }
  const dragging = useSignal(false);
  const ref = useRef(null);
  const picker = useRef(null);
  useEffect(() => {
    const dlg = ref.current;
    if (dlg && !dlg.open) dlg.showModal();
    const first = dlg.querySelector(d.to ? 'textarea' : 'input[name=to]');
    if (first) { first.focus(); if (first.tagName === 'TEXTAREA') first.setSelectionRange(0, 0); }
    // Uploads still running when the composer closes are cancelled.
    return () => { for (const f of files.peek()) if (f.xhr && !f.blobId) f.xhr.abort(); };
  }, []);
  const patch = (key, change) => { files.value = files.value.map((f) => (f.key === key ? { ...f, ...change } : f)); };
  const add = (list) => {
    for (const file of list) {
      if (files.value.length >= MAX_FILES) { err.value = t('tooManyFiles', { n: MAX_FILES }); break; }
      const key = nextKey++;
      const { xhr, done } = upload(file, (loaded, total) => patch(key, { loaded, size: total }));
      files.value = [...files.value, { key, name: file.name, type: file.type || 'application/octet-stream', size: file.size, loaded: 0, blobId: null, error: '', xhr }];
      done.then((b) => patch(key, { blobId: b.blobId, loaded: b.size, size: b.size, xhr: null }),
        (e) => { if (e.message !== 'aborted') patch(key, { error: e.message, xhr: null }); });
    }
  };
  const removeFile = (f) => {
    if (f.xhr) f.xhr.abort();
    files.value = files.value.filter((x) => x.key !== f.key);
  };
  const uploading = files.value.some((f) => !f.blobId && !f.error);
  const close = () => { S.compose.value = null; };
  const onSubmit = async (ev) => {
    ev.preventDefault();
    if (uploading) return;
    if (files.value.some((f) => f.error)) { err.value = t('removeFailed'); return; }
    const f = new FormData(ev.currentTarget);
    const draft = { ...d, identityId: f.get('identity'), to: f.get('to'), cc: f.get('cc'), subject: f.get('subject'), body: f.get('body'),
      attachments: files.value.map(({ name, type, size, blobId }) => ({ name, type, size, blobId })) };
    busy.value = true;
    err.value = '';
    try {
      await S.send(draft);
      S.notify(t('sent'));
      close();
    } catch (e) {
      err.value = t('sendFailed', { error: e.message });
    } finally {
      busy.value = false;
    }
  };
  // Files dropped anywhere on the composer are attached.
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  const onDragOver = (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; dragging.value = true; } };
  const onDragLeave = (e) => { if (e.target === e.currentTarget || !e.currentTarget.contains(e.relatedTarget)) dragging.value = false; };
  const onDrop = (e) => { if (hasFiles(e)) { e.preventDefault(); dragging.value = false; add(e.dataTransfer.files); } };
  return (
    <dialog ref={ref} class={'compose' + (dragging.value ? ' dropping' : '')} aria-labelledby="compose-title" onCancel={(e) => { e.preventDefault(); close(); }}
      onDragOver={onDragOver} onDragLeave={onDragLeave} onDrop={onDrop}>
      <form onSubmit={onSubmit}>
        <h2 id="compose-title">{t('compose')}</h2>
        <label for="c-from">{t('from')}</label>
        <select id="c-from" name="identity" value={d.identityId}>
          {S.identities.value.map((i) => <option value={i.id}>{i.name ? `${i.name} <${i.email}>` : i.email}</option>)}
        </select>
        <label for="c-to">{t('to')}</label>
        <input id="c-to" name="to" type="text" inputmode="email" autocomplete="off" value={d.to} required />
        <label for="c-cc">{t('cc')}</label>
        <input id="c-cc" name="cc" type="text" inputmode="email" autocomplete="off" value={d.cc} />
        <label for="c-subject">{t('subject')}</label>
        <input id="c-subject" name="subject" type="text" value={d.subject} />
        <label for="c-body">{t('body')}</label>
        <textarea id="c-body" name="body" rows="14" value={d.body} />
        <div class="attach">
          <input ref={picker} id="c-files" type="file" multiple hidden
            onChange={(e) => { add(e.currentTarget.files); e.currentTarget.value = ''; }} />
          <button type="button" onClick={() => picker.current.click()}>{t('attach')}</button>
          <span class="hint">{t('dropHint')}</span>
        </div>
        {files.value.length > 0 && (
          <ul class="files" aria-label={t('attachments')}>
            {files.value.map((f) => (
              <li key={f.key}>
                <span class="name">{f.name}</span>
                <span class="size">{formatSize(f.size)}</span>
                <progress max={f.size || 1} value={f.blobId ? f.size || 1 : f.loaded} aria-label={t('uploadOf', { name: f.name })}
                  aria-valuetext={f.blobId ? t('uploaded') : f.error ? t('uploadFailed', { error: f.error }) : `${Math.round((100 * f.loaded) / (f.size || 1))} %`} />
                {f.error && <span class="error">{t('uploadFailed', { error: f.error })}</span>}
                <button type="button" class="icon" aria-label={t('removeFile', { name: f.name })} title={t('removeFile', { name: f.name })} onClick={() => removeFile(f)}>✕</button>
              </li>
            ))}
          </ul>
        )}
        <p class="error" role="alert">{err.value}</p>
        <div class="actions">
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary" disabled={busy.value || uploading}>{busy.value ? t('sending') : uploading ? t('uploading') : t('send')}</button>
        </div>
      </form>
    </dialog>
  );
}
