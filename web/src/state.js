// The mail state (signals) and the actions on it, all through JMAP.
import { signal, computed, batch } from '@preact/signals';
import { api, accountId, archiveAccountId, sharedMailAccounts, sessionStale, getSession, maxObjectsInSet, LIST_PROPS, AuthError } from './jmap.js';
import { t } from './i18n.js';
import { fmtDateTime } from './prefs/prefs.js';

export const PAGE = 100;

export const user = signal(null);          // { login } once signed in
export const mailboxes = signal([]);       // Mailbox objects
export const archiveMailboxes = signal([]); // the archive account's (read-only)
// Other users' folders shared with the user and the public folders: one
// entry per such Mail account of the session, { id, name, isPublic,
// isReadOnly, mailboxes }.
export const sharedAccounts = signal([]);
export const identities = signal([]);
export const currentMailbox = signal(null); // mailbox id
export const query = signal('');           // the search box's text
export const total = signal(0);            // messages the query matches
export const listVersion = signal(0);      // bumps when rows arrive
export const listLoaded = signal(false);   // the first page of the current list is in
export const selectedIndex = signal(-1);
export const selectedId = signal(null);
export const message = signal(null);       // the open message, full
export const compose = signal(null);       // the draft being written
export const dialog = signal(null);        // 'help' | 'move' | 'settings'
export const toast = signal('');
// A send the server holds (jmap_send_delay): { subId, emailId, draft,
// until } while the toast offers Undo.
export const undoable = signal(null);
export const mobileView = signal('list');  // 'folders' | 'list' | 'reader' (narrow screens)
// Multi-select in the message list: the checked ids (a Set, replaced on
// every change so the signal fires) and the anchor position of shift-
// click ranges. Empty: the actions apply to the open message.
export const checked = signal(new Set());
let anchor = -1;
// The folder dialog: { kind: 'create'|'rename'|'move'|'delete', id }.
export const folderAction = signal(null);

// The list cache: position → email id, id → email. generation changes
// with every reset, so late answers for an older list are dropped;
// loaded holds the pages fetched in this generation.
let ids = [];
const emails = new Map();
const loading = new Set();
const loaded = new Set();
let generation = 0;

export function emailAt(i) {
  const id = ids[i];
  return id ? emails.get(id) : undefined;
}
export function emailById(id) { return emails.get(id); }

export const mailboxByRole = (role) => mailboxes.value.find((m) => m.role === role);
export const mailboxName = (m) => (m.role && ['inbox', 'drafts', 'sent', 'trash', 'junk', 'archive'].includes(m.role) ? t('role.' + m.role) : m.name);

// inArchive: the current folder is one of the archive account's, which
// the messages of the list and the reader are read from.
export const inArchive = computed(() => archiveMailboxes.value.some((m) => m.id === currentMailbox.value));

// currentShared is the shared account the current folder is in (null:
// the user's own or the archive).
export const currentShared = computed(() => sharedAccounts.value.find((a) => a.mailboxes.some((m) => m.id === currentMailbox.value)) || null);

// currentAccountId is the accountId of the current folder's account.
export function currentAccountId() {
  if (inArchive.value) return archiveAccountId();
  return currentShared.value ? currentShared.value.id : accountId();
}

// currentFolder is the current Mailbox object, in whichever account.
export const currentFolder = computed(() => {
  const id = currentMailbox.value;
  const a = currentShared.value;
  return (a ? a.mailboxes : inArchive.value ? archiveMailboxes.value : mailboxes.value).find((m) => m.id === id) || null;
});

// may reports whether the current folder's myRights (RFC 8621 §2) allow
// right: a shared folder allows what its owner gave; the archive nothing.
export function may(right) {
  if (inArchive.value) return false;
  const m = currentFolder.value;
  return !m || !m.myRights || m.myRights[right] !== false;
}

