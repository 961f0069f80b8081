// Filter rules <-> Sieve (RFC 5228). toSieve writes the rules the
// settings' form edits as a script; fromSieve reads a script back into
// rules, but only the shape toSieve writes (any other Sieve, or any
// script it cannot represent exactly, gives null and the settings open
// the raw editor instead). Round trip: fromSieve(toSieve(r)) equals r.
//
// A rule: { name, match: 'allof'|'anyof', conds: [cond], actions: [action] }
//   cond:   { field: 'from'|'to'|'subject'|'header', header?, op: 'contains'|'is', value }
//         | { field: 'size', op: 'over', value: KB (a whole number, as a string) }
//   action: { type: 'fileinto', folder } | { type: 'read' } | { type: 'flag' }
//         | { type: 'redirect', to } | { type: 'copy', to } | { type: 'discard' } | { type: 'stop' }

export const MARK = '# Roost filter rules (Settings in the web client). Edited there as rules.';
const MAX_PARSE = 256 * 1024; // a longer script is not parsed into rules
const HEADER_FIELDS = { from: 'from', to: 'to', subject: 'subject' };

const quote = (s) => '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
const oneLine = (s) => String(s).replace(/[\r\n]+/g, ' ');

function condSieve(c) {
  if (c.field === 'size') return `size :over ${parseInt(c.value, 10) || 0}K`;
  const name = c.field === 'header' ? c.header : HEADER_FIELDS[c.field];
  return `header :${c.op === 'is' ? 'is' : 'contains'} ${quote(name)} ${quote(c.value)}`;
}

function actionSieve(a) {
  switch (a.type) {
    case 'fileinto': return `fileinto ${quote(a.folder)};`;
    case 'read': return 'addflag "\\\\Seen";';
    case 'flag': return 'addflag "\\\\Flagged";';
    case 'redirect': return `redirect ${quote(a.to)};`;
    case 'copy': return `redirect :copy ${quote(a.to)};`;
    case 'discard': return 'discard;';
    default: return 'stop;';
  }
}

// toSieve writes the rules as a script.
export function toSieve(rules) {
  const need = new Set();
  for (const r of rules) {
    for (const a of r.actions) {
      if (a.type === 'fileinto') need.add('fileinto');
      if (a.type === 'read' || a.type === 'flag') need.add('imap4flags');
      if (a.type === 'copy') need.add('copy');
    }
  }
  const out = [MARK];
  const req = ['fileinto', 'imap4flags', 'copy'].filter((x) => need.has(x));
  if (req.length) out.push(`require [${req.map(quote).join(', ')}];`);
  for (const r of rules) {
    out.push('', `# rule: ${oneLine(r.name || '')}`);
    const test = r.conds.length ? `${r.match === 'anyof' ? 'anyof' : 'allof'} (${r.conds.map(condSieve).join(', ')})` : 'true';
    out.push(`if ${test} {`);
    for (const a of r.actions) out.push('  ' + actionSieve(a));
    out.push('}');
  }
  return out.join('\n') + '\n';
}

// tokens splits a script into Sieve tokens, keeping "# rule:" comments.
// null on anything outside the subset (multi-line strings, text:, /* */).
function tokens(src) {
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { i++; continue; }
    if (c === '#') {
      const end = src.indexOf('\n', i);
      const line = src.slice(i, end < 0 ? src.length : end).replace(/\r$/, '');
      if (line.startsWith('# rule: ')) out.push({ k: 'rule', v: line.slice(8) });
      else if (line.startsWith('# rule:')) out.push({ k: 'rule', v: line.slice(7) });
      i = end < 0 ? src.length : end + 1;
      continue;
    }
    if (c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) return null;
        const d = src[i];
        if (d === '"') { i++; break; }
        if (d === '\r' || d === '\n') return null; // toSieve never writes one
        if (d === '\\') { if (i + 1 >= src.length) return null; s += src[i + 1]; i += 2; continue; }
        s += d;
        i++;
      }
      out.push({ k: 'str', v: s });
      continue;
    }
    let m = /^:[A-Za-z_][\w-]*/.exec(src.slice(i, i + 64));
    if (m) { out.push({ k: 'tag', v: m[0].slice(1).toLowerCase() }); i += m[0].length; continue; }
    m = /^[0-9]+[KkMmGg]?/.exec(src.slice(i, i + 32));
    if (m) { out.push({ k: 'num', v: m[0] }); i += m[0].length; continue; }
    m = /^[A-Za-z_]\w*/.exec(src.slice(i, i + 64));
    if (m) { out.push({ k: 'id', v: m[0].toLowerCase() }); i += m[0].length; continue; }
    if ('()[]{},;'.includes(c)) { out.push({ k: c }); i++; continue; }
    return null;
  }
  return out;
}

