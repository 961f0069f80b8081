// The composer's rich-text editor, loaded on demand as its own chunk (the
// plain-text composer does not pay for it). A contenteditable with bold,
// italic, bulleted and numbered lists and links; what leaves it is
// sanitised with DOMPurify to that markup only, and a plain-text
// alternative is generated from the same tree.
import { useLayoutEffect, useRef } from 'preact/hooks';
import DOMPurify from 'dompurify';
import { t } from './i18n.js';

const TAGS = ['p', 'div', 'br', 'b', 'strong', 'i', 'em', 'ul', 'ol', 'li', 'a'];

// clean is the editor's HTML as it may leave the browser: the tags above,
// href on links (http, https and mailto only), nothing else.
export function clean(html) {
  const purify = DOMPurify();
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A') {
      const href = node.getAttribute('href') || '';
      if (!/^(https?:|mailto:)/i.test(href)) node.removeAttribute('href');
    }
  });
  return purify.sanitize(html, { ALLOWED_TAGS: TAGS, ALLOWED_ATTR: ['href'], ALLOW_DATA_ATTR: false });
}

// toText is the plain-text alternative of clean HTML: paragraphs and
// lines kept, list items as "* " or "1. ", links as "text <url>".
export function toText(html) {
  const root = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html').body;
  let out = '';
  const walk = (n, list) => {
    for (const c of n.childNodes) {
      if (c.nodeType === 3) { out += c.nodeValue.replace(/\s+/g, ' '); continue; }
      if (c.nodeType !== 1) continue;
      const tag = c.tagName;
      if (tag === 'BR') { out += '\n'; continue; }
      if (tag === 'UL' || tag === 'OL') {
        if (out && !out.endsWith('\n')) out += '\n';
        walk(c, { ordered: tag === 'OL', n: 0 });
        continue;
      }
      if (tag === 'LI') {
        if (out && !out.endsWith('\n')) out += '\n';
        out += list && list.ordered ? `${++list.n}. ` : '* ';
        walk(c, null);
        out += '\n';
        continue;
      }
      if (tag === 'P' || tag === 'DIV') {
        if (out && !out.endsWith('\n')) out += '\n';
        walk(c, list);
        if (!out.endsWith('\n')) out += '\n';
        continue;
      }
      walk(c, list);
      if (tag === 'A') {
        const href = c.getAttribute('href');
        if (href && href.replace(/^mailto:/, '') !== c.textContent.trim()) out += ` <${href}>`;
      }
    }
  };
  walk(root, null);
  return out.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim() + '\n';
}

// fromText turns plain text into the editor's HTML (escaped, one
// paragraph per line), for switching an existing text to rich text.
export function fromText(text) {
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return text.split('\n').map((l) => `<div>${l ? esc(l) : '<br>'}</div>`).join('');
}

// RichEditor: the toolbar and the editable area. onInput is called on
// every change; getHTML (through api) reads the sanitised content.
export function RichEditor({ html, onInput, api, labelId }) {
  const area = useRef(null);
  // Filled before the browser paints (and before anyone can type).
  useLayoutEffect(() => {
    area.current.innerHTML = clean(html || '');
    api.current = { html: () => clean(area.current.innerHTML) };
  }, []);
  const keep = (e) => e.preventDefault(); // a click keeps the editor's selection
  const cmd = (name, value) => () => {
    area.current.focus();
    document.execCommand(name, false, value);
    onInput();
  };
  const link = () => {
    const url = window.prompt(t('linkAddress'), 'https://');
    area.current.focus();
    if (url && /^(https?:|mailto:)/i.test(url.trim())) document.execCommand('createLink', false, url.trim());
    onInput();
  };
  return (
    <div class="rich">
      <div class="rich-tools" role="toolbar" aria-label={t('formatting')}>
        <button type="button" onMouseDown={keep} onClick={cmd('bold')} title={t('bold')}><b aria-hidden="true">B</b><span class="vh">{t('bold')}</span></button>
        <button type="button" onMouseDown={keep} onClick={cmd('italic')} title={t('italic')}><i aria-hidden="true">I</i><span class="vh">{t('italic')}</span></button>
        <button type="button" onMouseDown={keep} onClick={cmd('insertUnorderedList')} title={t('bulletList')}><span aria-hidden="true">•</span><span class="vh">{t('bulletList')}</span></button>
        <button type="button" onMouseDown={keep} onClick={cmd('insertOrderedList')} title={t('numberedList')}><span aria-hidden="true">1.</span><span class="vh">{t('numberedList')}</span></button>
        <button type="button" onMouseDown={keep} onClick={link} title={t('link')}><span aria-hidden="true">🔗</span><span class="vh">{t('link')}</span></button>
      </div>
      <div ref={area} class="rich-area" contentEditable role="textbox" aria-multiline="true" aria-labelledby={labelId} onInput={onInput} />
    </div>
  );
}