// acct adds the accountId of the current folder's account (the archive,
// a shared account) to a call's arguments.
function acct(args) {
  return inArchive.value || currentShared.value ? { ...args, accountId: currentAccountId() } : args;
}

// moveTree is the folders messages of the current folder can be moved
// to: those of its account (Email/set moves within one account).
export const moveTree = computed(() => (currentShared.value ? treeOf(currentShared.value.mailboxes) : tree.value));
export const sharedTree = (a) => treeOf(a.mailboxes);

// tree orders the mailboxes depth-first with their depth, roles first.
export const tree = computed(() => treeOf(mailboxes.value));
export const archiveTree = computed(() => treeOf(archiveMailboxes.value));

function treeOf(all) {
  const kids = new Map();
  for (const m of all) {
    const p = m.parentId || '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(m);
  }
  const order = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];
  const rank = (m) => (m.role && order.includes(m.role) ? order.indexOf(m.role) : 100 + (m.sortOrder || 0));
  const out = [];
  const walk = (p, depth) => {
    const list = (kids.get(p) || []).slice().sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
    for (const m of list) {
      out.push({ m, depth });
      if (depth < 20) walk(m.id, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

// firstError returns the first SetError of a notCreated/notUpdated/
// notDestroyed map (servers may send an empty map or null for none).
export function firstError(m) {
  const e = m && Object.values(m)[0];
  return e ? new Error(e.description || e.type) : null;
}

export function notify(msg) {
  toast.value = msg;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { toast.value = ''; }, 5000);
}

export function fail(err) {
  if (err instanceof AuthError) {
    // The session ended (signed out elsewhere, expired): back to the
    // sign-in page.
    location.reload();
    return;
  }
  console.error(err);
  notify(t('error', { error: err.message || String(err) }));
}

// parseSearch turns the search box into JMAP filter conditions
// (RFC 8621 §4.4.1): from:, to:, subject: and free text.
export function parseSearch(s) {
  const conds = [];
  const text = [];
  const re = /(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(s))) {
    const key = (m[1] || m[3] || '').toLowerCase();
    const val = m[2] ?? m[4];
    if (['from', 'to', 'subject', 'cc', 'body'].includes(key) && val) conds.push({ [key]: val });
    else text.push(m[5] ?? m[6] ?? m[0]);
  }
  if (text.length) conds.push({ text: text.join(' ') });
  return conds;
}

function filter() {
  const f = { inMailbox: currentMailbox.value };
  const conds = parseSearch(query.value);
  return conds.length ? { operator: 'AND', conditions: [f, ...conds] } : f;
}

export async function loadMailboxes(again) {
  // A share given or taken away changes the session's accounts.
  await getSession();
  const calls = [
    ['Mailbox/get', { ids: null }, 'm'],
    ['Identity/get', { ids: null }, 'i'],
  ];
  const arch = archiveAccountId();
  if (arch) calls.push(['Mailbox/get', { accountId: arch, ids: null }, 'a']);
  const shared = sharedMailAccounts();
  shared.forEach((a, k) => calls.push(['Mailbox/get', { accountId: a.id, ids: null }, 'x' + k]));
  let r;
  try {
    r = await api(calls);
  } catch (e) {
    // A shared account gone since the session was read: once more with
    // the new session.
    if (!again && sessionStale()) return loadMailboxes(true);
    throw e;
  }
  if (!again && sessionStale()) return loadMailboxes(true);
  let gone = false;
  batch(() => {
    mailboxes.value = r.m.list;
    identities.value = r.i.list;
    archiveMailboxes.value = r.a ? r.a.list : [];
    sharedAccounts.value = shared.map((a, k) => ({ ...a, mailboxes: r['x' + k].list }));
    const known = (id) => r.m.list.some((m) => m.id === id) || archiveMailboxes.value.some((m) => m.id === id) ||
      sharedAccounts.value.some((a) => a.mailboxes.some((m) => m.id === id));
    if (!currentMailbox.value || !known(currentMailbox.value)) {
      // The open folder went away (a share taken back, a folder deleted
      // elsewhere): the Inbox opens.
      gone = !!currentMailbox.value;
      const inbox = r.m.list.find((m) => m.role === 'inbox') || r.m.list[0];
      currentMailbox.value = inbox ? inbox.id : null;
    }
  });
  if (gone && currentMailbox.value) {
    selectFolder(currentMailbox.value);
    notify(t('folderGone'));
  }
}

// resetList makes the next render fetch the visible pages again. With
// keep (a refresh after a change), the rows on screen stay until their
// page is back, so the list does not flicker and a click on a row in
// flight still lands; without (another folder or query), they go.
export function resetList(keep) {
  generation++;
  loading.clear();
  loaded.clear();
  if (!keep) {
    ids = [];
    emails.clear();
    listLoaded.value = false;
  }
  listVersion.value++;
}

// ensureRange loads the pages covering positions [from, to).
export function ensureRange(from, to) {
  if (!currentMailbox.value) return;
  const first = Math.max(0, Math.floor(from / PAGE));
  const last = Math.floor(Math.max(from, to - 1) / PAGE);
  for (let p = first; p <= last; p++) {
    if (!loading.has(p) && !loaded.has(p)) loadPage(p);
  }
}

async function loadPage(p) {
  const gen = generation;
  loading.add(p);
  try {
    const r = await api([
      ['Email/query', acct({ filter: filter(), sort: [{ property: 'receivedAt', isAscending: false }], position: p * PAGE, limit: PAGE, calculateTotal: true }), 'q'],
      ['Email/get', acct({ '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPS }), 'g'],
    ]);
    if (gen !== generation) return;
    for (const e of r.g.list) emails.set(e.id, e);
    r.q.ids.forEach((id, k) => { ids[r.q.position + k] = id; });
    loaded.add(p);
    batch(() => {
      total.value = r.q.total;
      listLoaded.value = true;
      listVersion.value++;
    });
  } catch (e) {
    // A shared account gone (the session is read again): the folder
    // list follows, no error to show.
    if (gen === generation && !sessionStale()) fail(e);
  } finally {
    if (gen === generation) loading.delete(p);
  }
}

export function selectFolder(id) {
  batch(() => {
    checked.value = new Set();
    currentMailbox.value = id;
    selectedIndex.value = -1;
    selectedId.value = null;
    message.value = null;
    total.value = 0;
    mobileView.value = 'list';
  });
  resetList();
  ensureRange(0, PAGE);
}

export function runSearch(s) {
  batch(() => {
    checked.value = new Set();
    query.value = s;
    selectedIndex.value = -1;
    selectedId.value = null;
    message.value = null;
    total.value = 0;
  });
  resetList();
  ensureRange(0, PAGE);
}

// select makes position i the current message and opens it; id, when
// the caller knows it (a click on a row), wins over the cache.
export function select(i, id) {
  if (i < 0 || i >= total.value) return;
  const e = id ? { id } : emailAt(i);
  batch(() => {
    selectedIndex.value = i;
    selectedId.value = e ? e.id : null;
  });
  if (e) openMessage(e.id);
}

let readTimer;
export async function openMessage(id) {
  clearTimeout(readTimer);
  mobileView.value = 'reader';
  try {
    const r = await api([['Email/get', acct({
      ids: [id],
      properties: ['id', 'subject', 'from', 'to', 'cc', 'replyTo', 'receivedAt', 'sentAt', 'keywords', 'mailboxIds', 'messageId', 'inReplyTo', 'references', 'textBody', 'htmlBody', 'attachments', 'bodyValues', 'preview'],
      fetchTextBodyValues: true, maxBodyValueBytes: 1 << 20,
    }), 'g']]);
    if (selectedId.value !== id) return;
    const m = r.g.list[0];
    if (!m) return;
    m.hasHTML = (m.htmlBody || []).some((p) => p.type === 'text/html');
    message.value = m;
    if (!m.keywords.$seen && may('maySetSeen')) {
      // Mark read on open, after a moment: flicking through with j/k
      // does not mark everything read.
      readTimer = setTimeout(() => { if (selectedId.value === id) setKeyword([id], '$seen', true); }, 600);
    }
  } catch (e) {
    fail(e);
  }
}

function patchLocal(idsToPatch, fn) {
  for (const id of idsToPatch) {
    const e = emails.get(id);
    if (e) fn(e);
  }
  if (message.value && idsToPatch.includes(message.value.id)) {
    const m = { ...message.value, keywords: { ...message.value.keywords } };
    fn(m);
    message.value = m;
  }
  listVersion.value++;
}

// readOnly refuses a change to the archive, or one the current shared
// folder's rights do not allow (keyboard shortcuts reach the actions the
// reader's buttons hide there); the server refuses it too.
function readOnly(right) {
  if (inArchive.value) {
    notify(t('archiveReadOnly'));
    return true;
  }
  if (!right || may(right)) return false;
  notify(t('shareNoRight'));
  return true;
}

// setEmails updates (with patch) or else destroys the messages ids, in
// Email/set calls of at most the server's maxObjectsInSet each (a
// selection of every loaded message can be thousands); it throws the
// first SetError.
async function setEmails(ids, patch) {
  const max = maxObjectsInSet();
  for (let i = 0; i < ids.length; i += max) {
    const part = ids.slice(i, i + max);
    const args = patch ? { update: Object.fromEntries(part.map((id) => [id, patch])) } : { destroy: part };
    const r = await api([['Email/set', acct(args), 's']]);
    const e = firstError(r.s.notUpdated) || firstError(r.s.notDestroyed);
    if (e) throw e;
  }
}

export async function setKeyword(list, kw, on) {
  if (readOnly(kw === '$seen' ? 'maySetSeen' : 'maySetKeywords')) return;
  patchLocal(list, (e) => { e.keywords = { ...e.keywords }; if (on) e.keywords[kw] = true; else delete e.keywords[kw]; });
  try {
    await setEmails(list, { ['keywords/' + kw]: on ? true : null });
    if (kw === '$seen') loadMailboxes().catch(fail);
  } catch (e) {
    fail(e);
  }
}

export function toggleFlag() {
  flagTargets();
}

// afterRemoval drops the moved or deleted messages from view and
// selects the next one.
function afterRemoval(gone) {
  const i = selectedIndex.value;
  const openGone = gone.includes(selectedId.value);
  batch(() => {
    checked.value = new Set();
    if (openGone) {
      message.value = null;
      selectedId.value = null;
      mobileView.value = 'list';
    }
  });
  resetList(true);
  ensureRange(Math.max(0, i - PAGE / 2), i + PAGE / 2);
  loadMailboxes().catch(fail);
}

const asList = (x) => (Array.isArray(x) ? x : [x]).filter(Boolean);

// moveTo moves one message (an id) or several (a list) to a folder
// (setEmails).
export async function moveTo(idOrIds, mailboxId) {
  const list = asList(idOrIds);
  if (!list.length || !mailboxId || readOnly('mayRemoveItems')) return;
  // A message moves within its account (another's needs Email/copy).
  if (!moveTree.value.some(({ m }) => m.id === mailboxId)) { notify(t('shareOtherAccount')); return; }
  clearTimeout(readTimer); // a pending mark-read of a message that leaves would fail
  try {
    await setEmails(list, { mailboxIds: { [mailboxId]: true } });
    const mb = moveTree.value.find(({ m }) => m.id === mailboxId)?.m;
    notify(list.length > 1 ? t('movedN', { n: list.length, folder: mb ? mailboxName(mb) : '' }) : t('moved', { folder: mb ? mailboxName(mb) : '' }));
    afterRemoval(list);
  } catch (e) {
    fail(e);
  }
}

// remove moves messages to Trash, or destroys them there (setEmails).
export async function remove(idOrIds) {
  const list = asList(idOrIds);
  if (!list.length || readOnly('mayRemoveItems')) return;
  clearTimeout(readTimer); // a pending mark-read of a destroyed message would fail

  // In a shared account: its own Trash if the user sees one, else the
  // messages are destroyed there.
  const trash = currentShared.value ? currentShared.value.mailboxes.find((m) => m.role === 'trash') : mailboxByRole('trash');
  if (trash && trash.id !== currentMailbox.value) {
    await moveTo(list, trash.id);
    return;
  }
  try {
    await setEmails(list, null);
    notify(list.length > 1 ? t('deletedN', { n: list.length }) : t('deleted'));
    afterRemoval(list);
  } catch (e) {
    fail(e);
  }
}

// targets are the messages an action applies to: the checked ones, or
// else the open one.
export function targets() {
  if (checked.value.size) return [...checked.value];
  return selectedId.value ? [selectedId.value] : [];
}

// toggleCheck adds position i (id) to the selection or takes it out;
// the first toggle with a message open takes the open one in too
// (ctrl-click keeps what was selected).
export function toggleCheck(i, id, withOpen) {
  if (!id) return;
  const next = new Set(checked.value);
  if (withOpen && !next.size && selectedId.value && selectedId.value !== id) next.add(selectedId.value);
  if (next.has(id)) next.delete(id); else next.add(id);
  checked.value = next;
  anchor = i;
}

// checkRange selects the positions from the anchor to i (shift-click,
// shift+arrows); rows not loaded yet are not taken.
export function checkRange(i) {
  const from = anchor >= 0 ? anchor : Math.max(0, selectedIndex.value);
  const next = new Set(checked.value);
  for (let k = Math.min(from, i); k <= Math.max(from, i); k++) {
    const e = emailAt(k);
    if (e) next.add(e.id);
  }
  checked.value = next;
  if (anchor < 0) anchor = from;
}

export function clearChecked() {
  checked.value = new Set();
  anchor = -1;
}

// flagTargets flags the targets, or unflags them when all are flagged.
export function flagTargets() {
  const list = targets();
  if (!list.length) return;
  const all = list.every((id) => (message.value && message.value.id === id ? message.value : emailById(id) || { keywords: {} }).keywords.$flagged);
  setKeyword(list, '$flagged', !all);
}

// Folders (Mailbox/set, RFC 8621 §2.5). The tree updates from the answer
// and again from push.

const special = (m) => !!m.role;

// setErrorText is a Mailbox/set SetError in the user's language.
function setErrorText(e) {
  const known = { mailboxHasChild: 'folderHasChild', mailboxHasEmail: 'folderHasEmail', alreadyExists: 'folderExists', invalidProperties: 'folderInvalid', forbidden: 'folderForbidden' };
  return new Error(known[e.type] ? t(known[e.type]) : (e.description || e.type));
}

async function mailboxSet(args) {
  const r = await api([['Mailbox/set', args, 's']]);
  const bad = Object.values(r.s.notCreated || {})[0] || Object.values(r.s.notUpdated || {})[0] || Object.values(r.s.notDestroyed || {})[0];
  if (bad) throw setErrorText(bad);
  await loadMailboxes();
  return r.s;
}

// descendants are the ids of the folders under id (a folder cannot move
// into its own subtree).
export function descendants(id) {
  const out = new Set();
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of mailboxes.value) {
      if (m.parentId && (m.parentId === id || out.has(m.parentId)) && !out.has(m.id)) { out.add(m.id); grew = true; }
    }
  }
  return out;
}

export async function createFolder(name, parentId) {
  name = name.trim();
  if (!name) return false;
  try {
    const s = await mailboxSet({ create: { f: { name, parentId: parentId || null } } });
    notify(t('folderCreated', { name }));
    if (s.created && s.created.f) selectFolder(s.created.f.id);
    return true;
  } catch (e) { fail(e); return false; }
}

// refuseSpecial says no to renaming, moving or deleting Inbox, Sent, …
function refuseSpecial(m) {
  if (!m || !special(m)) return false;
  notify(t('folderSpecial', { name: mailboxName(m) }));
  return true;
}

export async function renameFolder(id, name) {
  const m = mailboxes.value.find((x) => x.id === id);
  name = name.trim();
  if (!name || refuseSpecial(m)) return false;
  try {
    await mailboxSet({ update: { [id]: { name } } });
    notify(t('folderRenamed', { name }));
    return true;
  } catch (e) { fail(e); return false; }
}

export async function moveFolder(id, parentId) {
  const m = mailboxes.value.find((x) => x.id === id);
  if (!m || refuseSpecial(m) || id === parentId || (parentId && descendants(id).has(parentId))) return false;
  if ((m.parentId || null) === (parentId || null)) return false;
  try {
    await mailboxSet({ update: { [id]: { parentId: parentId || null } } });
    const p = mailboxes.value.find((x) => x.id === parentId);
    notify(t('folderMoved', { name: m.name, folder: p ? mailboxName(p) : t('topLevel') }));
    return true;
  } catch (e) { fail(e); return false; }
}

// deleteFolder destroys a folder and the messages in it (the user
// confirmed); one with subfolders is refused by the server.
export async function deleteFolder(id) {
  const m = mailboxes.value.find((x) => x.id === id);
  if (!m || refuseSpecial(m)) return false;
  try {
    await mailboxSet({ destroy: [id], onDestroyRemoveEmails: true });
    notify(t('folderDeleted', { name: m.name }));
    if (currentMailbox.value === id || !mailboxes.value.some((x) => x.id === currentMailbox.value)) {
      const inbox = mailboxByRole('inbox');
      if (inbox) selectFolder(inbox.id);
    }
    return true;
  } catch (e) { fail(e); return false; }
}

// parseAddresses reads "Name <a@b>, c@d" into JMAP EmailAddress objects.
export function parseAddresses(s) {
  const out = [];
  for (const part of (s || '').split(/[,;]/)) {
    const p = part.trim();
    if (!p) continue;
    const m = p.match(/^(.*?)\s*<([^>]+)>$/);
    if (m) out.push({ name: m[1].replace(/^"|"$/g, '').trim() || null, email: m[2].trim() });
    else out.push({ name: null, email: p });
  }
  return out;
}

export const formatAddress = (a) => (a.name ? `${a.name} <${a.email}>` : a.email);
export const formatAddresses = (l) => (l || []).map(formatAddress).join(', ');

function quote(m) {
  const text = m.bodyValues && m.textBody && m.textBody[0] && m.bodyValues[m.textBody[0].partId];
  return (text ? text.value : m.preview || '').split('\n').map((l) => '> ' + l).join('\n');
}

export function startCompose(kind) {
  const m = message.value;
  const ident = identities.value[0];
  const draft = { to: '', cc: '', subject: '', body: '', identityId: ident ? ident.id : '', inReplyTo: null, references: null, replyOf: null };
  if (m && kind !== 'new') {
    const sub = m.subject || '';
    const when = fmtDateTime(m.sentAt || m.receivedAt);
    const who = m.from && m.from[0] ? (m.from[0].name || m.from[0].email) : '';
    if (kind === 'forward') {
      draft.subject = /^fwd?:/i.test(sub) ? sub : 'Fwd: ' + sub;
      const text = m.bodyValues && m.textBody && m.textBody[0] && m.bodyValues[m.textBody[0].partId];
      draft.body = `\n\n${t('forwarded')}\n${t('from')}: ${formatAddresses(m.from)}\n${t('date')}: ${when}\n${t('subject')}: ${sub}\n${t('to')}: ${formatAddresses(m.to)}\n\n${text ? text.value : m.preview || ''}`;
    } else {
      draft.subject = /^re:/i.test(sub) ? sub : 'Re: ' + sub;
      draft.to = formatAddresses(m.replyTo && m.replyTo.length ? m.replyTo : m.from);
      if (kind === 'replyAll') {
        const mine = new Set(identities.value.map((i) => i.email.toLowerCase()));
        const seen = new Set(parseAddresses(draft.to).map((a) => a.email.toLowerCase()));
        draft.cc = formatAddresses([...(m.to || []), ...(m.cc || [])].filter((a) => !mine.has(a.email.toLowerCase()) && !seen.has(a.email.toLowerCase())));
      }
      draft.body = `\n\n${t('wrote', { date: when, name: who })}\n${quote(m)}`;
      draft.inReplyTo = m.messageId || null;
      draft.references = [...(m.references || []), ...(m.messageId || [])];
      draft.replyOf = m.id;
    }
  }
  compose.value = draft;
}

// buildEmail is the Email/set create object of a draft d, kept in
// mailbox home.
function buildEmail(d, ident, home) {
  const email = {
    mailboxIds: { [home.id]: true },
    keywords: { $draft: true, $seen: true },
    from: [{ name: ident.name || null, email: ident.email }],
    to: parseAddresses(d.to),
    subject: d.subject,
    textBody: [{ partId: 't', type: 'text/plain' }],
    bodyValues: { t: { value: d.body } },
  };
  // Rich text: HTML (sanitised by the editor) with the plain-text
  // alternative; the server makes it multipart/alternative.
  if (d.html) {
    email.htmlBody = [{ partId: 'h', type: 'text/html' }];
    email.bodyValues.h = { value: `<!doctype html><html><body>${d.html}</body></html>` };
  }
  const cc = parseAddresses(d.cc);
  if (cc.length) email.cc = cc;
  if (d.inReplyTo) email.inReplyTo = d.inReplyTo;
  if (d.references && d.references.length) email.references = d.references;
  // Uploaded blobs: the server builds multipart/mixed from the parts.
  const att = (d.attachments || []).filter((a) => a.blobId);
  if (att.length) email.attachments = att.map((a) => ({ blobId: a.blobId, type: a.type, name: a.name, disposition: 'attachment' }));
  return email;
}

const identityOf = (d) => identities.value.find((i) => i.id === d.identityId) || identities.value[0];

function afterDraftChange() {
  const drafts = mailboxByRole('drafts');
  if (drafts && currentMailbox.value === drafts.id) resetList(true);
  loadMailboxes().catch(fail);
}

// saveDraft stores draft d in Drafts as a new Email (an Email is
// immutable) and destroys the version it replaces (prevId), in one
// Email/set. It returns the new draft's id.
export async function saveDraft(d, prevId) {
  const ident = identityOf(d);
  const drafts = mailboxByRole('drafts');
  if (!ident || !drafts) throw new Error('no identity or Drafts folder');
  const r = await api([['Email/set', { create: { d: buildEmail(d, ident, drafts) }, destroy: prevId ? [prevId] : [] }, 's']]);
  if (firstError(r.s.notCreated)) throw firstError(r.s.notCreated);
  afterDraftChange();
  return r.s.created.d.id;
}

// discardDraft destroys a saved draft.
export async function discardDraft(id) {
  await api([['Email/set', { destroy: [id] }, 's']]);
  afterDraftChange();
}

// editDraft opens a message of Drafts in the composer: sending or saving
// it again replaces it.
export async function editDraft(m) {
  // A rich-text draft: its HTML as the server's sanitiser gives it.
  let html = null;
  if (m.hasHTML) {
    const r = await fetch(`/web/api/html/${encodeURIComponent(m.id)}`, { credentials: 'same-origin' });
    if (r.ok) html = new DOMParser().parseFromString(await r.text(), 'text/html').body.innerHTML;
  }
  const text = m.textBody && m.textBody[0] && m.bodyValues && m.bodyValues[m.textBody[0].partId];
  const from = (m.from && m.from[0] && m.from[0].email || '').toLowerCase();
  const ident = identities.value.find((i) => i.email.toLowerCase() === from) || identities.value[0];
  compose.value = {
    to: formatAddresses(m.to), cc: formatAddresses(m.cc), subject: m.subject || '', body: text ? text.value : '',
    identityId: ident ? ident.id : '', inReplyTo: m.inReplyTo || null, references: m.references || null, replyOf: null,
    attachments: (m.attachments || []).map((a) => ({ name: a.name || 'attachment', type: a.type, size: a.size, blobId: a.blobId })),
    draftId: m.id, html,
  };
}

// send stores the message in Drafts (replacing the draft's saved version,
// d.draftId), submits it (EmailSubmission/set) and, once it is on its
// way, files it in Sent: the Sent copy. When the submission is refused
// the error carries the id of the message left in Drafts (draftId).
export async function send(d) {
  const ident = identityOf(d);
  if (!ident) throw new Error('no identity');
  const drafts = mailboxByRole('drafts');
  const sentBox = mailboxByRole('sent');
  const home = drafts || sentBox || mailboxByRole('inbox');
  const email = buildEmail(d, ident, home);
  const onSuccess = { 'keywords/$draft': null };
  if (sentBox) onSuccess.mailboxIds = { [sentBox.id]: true };
  const r = await api([
    ['Email/set', { create: { c: email }, destroy: d.draftId ? [d.draftId] : [] }, 's'],
    ['EmailSubmission/set', { create: { k: { identityId: ident.id, emailId: '#c' } }, onSuccessUpdateEmail: { '#k': onSuccess } }, 'sub'],
  ]);
  if (firstError(r.s.notCreated)) throw firstError(r.s.notCreated);
  // A refused submission leaves the message in Drafts for another try.
  const refused = firstError(r.sub.notCreated);
  if (refused) {
    refused.draftId = r.s.created.c.id;
    afterDraftChange();
    throw refused;
  }
  if (d.replyOf) await setKeyword([d.replyOf], '$answered', true);
  resetList(true);
  loadMailboxes().catch(fail);
  // Held by the server (maxDelayedSend > 0): it can still be taken back.
  const k = r.sub.created.k;
  if (k.undoStatus === 'pending') {
    const until = k.sendAt ? Date.parse(k.sendAt) : Date.now();
    const u = { subId: k.id, emailId: r.s.created.c.id, draft: d, until, sentBox, home };
    undoable.value = u;
    clearTimeout(undoTimer);
    undoTimer = setTimeout(() => { if (undoable.value === u) { undoable.value = null; notify(t('sent')); } }, Math.max(0, until - Date.now()));
    return 'pending';
  }
  return 'sent';
}

let undoTimer;

// undoSend cancels the held submission (undoStatus "canceled"), puts the
// message back into Drafts as a draft and reopens it in the composer.
export async function undoSend() {
  const u = undoable.value;
  if (!u) return;
  undoable.value = null;
  clearTimeout(undoTimer);
  try {
    const r = await api([['EmailSubmission/set', { update: { [u.subId]: { undoStatus: 'canceled' } } }, 'u']]);
    const refused = r.u.notUpdated && Object.values(r.u.notUpdated)[0];
    if (refused) { notify(t('undoTooLate')); return; }
    const back = await api([['Email/set', { update: { [u.emailId]: { mailboxIds: { [u.home.id]: true }, 'keywords/$draft': true } } }, 'e']]);
    if (back.e.notUpdated && Object.values(back.e.notUpdated)[0]) throw new Error(Object.values(back.e.notUpdated)[0].type);
    notify(t('sendUndone'));
    compose.value = { ...u.draft, draftId: u.emailId };
    resetList(true);
    loadMailboxes().catch(fail);
  } catch (e) {
    fail(e);
  }
}
