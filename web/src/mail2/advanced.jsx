// The advanced search form: the fields of the search box's syntax
// (mail2/search.js), written back into the box's text and run.
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import * as S from '../state.js';
import { Dialog } from '../keys.jsx';
import { buildQuery, splitQuery, MAX_QUERY } from './search.js';

export function AdvancedSearch() {
  const f = useSignal(splitQuery(S.query.value));
  const set = (k) => (e) => { f.value = { ...f.value, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value }; };
  const v = f.value;
  const submit = (ev) => {
    ev.preventDefault();
    S.dialog.value = null;
    S.runSearch(buildQuery(f.value));
  };
  const text = (k, label, type = 'text') => (
    <p><label for={`as-${k}`}>{t(label)}</label>
      <input id={`as-${k}`} type={type} maxLength={type === 'date' ? undefined : 200} value={v[k]} onInput={set(k)} /></p>
  );
  return (
    <Dialog title={t('m2Advanced')}>
      <form class="advanced-search" onSubmit={submit}>
        {text('text', 'm2SearchText')}
        {text('from', 'm2From')}
        {text('to', 'm2To')}
        {text('subject', 'm2Subject')}
        {text('after', 'm2After', 'date')}
        {text('before', 'm2Before', 'date')}
        {text('tag', 'm2Tag')}
        <p><label class="inline"><input type="checkbox" checked={v.hasAttachment} onChange={set('hasAttachment')} />{t('m2HasAttachment')}</label></p>
        <fieldset>
          <legend>{t('m2Where')}</legend>
          <label class="inline"><input type="radio" name="as-where" checked={!v.all} onChange={() => { f.value = { ...f.value, all: false }; }} />{t('m2ThisFolder')}</label>
          <label class="inline"><input type="radio" name="as-where" checked={v.all} onChange={() => { f.value = { ...f.value, all: true }; }} />{t('m2AllFolders')}</label>
        </fieldset>
        <p class="actions">
          <button type="submit" class="primary" disabled={buildQuery(v).length >= MAX_QUERY}>{t('m2Search')}</button>
          <button type="button" onClick={() => { S.dialog.value = null; S.runSearch(''); }}>{t('m2Clear')}</button>
        </p>
      </form>
    </Dialog>
  );
}
