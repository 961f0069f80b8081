// Settings: filter rules. A form of rules (conditions on From, To,
// Subject, any header or the size; actions move, mark read, flag,
// redirect, redirect a copy, discard, stop) that writes a Sieve script,
// and a raw Sieve editor whose validation errors are shown at their
// line. Over JMAP's SieveScript (RFC 9661): the same scripts ManageSieve
// shows. The form edits the active script when sieverules.js can read it
// back; any other script opens in the raw editor. Out-of-office is not a
// script (it is the store's OOF state, the Out of office section): it is
// answered after the active script, for mail the script kept.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { api } from '../jmap.js';
import { toSieve, fromSieve, errorLine } from './sieverules.js';
import './strings.js';

export const SCRIPT = 'roost-filters'; // the script the form creates
const CAPS = ['urn:ietf:params:jmap:sieve', 'urn:ietf:params:jmap:blob'];
const FIELDS = ['from', 'to', 'subject', 'header', 'size'];
const ACTIONS = ['fileinto', 'read', 'flag', 'redirect', 'copy', 'discard', 'stop'];

const newCond = () => ({ field: 'subject', op: 'contains', value: '' });
const newAction = (folder) => ({ type: 'fileinto', folder: folder || 'INBOX' });
const newRule = (folder) => ({ name: '', match: 'allof', conds: [newCond()], actions: [newAction(folder)] });

// folderNames are the IMAP names fileinto takes ("Clients/Acme"; the
// Inbox is INBOX).
function folderNames(list) {
  const byId = new Map(list.map((m) => [m.id, m]));
  const path = (m, depth = 0) => {
    const p = m.parentId && byId.get(m.parentId);
    const name = m.role === 'inbox' && !m.parentId ? 'INBOX' : m.name;
    return p && depth < 20 ? path(p, depth + 1) + '/' + name : name;
  };
  return list.map((m) => path(m)).sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a.localeCompare(b)));
}

// save uploads text and stores it as script (an existing one, by id, or a
// new one named SCRIPT), activating it, in one request. It returns the
// SetError, if any.
async function saveScript(script, text) {
  const upload = ['Blob/upload', { create: { b: { data: [{ 'data:asText': text }], type: 'application/sieve' } } }, 'u'];
  const set = script
    ? ['SieveScript/set', { update: { [script.id]: { blobId: '#b' } }, onSuccessActivateScript: script.id }, 's']
    : ['SieveScript/set', { create: { n: { name: SCRIPT, blobId: '#b' } }, onSuccessActivateScript: '#n' }, 's'];
  const r = await api([upload, set], CAPS);
  if (r.u.notCreated && r.u.notCreated.b) return r.u.notCreated.b;
  return (r.s.notCreated && r.s.notCreated.n) || (r.s.notUpdated && script && r.s.notUpdated[script.id]) || null;
}

function Cond({ c, onChange, onRemove, n }) {
  return (
    <div class="filter-row" role="group" aria-label={t('filterConditionN', { n })}>
      <label>{t('filterField')} <select value={c.field} onChange={(e) => {
        const f = e.currentTarget.value;
        onChange(f === 'size' ? { field: 'size', op: 'over', value: '100' } : { field: f, op: c.op === 'over' ? 'contains' : c.op, value: c.field === 'size' ? '' : c.value, ...(f === 'header' ? { header: c.header || 'X-' } : {}) });
      }}>
        {FIELDS.map((f) => <option key={f} value={f}>{t('field.' + f)}</option>)}
      </select></label>
      {c.field === 'header' && <label>{t('filterHeaderName')} <input value={c.header} required pattern="[!-9;-~]{1,100}" onInput={(e) => { c.header = e.currentTarget.value; }} /></label>}
      {c.field === 'size' ? (
        <label>{t('op.over')} <input type="number" min="1" max="10000000" required value={c.value} aria-label={t('filterSizeKB')} onInput={(e) => { c.value = e.currentTarget.value; }} /> KB</label>
      ) : (
        <>
          <label>{t('filterOp')} <select value={c.op} onChange={(e) => onChange({ ...c, op: e.currentTarget.value })}>
            <option value="contains">{t('op.contains')}</option><option value="is">{t('op.is')}</option>
          </select></label>
          <label>{t('filterValue')} <input value={c.value} required maxLength={1000} onInput={(e) => { c.value = e.currentTarget.value; }} /></label>
        </>
      )}
      <button type="button" onClick={onRemove}>{t('filterRemove')}</button>
    </div>
  );
}

