// The composer: plain text, with attachments (file picker or drag and
// drop, each uploaded at once as a JMAP blob with its own progress bar),
// saved as a draft in Drafts a moment after each change. Rich text will
// load on demand as its own chunk.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import * as S from './state.js';
import { upload } from './jmap.js';
import { AddressInput } from './autocomplete.jsx';

// MAX_FILES bounds the attachments of one message (the server bounds
// their bytes: maxSizeUpload and maxSizeAttachmentsPerEmail).
const MAX_FILES = 50;
let nextKey = 1;
// SAVE_DELAY is how long typing must pause before the draft is saved.
export const SAVE_DELAY = 1500;

export const formatSize = (n) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

export function Compose() {
  const d = S.compose.value;
  const busy = useSignal(false);
  const err = useSignal('');
  // { key, name, type, size, loaded, blobId, error, xhr }
  const files = useSignal((d.attachments || []).map((a) => ({ ...a, key: nextKey++, loaded: a.size, error: '', xhr: null })));
  const dragging = useSignal(false);
  // The From chosen; "on behalf of" is offered for an address that is
  // not the user's own (a send-as identity).
  const fromId = useSignal(d.identityId || (S.identities.value[0] && S.identities.value[0].id));
  const fromIdent = S.identities.value.find((i) => i.id === fromId.value);
  const sendAs = !!fromIdent && S.ownAddresses().length > 0 && !S.ownAddress(fromIdent.email);
  const saved = useSignal(''); // '' | 'saving' | 'saved' | 'failed'
  const ref = useRef(null);
  const form = useRef(null);
  const picker = useRef(null);
  // The draft's saved version (replaced by each save), the save timer,
  // and the chain that keeps saves in order.
  const draft = useRef({ id: d.draftId || null, timer: 0, chain: Promise.resolve(), dirty: false });
  // Rich text: the editor's chunk once loaded, and its content's reader.
  const rich = useSignal(null);
  const richApi = useRef(null);
  const plain = useRef(d.body);
  const toRich = async (html) => {
    const m = await import('./richtext.jsx');
    richApi.current = null;
    rich.value = { m, html: html != null ? html : m.fromText(form.current.elements.body ? form.current.elements.body.value : plain.current) };
  };
  const toPlain = () => {
    const r = rich.value;
    plain.current = r.m.toText(richApi.current.html()).replace(/\n$/, '');
    rich.value = null;
    changed();
  };
  const collect = () => {
    const f = new FormData(form.current);
    const r = rich.value;
    const html = r && richApi.current ? richApi.current.html() : null;
    return { ...d, identityId: f.get('identity'), onBehalf: f.get('onBehalf') === 'on', to: f.get('to'), cc: f.get('cc'), subject: f.get('subject'),
      body: html != null ? r.m.toText(html) : f.get('body'), html,
      attachments: files.peek().filter((x) => x.blobId).map(({ name, type, size, blobId }) => ({ name, type, size, blobId })) };
  };
  const save = () => {
    const st = draft.current;
    clearTimeout(st.timer);
    st.timer = 0;
    if (!st.dirty) return st.chain;
    st.dirty = false;
    const snapshot = collect();
    saved.value = 'saving';
    st.chain = st.chain.then(() => S.saveDraft(snapshot, st.id)).then((id) => { st.id = id; saved.value = 'saved'; },
      (e) => { st.dirty = true; saved.value = 'failed'; console.warn('draft not saved', e); });
    return st.chain;
  };
  const changed = () => {
    const st = draft.current;
    st.dirty = true;
    clearTimeout(st.timer);
    st.timer = setTimeout(save, SAVE_DELAY);
  };
  // The signature in the body (the block startCompose put there) is
  // swapped for the new identity's when From changes: in place when the
  // old one is still there, else above the quote (or at the end).
  const sig = useRef(d.signature || '');
  // In rich text each line is a <div> (fromText): the old signature is
  // the run of lines that reads like it.
  const swapRich = (old, next) => {
    const area = form.current.querySelector('.rich-area');
    if (!area) return;
    const lines = (x) => x.split('\n').map((l) => l.replace(/\s+$/, ''));
    const kids = [...area.children];
    const txt = kids.map((k) => (k.textContent || '').replace(/\s+$/, ''));
    const want = old ? lines(old) : [];
    let at = -1;
    for (let i = 0; want.length && at < 0 && i + want.length <= kids.length; i++) if (want.every((l, k) => txt[i + k] === l)) at = i;
    const make = (text) => { const tpl = document.createElement('div'); tpl.innerHTML = rich.value.m.fromText(text); return [...tpl.children]; };
    if (at >= 0) {
      if (next) kids[at].before(...make(next));
      else if (at > 0 && txt[at - 1] === '') kids[at - 1].remove();
      for (let k = 0; k < want.length; k++) kids[at + k].remove();
    } else if (next) {
      const q = txt.findIndex((l, i) => /^> /.test(txt[i + 1] || '') || /^-{5,}/.test(l));
      if (q < 0) area.append(...make(`\n${next}`));
      else if (q > 0 && txt[q - 1] === '') kids[q - 1].before(...make(`\n${next}`));
      else kids[q].before(...make(`\n${next}\n`));
    }
  };
  const swapSignature = (identityId) => {
    const next = S.signatureBlock(S.identities.value.find((i) => i.id === identityId));
    const ta = form.current && form.current.elements.body;
    const old = sig.current;
    if (next === old) return;
    if (rich.value) {
      swapRich(old, next);
      sig.current = next;
      changed();
      return;
    }
    if (!ta) return;
    const v = ta.value;
    const at = old ? v.indexOf(old) : -1;
    if (at >= 0) {
      // No new signature: the blank line before the old one goes too.
      const start = !next && v.slice(at - 2, at) === '\n\n' ? at - 2 : at;
      ta.value = v.slice(0, start) + next + v.slice(at + old.length);
    } else if (next) {
      const q = v.search(/\n\n.*\n> |\n\n-{5,}/);
      ta.value = q >= 0 ? `${v.slice(0, q)}\n\n${next}${v.slice(q)}` : `${v.replace(/\n*$/, '')}\n\n${next}`;
    }
    sig.current = next;
    changed();
  };
  // The fields are uncontrolled (defaultValue): a re-render (an upload's
  // progress, "Draft saved") must not put back the values the composer
  // opened with.
  useEffect(() => {
    const dlg = ref.current;
    if (dlg && !dlg.open) dlg.showModal();
    const first = dlg.querySelector(d.to ? 'textarea' : 'input[name=to]');
    if (first) { first.focus(); if (first.tagName === 'TEXTAREA') first.setSelectionRange(0, 0); }
    if (d.html) toRich(d.html).catch(S.fail);
    // Uploads still running when the composer closes are cancelled; a
    // change not yet saved is saved now.
    return () => {
      for (const f of files.peek()) if (f.xhr && !f.blobId) f.xhr.abort();
      if (draft.current.timer) save();
    };
  }, []);
  const patch = (key, change) => { files.value = files.value.map((f) => (f.key === key ? { ...f, ...change } : f)); };
  const add = (list) => {
    for (const file of list) {
      if (files.value.length >= MAX_FILES) { err.value = t('tooManyFiles', { n: MAX_FILES }); break; }
      const key = nextKey++;
      const { xhr, done } = upload(file, (loaded, total) => patch(key, { loaded, size: total }));
      files.value = [...files.value, { key, name: file.name, type: file.type || 'application/octet-stream', size: file.size, loaded: 0, blobId: null, error: '', xhr }];
      done.then((b) => { patch(key, { blobId: b.blobId, loaded: b.size, size: b.size, xhr: null }); changed(); },
        (e) => { if (e.message !== 'aborted') patch(key, { error: e.message, xhr: null }); });
    }
  };
  const removeFile = (f) => {
    if (f.xhr) f.xhr.abort();
    files.value = files.value.filter((x) => x.key !== f.key);
    if (f.blobId) changed();
  };
  const uploading = files.value.some((f) => !f.blobId && !f.error);
  const close = () => { S.compose.value = null; };
  const discard = async () => {
    const st = draft.current;
    clearTimeout(st.timer);
    st.timer = 0;
    st.dirty = false;
    await st.chain;
    if (st.id) await S.discardDraft(st.id).catch(S.fail);
    close();
  };
  const onSubmit = async (ev) => {
    ev.preventDefault();
    if (uploading) return;
    if (files.value.some((f) => f.error)) { err.value = t('removeFailed'); return; }
    const st = draft.current;
    clearTimeout(st.timer);
    st.timer = 0;
    st.dirty = false;
    busy.value = true;
    err.value = '';
    try {
      await st.chain;
      const how = await S.send({ ...collect(), draftId: st.id });
      st.id = null;
      if (how === 'sent') S.notify(t('sent'));
      close();
    } catch (e) {
      if (e.draftId) st.id = e.draftId;
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
      <form ref={form} onSubmit={onSubmit} onInput={changed}>
        <h2 id="compose-title">{t('compose')}</h2>
        <label for="c-from">{t('from')}</label>
        <select id="c-from" name="identity" onChange={(e) => { swapSignature(e.currentTarget.value); fromId.value = e.currentTarget.value; }}>
          {S.identities.value.map((i) => <option value={i.id} selected={i.id === d.identityId}>{i.name ? `${i.name} <${i.email}>` : i.email}</option>)}
        </select>
        {sendAs && (
          <label class="on-behalf"><input type="checkbox" name="onBehalf" defaultChecked={!!d.onBehalf} /> {t('onBehalf', { me: S.ownAddresses()[0] || '' })}</label>
        )}
        <label for="c-to">{t('to')}</label>
        <AddressInput id="c-to" name="to" defaultValue={d.to} required onChange={changed} />
        <label for="c-cc">{t('cc')}</label>
        <AddressInput id="c-cc" name="cc" defaultValue={d.cc} onChange={changed} />
        <label for="c-subject">{t('subject')}</label>
        <input id="c-subject" name="subject" type="text" defaultValue={d.subject} />
        <div class="body-head">
          <label id="c-body-label" for={rich.value ? undefined : 'c-body'}>{t('body')}</label>
          <button type="button" aria-pressed={rich.value ? 'true' : 'false'} onClick={() => (rich.value ? toPlain() : toRich().catch(S.fail))}>{t('richText')}</button>
        </div>
        {rich.value
          ? <rich.value.m.RichEditor html={rich.value.html} onInput={changed} api={richApi} labelId="c-body-label" />
          : <textarea id="c-body" name="body" rows="14" defaultValue={plain.current} />}
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
          <span class="saved muted" role="status">{saved.value && t('draft.' + saved.value)}</span>
          <button type="button" onClick={discard}>{t('discard')}</button>
          <button type="button" onClick={close}>{t('close')}</button>
          <button type="submit" class="primary" disabled={busy.value || uploading}>{busy.value ? t('sending') : uploading ? t('uploading') : t('send')}</button>
        </div>
      </form>
    </dialog>
  );
}
