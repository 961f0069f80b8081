// The browser's half of HTML mail safety. The server already sanitised
// the body (bluemonday, /web/api/html/{id}); here DOMPurify runs over it
// again, remote content is removed unless the user allowed it for this
// message, links open in a new tab without opener or referrer, and the
// result goes into a sandboxed iframe (no scripts, no forms, no top
// navigation) whose own Content-Security-Policy loads nothing remote
// unless allowed.
import DOMPurify from 'dompurify';

const REMOTE = /^\s*(https?:)?\/\//i;
const URL_ATTRS = ['src', 'srcset', 'background', 'poster', 'lowsrc', 'dynsrc', 'xlink:href'];

// cidKey normalises a Content-ID or a cid: URL's id (RFC 2392: the URL
// is %-encoded, the header has angle brackets) for comparison.
export function cidKey(s) {
  let v = String(s || '').trim().replace(/^cid:/i, '');
  try { v = decodeURIComponent(v); } catch { /* keep as is */ }
  return v.replace(/^<|>$/g, '').toLowerCase();
}

// sanitize returns the cleaned HTML and whether remote content was
// found (and, unless allowRemote, removed). cids maps the cidKey of the
// message's inline parts to their same-origin download URLs: an <img
// src="cid:…"> naming one of them shows that part (it is not remote
// content); any other cid: is dropped.
export function sanitize(html, allowRemote, cids) {
  let remote = false;
  const purify = DOMPurify();
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeType !== 1) return;
    for (const a of URL_ATTRS) {
      const v = node.getAttribute(a);
      if (v == null) continue;
      if (a === 'srcset') {
        // Tracking pixels hide here; the src stays.
        remote = true;
        node.removeAttribute(a);
      } else if (a === 'src' && /^\s*cid:/i.test(v) && cids && cids.has(cidKey(v))) {
        node.setAttribute(a, cids.get(cidKey(v)));
      } else if (REMOTE.test(v)) {
        remote = true;
        if (!allowRemote) node.removeAttribute(a);
      } else if (!/^data:image\/(png|gif|jpeg|webp);/i.test(v)) {
        node.removeAttribute(a); // relative, cid:, javascript: and the like
      }
    }
    const st = node.getAttribute('style');
    if (st && /url\s*\(|@import|expression\s*\(|image-set/i.test(st)) {
      remote = true;
      node.removeAttribute('style');
    }
    if (node.tagName === 'A') {
      const href = node.getAttribute('href') || '';
      if (!/^(https?:|mailto:)/i.test(href)) node.removeAttribute('href');
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
  const clean = purify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'base', 'meta', 'link', 'svg', 'math', 'iframe', 'object', 'embed', 'video', 'audio', 'source', 'picture'],
    FORBID_ATTR: ['action', 'formaction', 'ping'],
    ALLOW_DATA_ATTR: false,
    ADD_ATTR: ['target'],
  });
  return { html: clean, remote };
}

// frameDocument is the iframe's srcdoc: the cleaned body under a policy
// that loads no script, no font, no frame and (until allowed) no remote
// image. The iframe also inherits the app's policy.
export function frameDocument(clean, allowRemote, dark) {
  // The message's own inline parts come from this origin (sanitize put
  // their download URLs in); nothing else from it survives sanitize.
  const img = allowRemote ? 'img-src data: http: https:' : `img-src data: ${location.origin}`;
  const csp = `default-src 'none'; style-src 'unsafe-inline'; ${img}; form-action 'none'; base-uri 'none'`;
  const bg = dark ? 'color-scheme: light dark;' : '';
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<meta name="referrer" content="no-referrer"></head>` +
    `<body style="margin:0;padding:8px;font-family:system-ui,sans-serif;overflow-wrap:anywhere;${bg}">${clean}</body></html>`;
}