function Action({ a, folders, onChange, onRemove, n }) {
  const opts = folders.includes(a.folder) || a.type !== 'fileinto' ? folders : [...folders, a.folder];
  return (
    <div class="filter-row" role="group" aria-label={t('filterActionN', { n })}>
      <label>{t('filterAction')} <select value={a.type} onChange={(e) => {
        const ty = e.currentTarget.value;
        onChange(ty === 'fileinto' ? newAction(folders[0]) : ty === 'redirect' || ty === 'copy' ? { type: ty, to: a.to || '' } : { type: ty });
      }}>
        {ACTIONS.map((x) => <option key={x} value={x}>{t('action.' + x)}</option>)}
      </select></label>
      {a.type === 'fileinto' && <label>{t('filterTarget')} <select value={a.folder} onChange={(e) => { a.folder = e.currentTarget.value; }}>
        {opts.map((f) => <option key={f} value={f}>{f}</option>)}
      </select></label>}
      {(a.type === 'redirect' || a.type === 'copy') && <label>{t('filterAddress')} <input type="email" required value={a.to} onInput={(e) => { a.to = e.currentTarget.value; }} /></label>}
      <button type="button" onClick={onRemove}>{t('filterRemove')}</button>
    </div>
  );
}

function RulesForm({ rules, folders, onSave }) {
  const v = useSignal(0); // bumps to re-render after a change of shape
  const bump = () => { v.value++; };
  const list = rules;
  return (
    <form onSubmit={(e) => { e.preventDefault(); onSave(toSieve(list)); }} data-v={v.value}>
      {list.length === 0 && <p>{t('filterNoRules')}</p>}
      {list.map((r, i) => (
        <fieldset class="filter-rule" key={i}>
          <legend>{t('filterRule', { n: i + 1 })}{r.name ? ': ' + r.name : ''}</legend>
          <label>{t('filterName')} <input value={r.name} maxLength={200} onInput={(e) => { r.name = e.currentTarget.value.replace(/[\r\n]/g, ' '); }} /></label>
          <label>{t('filterMatch')} <select value={r.match} onChange={(e) => { r.match = e.currentTarget.value; }}>
            <option value="allof">{t('filterMatchAll')}</option><option value="anyof">{t('filterMatchAny')}</option>
          </select></label>
          {r.conds.map((c, j) => (
            <Cond key={j} c={c} n={j + 1} onChange={(nc) => { r.conds[j] = nc; bump(); }} onRemove={() => { r.conds.splice(j, 1); bump(); }} />
          ))}
          <p><button type="button" onClick={() => { r.conds.push(newCond()); bump(); }}>{t('filterAddCondition')}</button></p>
          {r.actions.map((a, j) => (
            <Action key={j} a={a} n={j + 1} folders={folders} onChange={(na) => { r.actions[j] = na; bump(); }} onRemove={() => { r.actions.splice(j, 1); bump(); }} />
          ))}
          <p>
            <button type="button" onClick={() => { r.actions.push(newAction(folders[0])); bump(); }}>{t('filterAddAction')}</button>{' '}
            {i > 0 && <button type="button" onClick={() => { list.splice(i - 1, 0, list.splice(i, 1)[0]); bump(); }}>{t('filterUp')}<span class="sr"> {t('filterRule', { n: i + 1 })}</span></button>}{' '}
            <button type="button" class="danger" onClick={() => { list.splice(i, 1); bump(); }}>{t('filterRemoveRule')}<span class="sr"> {t('filterRule', { n: i + 1 })}</span></button>
          </p>
        </fieldset>
      ))}
      <p>
        <button type="button" onClick={() => { list.push(newRule(folders[0])); bump(); }}>{t('filterAddRule')}</button>{' '}
        <button type="submit" class="primary">{t('filterSave')}</button>
      </p>
    </form>
  );
}

