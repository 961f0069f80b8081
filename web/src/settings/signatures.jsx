// Settings → Signatures: each identity the user may send from (own
// addresses, aliases, send-as: JMAP Identity/get) with its sender name
// and signatures, saved with Identity/set (RFC 8621 §6.3). The composer
// adds the signature of the identity chosen as From (compose.jsx).
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from '../i18n.js';
import { api } from '../jmap.js';

// MAX_SIGNATURE is the server's bound (64 KiB) in characters, a
// conservative stand-in for bytes in the form.
const MAX_SIGNATURE = 16000;

function Identity({ ident, onSaved, onError }) {
  const save = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const patch = { name: f.get('name'), textSignature: f.get('text'), htmlSignature: f.get('html') };
    try {
      const r = await api([['Identity/set', { update: { [ident.id]: patch } }, 's']]);
      const bad = r.s.notUpdated && Object.values(r.s.notUpdated)[0];
      if (bad) throw new Error(bad.description || bad.type);
      onSaved(t('signatureSaved', { email: ident.email }));
    } catch (e) {
      onError(e);
    }
  };
  const id = `sig-${ident.id}`;
  return (
    <form class="signature-form" onSubmit={save} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{ident.name ? `${ident.name} <${ident.email}>` : ident.email}</h3>
      <label for={`${id}-name`}>{t('identityName')}</label>
      <input id={`${id}-name`} name="name" defaultValue={ident.name} maxLength={256} />
      <label for={`${id}-text`}>{t('signatureText')}</label>
      <textarea id={`${id}-text`} name="text" rows="4" maxLength={MAX_SIGNATURE} defaultValue={ident.textSignature || ''} />
      <label for={`${id}-html`}>{t('signatureHTML')}</label>
      <textarea id={`${id}-html`} name="html" rows="3" maxLength={MAX_SIGNATURE} defaultValue={ident.htmlSignature || ''} />
      <div><button class="primary" type="submit">{t('adminSave')}</button></div>
    </form>
  );
}

// Signatures is the section; note(text) reports success or failure in
// the page's status line.
export function Signatures({ note }) {
  const list = useSignal(null);
  const fail = (e) => { note(t('adminFailed', { msg: e.message })); };
  useEffect(() => {
    api([['Identity/get', { ids: null }, 'i']]).then((r) => { list.value = r.i.list; }, fail);
  }, []);
  return (
    <section class="admin-form signature-list" aria-labelledby="h-signatures">
      <h2 id="h-signatures">{t('signaturesTitle')}</h2>
      <p class="muted">{t('signaturesHint')}</p>
      {list.value == null ? <p role="status">{t('loading')}</p>
        : list.value.length === 0 ? <p>{t('noIdentities')}</p>
          : list.value.map((i) => <Identity key={i.id} ident={i} onSaved={note} onError={fail} />)}
    </section>
  );
}