// fromSieve reads a script back into rules, or null.
export function fromSieve(src) {
  if (typeof src !== 'string' || src.length > MAX_PARSE) return null;
  if (src.trim() === '') return [];
  const ts = tokens(src);
  if (!ts) return null;
  let p = 0;
  const peek = (k, v) => p < ts.length && ts[p].k === k && (v === undefined || ts[p].v === v);
  const take = (k, v) => {
    if (!peek(k, v)) throw new Error('shape');
    return ts[p++];
  };
  try {
    const required = new Set();
    if (peek('id', 'require')) {
      p++;
      if (peek('[')) {
        p++;
        for (;;) {
          required.add(take('str').v);
          if (peek(',')) { p++; continue; }
          take(']');
          break;
        }
      } else required.add(take('str').v);
      take(';');
    }
    const rules = [];
    while (p < ts.length) {
      const rule = { name: '', match: 'allof', conds: [], actions: [] };
      if (peek('rule')) rule.name = ts[p++].v;
      take('id', 'if');
      if (peek('id', 'true')) {
        p++;
      } else {
        rule.match = take('id').v;
        if (rule.match !== 'allof' && rule.match !== 'anyof') return null;
        take('(');
        for (;;) {
          rule.conds.push(readCond());
          if (peek(',')) { p++; continue; }
          take(')');
          break;
        }
      }
      take('{');
      while (!peek('}')) rule.actions.push(readAction());
      take('}');
      rules.push(rule);
    }
    // The script must be exactly what toSieve writes for these rules
    // (same requires, no extra spacing that would be lost, no comments
    // but ours): otherwise saving the form would change it silently.
    if (toSieve(rules).trim() !== src.replace(/\r\n/g, '\n').trim()) return null;
    return rules;
  } catch {
    return null;
  }

  function readCond() {
    const t = take('id').v;
    if (t === 'size') {
      take('tag', 'over');
      const n = take('num').v;
      if (!/^[0-9]+K$/.test(n)) throw new Error('shape');
      return { field: 'size', op: 'over', value: n.slice(0, -1) };
    }
    if (t !== 'header') throw new Error('shape');
    const op = take('tag').v;
    if (op !== 'contains' && op !== 'is') throw new Error('shape');
    const name = take('str').v;
    const value = take('str').v;
    const field = Object.keys(HEADER_FIELDS).find((f) => HEADER_FIELDS[f] === name);
    return field ? { field, op, value } : { field: 'header', header: name, op, value };
  }

  function readAction() {
    const t = take('id').v;
    let a;
    if (t === 'fileinto') a = { type: 'fileinto', folder: take('str').v };
    else if (t === 'addflag') {
      const f = take('str').v;
      if (f === '\\Seen') a = { type: 'read' };
      else if (f === '\\Flagged') a = { type: 'flag' };
      else throw new Error('shape');
    } else if (t === 'redirect') {
      if (peek('tag', 'copy')) { p++; a = { type: 'copy', to: take('str').v }; } else a = { type: 'redirect', to: take('str').v };
    } else if (t === 'discard') a = { type: 'discard' };
    else if (t === 'stop') a = { type: 'stop' };
    else throw new Error('shape');
    take(';');
    return a;
  }
}

// errorLine finds the line of a validation error ("… line 3:5: …").
export function errorLine(msg) {
  const m = /line (\d+):(\d+): (.*)$/s.exec(msg || '');
  return m ? { line: +m[1], col: +m[2], msg: m[3] } : null;
}
