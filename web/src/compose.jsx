// The composer (plain text for this slice; rich text will load on demand
// as its own chunk).
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from './i18n.js';
import * as S from './state.js';

export function Compose() {
  const d = S.compose.value;
  const busy = useSignal(false);
  const err = useSignal('');
  const ref = useRef(null);
  useEffect(() => {
    const dlg = ref.current;
    if (dlg && !dlg.open) dlg.showModal();
    const first = dlg.querySelector(d.to ? 'textarea' : 'input[name=to]');
    if (first) { first.focus(); if (first.tagName === 'TEXTAREA') first.setSelectionRange(0, 0); }
  }, []);
  const close = () => { S.compose.value = null; };
  const onSubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const draft = { ...d, identityId: f.get('identity'), to: f.get('to'), cc: f.get('cc'), subject: f.get('subject'), body: f.get('body') };
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
  return (
    <dialog ref={ref} class="compose" aria-labelledby="compose-title" onCancel={(e) => { e.preventDefault(); close(); }}>
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
        <p class="error" role="alert">{err.value}</p>
        <div class="actions">
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary" disabled={busy.value}>{busy.value ? t('sending') : t('send')}</button>
        </div>
      </form>
    </dialog>
  );
}
