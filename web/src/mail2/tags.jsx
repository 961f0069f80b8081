// Keywords as tags (RFC 8621 §4.1.1): a message's own keywords (those
// without a leading $, which are the system's and IMAP's: $seen,
// $flagged…) shown in the list and the reader, added and removed with
// Email/set (they are IMAP flags too), and searched with tag:NAME
// (hasKeyword).
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import * as S from '../state.js';
import { keywordOK } from './search.js';

// MAX_TAGS bounds the tags one message gets from here; MAX_TAG a tag's
// length (the server allows 255 bytes).
export const MAX_TAGS = 50;
export const MAX_TAG = 100;

// tagError says why k cannot be added to a message with tags, or ''.
function tagError(k, tags) {
  if (k.length > MAX_TAG || !keywordOK(k) || k.startsWith('$')) return t('m2TagBad');
  if (!tags.includes(k) && tags.length >= MAX_TAGS) return t('m2TagTooMany', { n: MAX_TAGS });
  return '';
}

export const tagsOf = (kw) => Object.keys(kw || {}).filter((k) => kw[k] && !k.startsWith('$')).sort();

// ListTags is the row's tags: text only (the row is an option, which
// may not hold controls).
export function ListTags({ kw }) {
  const tags = tagsOf(kw);
  if (!tags.length) return null;
  return <span class="tags-inline"><span class="sr">{t('m2Tags')}: </span>{tags.map((k) => <span class="tag">{k}</span>)}</span>;
}

// Tags is the reader's: each tag a button that lists the messages with
// it (tag:NAME), a remove button, and a field that adds one.
export function Tags({ m }) {
  const err = useSignal('');
  const tags = tagsOf(m.keywords);
  const can = S.may('maySetKeywords');
  const add = (ev) => {
    ev.preventDefault();
    const input = ev.currentTarget.elements.tag;
    const k = input.value.trim().toLowerCase();
    if (!k) return;
    err.value = tagError(k, tags);
    if (err.value) return;
    input.value = '';
    S.setKeyword([m.id], k, true);
  };
  return (
    <div class="tags">
      {tags.length > 0 && (
        <ul class="tag-list" aria-label={t('m2Tags')}>
          {tags.map((k) => (
            <li class="tag">
              <button type="button" class="link" title={t('m2TagSearch', { tag: k })} onClick={() => S.runSearch(`tag:${k}`)}>{k}</button>
              {can && <button type="button" class="link tag-x" aria-label={t('m2TagRemove', { tag: k })} title={t('m2TagRemove', { tag: k })} onClick={() => S.setKeyword([m.id], k, false)}>×</button>}
            </li>
          ))}
        </ul>
      )}
      {can && (
        <form class="tag-add" onSubmit={add}>
          <label for={`tag-${m.id}`} class="sr">{t('m2TagAdd')}</label>
          <input id={`tag-${m.id}`} name="tag" maxLength={MAX_TAG} placeholder={t('m2TagAdd')} autocomplete="off" />
          <button type="submit">{t('m2TagAddButton')}</button>
          {err.value && <span class="error" role="alert">{err.value}</span>}
        </form>
      )}
    </div>
  );
}

// BulkTag is the selection toolbar's: one tag added to every selected
// message, in one Email/set (setKeyword batches by maxObjectsInSet).
export function BulkTag({ ids }) {
  const err = useSignal('');
  const add = (ev) => {
    ev.preventDefault();
    const input = ev.currentTarget.elements.tag;
    const k = input.value.trim().toLowerCase();
    if (!k) return;
    err.value = tagError(k, []);
    if (err.value) return;
    input.value = '';
    S.setKeyword(ids(), k, true);
  };
  return (
    <form class="tag-add" onSubmit={add}>
      <label for="bulk-tag" class="sr">{t('m2TagSelection')}</label>
      <input id="bulk-tag" name="tag" maxLength={MAX_TAG} placeholder={t('m2TagAdd')} autocomplete="off" />
      <button type="submit">{t('m2TagAddButton')}</button>
      {err.value && <span class="error" role="alert">{err.value}</span>}
    </form>
  );
}