function RawEditor({ text, onText, error, onCheck, onSave }) {
  const area = useRef(null);
  const gutter = useRef(null);
  const lines = text.split('\n').length;
  const at = error && error.line;
  useEffect(() => {
    // Put the caret on the line of the error.
    const el = area.current;
    if (!el || !at) return;
    const starts = [0];
    for (let i = 0; i < el.value.length; i++) if (el.value[i] === '\n') starts.push(i + 1);
    const s = starts[Math.min(at, starts.length) - 1];
    const e = at < starts.length ? starts[at] - 1 : el.value.length;
    el.focus();
    el.setSelectionRange(s, e);
  }, [error]);
  return (
    <div>
      <div class="sieve-editor">
        <pre class="sieve-gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => <span key={i} data-line={i + 1} class={at === i + 1 ? 'err' : ''}>{i + 1}{'\n'}</span>)}
        </pre>
        <textarea ref={area} id="sieve-text" aria-label={t('sieveEditor')} spellcheck={false} rows={Math.min(Math.max(lines + 1, 10), 30)}
          aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'sieve-error' : undefined} value={text}
          onInput={(e) => onText(e.currentTarget.value)} onScroll={(e) => { if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop; }} />
      </div>
      {error && <p id="sieve-error" class="sieve-error" role="alert">{error.line ? t('sieveErrorAt', { line: error.line, msg: error.msg }) : t('sieveError', { msg: error.msg })}</p>}
      <p>
        <button type="button" onClick={onCheck}>{t('sieveCheck')}</button>{' '}
        <button type="button" class="primary" onClick={onSave}>{t('sieveSave')}</button>
      </p>
    </div>
  );
}

export function FilterRules() {
  const loaded = useSignal(null); // { script, other, folders }
  const rules = useSignal(null); // the form's rules, or null: raw only
  const raw = useSignal(false);
  const text = useSignal('');
  const error = useSignal(null);
  const status = useSignal('');

  const load = async () => {
    try {
      const r = await api([['SieveScript/get', {}, 'g'], ['Mailbox/get', { properties: ['id', 'name', 'parentId', 'role'] }, 'm']], CAPS);
      const list = r.g.list;
      const active = list.find((s) => s.isActive);
      const script = active || list.find((s) => s.name === SCRIPT) || null;
      let src = '';
      if (script) {
        const b = await api([['Blob/get', { ids: [script.blobId], properties: ['data:asText'] }, 'b']], CAPS);
        src = (b.b.list[0] && b.b.list[0]['data:asText']) || '';
      }
      loaded.value = { script, folders: folderNames(r.m.list) };
      text.value = src;
      const parsed = fromSieve(src);
      rules.value = parsed;
      raw.value = parsed === null;
      error.value = null;
    } catch (e) {
      status.value = t('filterFailed', { msg: e.message });
    }
  };
  useEffect(() => { load(); }, []);

  const asError = (se) => {
    const d = se.description || se.type;
    return errorLine(d) || { msg: d };
  };
  const save = async (src) => {
    try {
      const se = await saveScript(loaded.value.script, src);
      if (se) {
        error.value = asError(se);
        if (!raw.value) { text.value = src; raw.value = true; }
        status.value = '';
        return;
      }
      error.value = null;
      await load();
      status.value = t('filterSaved');
    } catch (e) {
      status.value = t('filterFailed', { msg: e.message });
    }
  };
  const check = async () => {
    try {
      const r = await api([['Blob/upload', { create: { b: { data: [{ 'data:asText': text.value }], type: 'application/sieve' } } }, 'u'],
        ['SieveScript/validate', { blobId: '#b' }, 'v']], CAPS);
      if (r.u.notCreated && r.u.notCreated.b) { error.value = asError(r.u.notCreated.b); return; }
      error.value = r.v.error ? asError(r.v.error) : null;
      status.value = r.v.error ? '' : t('sieveValid');
    } catch (e) {
      status.value = t('filterFailed', { msg: e.message });
    }
  };
  const toForm = () => {
    const parsed = fromSieve(text.value);
    if (parsed === null) { status.value = t('filtersRawOnly'); return; }
    rules.value = parsed;
    raw.value = false;
    error.value = null;
    status.value = '';
  };
  const toRaw = () => {
    text.value = toSieve(rules.value || []);
    raw.value = true;
  };

  const l = loaded.value;
  return (
    <section class="admin-form wide" aria-labelledby="h-filters">
      <h2 id="h-filters">{t('filtersTitle')}</h2>
      <p class="muted">{t('filtersHelp')}</p>
      <p class="note" role="status" aria-live="polite">{status.value}</p>
      {!l ? <p>{t('loading')}</p> : (
        <>
          {raw.value && rules.value === null && fromSieve(text.value) === null && <p>{t('filtersRawOnly')}</p>}
          <p>{raw.value
            ? <button type="button" onClick={toForm}>{t('filtersForm')}</button>
            : <button type="button" onClick={toRaw}>{t('filtersRaw')}</button>}</p>
          {raw.value
            ? <RawEditor text={text.value} onText={(v) => { text.value = v; }} error={error.value} onCheck={check} onSave={() => save(text.value)} />
            : <RulesForm rules={rules.value} folders={l.folders} onSave={save} />}
        </>
      )}
    </section>
  );
}
