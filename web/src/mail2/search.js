// The search box's syntax and its JMAP Email/query filter (RFC 8621
// §4.4.1). Pure functions, so the advanced form and the box share one
// grammar: the form writes the box's text.
//
//   from:, to:, cc:, subject:, body:   the header or body contains the value
//   after:YYYY-MM-DD, before:YYYY-MM-DD received on or after / before that
//                                       day (local midnight)
//   has:attachment                      hasAttachment
//   in:all (or in:folder)               every folder of the account (or
//                                       the folder shown, the default)
//   tag:NAME                            the keyword NAME (hasKeyword)
//   anything else                       free text
//
// Values with spaces are quoted: subject:"weekly report".

// MAX_QUERY bounds the text parsed (the box's maxlength too); MAX_TERMS
// the conditions one search sends.
export const MAX_QUERY = 500;
export const MAX_TERMS = 20;

const TEXT_KEYS = ['from', 'to', 'cc', 'subject', 'body'];
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

// dayStart is local midnight of YYYY-MM-DD as UTCDate, or null when the
// text is not a real day.
export function dayStart(s) {
  const m = DATE.exec(s || '');
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3]);
  if (d.getFullYear() !== +m[1] || d.getMonth() !== +m[2] - 1 || d.getDate() !== +m[3]) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// keywordOK is RFC 8621's keyword syntax (IMAP atom characters, 1 to 255
// bytes), without the system keywords' leading $.
export const keywordOK = (k) => typeof k === 'string' && /^[\x21-\x7e]{1,255}$/.test(k) && !/[(){\]%*"\\]/.test(k);

// parseSearch returns { conds, all, bad }: the filter conditions, whether
// to search every folder, and the terms it could not read (a date that
// is none, an unknown has:, too many terms).
export function parseSearch(s) {
  s = String(s || '').slice(0, MAX_QUERY);
  const conds = [];
  const text = [];
  const bad = [];
  let all = false;
  const re = /(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(s))) {
    const key = (m[1] || m[3] || '').toLowerCase();
    const val = m[2] ?? m[4];
    if (TEXT_KEYS.includes(key) && val) conds.push({ [key]: val });
    else if (key === 'after' || key === 'before') {
      const d = dayStart(val);
      if (d) conds.push({ [key]: d });
      else bad.push(m[0]);
    } else if (key === 'has') {
      if (/^attachments?$/i.test(val)) conds.push({ hasAttachment: true });
      else bad.push(m[0]);
    } else if (key === 'in' && /^(all|folder)$/i.test(val)) all = val.toLowerCase() === 'all';
    else if (key === 'tag') {
      if (keywordOK(val) && !val.startsWith('$')) conds.push({ hasKeyword: val.toLowerCase() });
      else bad.push(m[0]);
    } else text.push(m[5] ?? m[6] ?? m[0]);
  }
  if (text.length) conds.push({ text: text.join(' ') });
  if (conds.length > MAX_TERMS) bad.push(`${conds.length} > ${MAX_TERMS}`);
  return { conds, all, bad };
}

// toFilter is the Email/query filter: the conditions, in the folder
// shown unless all folders are searched (inMailbox left out).
export function toFilter(s, mailboxId) {
  const { conds, all } = parseSearch(s);
  const list = all ? conds : [{ inMailbox: mailboxId }, ...conds];
  if (list.length === 0) return {};
  return list.length === 1 ? list[0] : { operator: 'AND', conditions: list };
}

const quote = (v) => (/[\s"]/.test(v) ? `"${v.replace(/"/g, '')}"` : v);

// buildQuery writes the advanced form's fields as the box's text.
export function buildQuery(f) {
  const out = [];
  if (f.text) out.push(f.text.trim());
  for (const k of ['from', 'to', 'subject']) if (f[k] && f[k].trim()) out.push(`${k}:${quote(f[k].trim())}`);
  if (f.after) out.push(`after:${f.after}`);
  if (f.before) out.push(`before:${f.before}`);
  if (f.hasAttachment) out.push('has:attachment');
  if (f.tag && f.tag.trim()) out.push(`tag:${f.tag.trim()}`);
  if (f.all) out.push('in:all');
  return out.join(' ').slice(0, MAX_QUERY);
}

// splitQuery reads the box's text back into the form's fields (what the
// form does not have stays free text).
export function splitQuery(s) {
  const f = { text: '', from: '', to: '', subject: '', after: '', before: '', hasAttachment: false, tag: '', all: false };
  const text = [];
  const re = /(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(String(s || '').slice(0, MAX_QUERY)))) {
    const key = (m[1] || m[3] || '').toLowerCase();
    const val = m[2] ?? m[4];
    if (['from', 'to', 'subject', 'after', 'before', 'tag'].includes(key)) f[key] = val;
    else if (key === 'has' && /^attachments?$/i.test(val)) f.hasAttachment = true;
    else if (key === 'in') f.all = val.toLowerCase() === 'all';
    else text.push(m[0]);
  }
  f.text = text.join(' ');
  return f;
}
