// Attachment preview: images shown in a dialog, PDFs in the browser's own
// viewer (an <iframe> of the JMAP download with ?disposition=inline).
// The server serves every download sandboxed (Content-Security-Policy:
// sandbox, an opaque origin without script), so what the preview shows
// cannot script the app; HTML and SVG are never previewed.
import { signal } from '@preact/signals';
import { t } from '../i18n.js';
import * as S from '../state.js';
import { Dialog } from '../keys.jsx';

// preview is the attachment shown: { name, type, url } (url the download).
export const preview = signal(null);

const IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const baseType = (typ) => String(typ || '').split(';')[0].trim().toLowerCase();

// previewKind is 'image', 'pdf' or null (not previewable).
export function previewKind(a) {
  const typ = baseType(a.type);
  if (IMAGES.includes(typ)) return 'image';
  if (typ === 'application/pdf') return 'pdf';
  return null;
}

export function openPreview(a, url) {
  preview.value = { name: a.name || a.type, kind: previewKind(a), url: url + '&disposition=inline', download: url };
  S.dialog.value = 'preview';
}

export function Preview() {
  const p = preview.value;
  if (!p) return null;
  return (
    <Dialog title={t('m2PreviewOf', { name: p.name })}>
      <div class="preview-box">
        {p.kind === 'image'
          ? <img src={p.url} alt={p.name} />
          : <iframe src={p.url} title={p.name} referrerpolicy="no-referrer" />}
      </div>
      <p><a href={p.download} download={p.name}>{t('m2Download')}</a></p>
    </Dialog>
  );
}
