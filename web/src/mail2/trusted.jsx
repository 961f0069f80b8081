// Settings → Remote content: the senders trusted with remote content,
// each with Remove.
import { useEffect } from 'preact/hooks';
import { t } from '../i18n.js';
import { trustedSenders, loadTrusted, untrustSender } from './senders.js';
import './strings.js';

export function TrustedSenders({ note }) {
  useEffect(() => { loadTrusted(); }, []);
  const list = [...trustedSenders.value];
  return (
    <section class="admin-form" aria-labelledby="h-remote">
      <h2 id="h-remote">{t('m2RemoteTitle')}</h2>
      <p class="muted">{t('m2RemoteHelp')}</p>
      {list.length === 0 ? <p>{t('m2RemoteNone')}</p> : (
        <ul class="trusted-senders">
          {list.map((a) => (
            <li><span>{a}</span> <button onClick={async () => {
              try { await untrustSender(a); note(t('m2RemoteRemoved', { addr: a })); } catch (e) { note(t('adminFailed', { msg: e.message })); }
            }} aria-label={t('m2RemoteRemove', { addr: a })}>{t('m2Remove')}</button></li>
          ))}
        </ul>
      )}
    </section>
  );
}
