// The mail state (signals) and the actions on it, all through JMAP.
import { signal, computed, batch } from '@preact/signals';
import { api, accountId, archiveAccountId, sharedMailAccounts, sessionStale, getSession, maxObjectsInSet, maxObjectsInGet, LIST_PROPS, AuthError } from './jmap.js';
import { t } from './i18n.js';
import { fmtDateTime } from './prefs/prefs.js';
import { parseSearch, toFilter } from './mail2/search.js';
import './mail2/strings.js';

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
// Conversation view (remembered in the browser): the list has one row per
// thread (Email/query collapseThreads) and the reader the thread's
// messages (openConversation).
export const threadView = signal(localStorage.getItem('roost.view') === 'threads');
// The open conversation: { threadId, items (summaries, oldest first),
// earlier (messages not shown), full (id → full message of the expanded
// ones) }; the focused one is message.
export const conversation = signal(null);

// The list cache: position → email id, id → email. generation changes
// with another list (folder, search, view), so late answers for an older
// list are dropped; loaded holds the pages fetched for this one, loading
// those asked for (one request a page at a time).
//
// A refresh (the list changed on the server: a push, a move) bumps
// epoch instead: the rows stay until their page is back, and a page
// already in flight is not asked for again. Its answer is taken only
// when it was read at the state the refresh is for (freshState), else
// it is asked for once more: never a stale page, never two requests for
// one page.
//
// listState is the Email state (RFC 8620 §5.1) every page loaded since
// the last refresh was read at, with the client's own keyword changes
// (ownIds, patched locally) on top: a push announcing a state the list
// already shows, or one whose changes (Email/changes) are only those,
// fetches no page again. null: not known (nothing loaded yet, or pages
// read at different states), so the next push refreshes.
let ids = [];
const emails = new Map();
const loading = new Set();
const loaded = new Set();
let generation = 0;
let epoch = 0;
let freshState = null;
let listState = null;
// ownBusy counts the client's own keyword changes in flight (a page read
// meanwhile may have half of them); ownIds are the emails they changed
// since listState was read.
let ownBusy = 0;
let ownStarted = 0;
const ownIds = new Set();
// epochRead: a page of this epoch is in (listState is then its state, or
// null when they differ).
let epochRead = false;
// Conversation view: threadId → { members: [{ id, mailboxIds, keywords }]
// not in Trash or Junk (unless that is the folder shown), count, unread }.
const threads = new Map();
// MAX_THREAD_MEMBERS bounds the emails whose folders one page of threads
// reads (to count them); a thread past it shows the server's count.
const MAX_THREAD_MEMBERS = 2000;
// MAX_CONVERSATION is how many of a thread's newest messages the reader
// shows (an endless thread says how many earlier ones it leaves out).
export const MAX_CONVERSATION = 200;

export function emailAt(i) {
  const id = ids[i];
  return id ? emails.get(id) : undefined;
}
export function emailById(id) { return emails.get(id); }
export function threadInfo(threadId) { return threads.get(threadId); }

// excludedBoxes are the folders a conversation leaves out: Trash and
// Junk, unless the one shown is one of them.
function excludedBoxes() {
  const all = inArchive.value ? archiveMailboxes.value : mailboxes.value;
  return new Set(all.filter((m) => (m.role === 'trash' || m.role === 'junk') && m.id !== currentMailbox.value).map((m) => m.id));
}
const excludedBy = (ex) => (e) => !Object.keys(e.mailboxIds || {}).some((b) => ex.has(b));

export function setThreadView(on) {
  localStorage.setItem('roost.view', on ? 'threads' : 'flat');
  threadView.value = on;
  selectFolder(currentMailbox.value);
}

// expand turns list rows' ids into the messages an action applies to: in
// conversation view a row stands for its thread's messages in the folder
// shown.
export function expand(list) {
  if (!threadView.value) return list;
  const out = new Set();
  for (const id of list) {
    out.add(id);
    const e = emails.get(id);
    const th = e && threads.get(e.threadId);
    if (th) for (const m of th.members) if (m.mailboxIds && m.mailboxIds[currentMailbox.value]) out.add(m.id);
  }
  return [...out];
}

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

// accountOf is the account a folder id is in: { id, mailboxes } and
// shared (a shared or public account) or archive; null: unknown.
export function accountOf(mbId) {
  if (mailboxes.value.some((m) => m.id === mbId)) return { id: accountId(), mailboxes: mailboxes.value };
  const a = sharedAccounts.value.find((x) => x.mailboxes.some((m) => m.id === mbId));
  if (a) return { id: a.id, mailboxes: a.mailboxes, shared: a };
  if (archiveMailboxes.value.some((m) => m.id === mbId)) return { id: archiveAccountId(), mailboxes: archiveMailboxes.value, archive: true };
  return null;
}

// folderById is a Mailbox of any account.
export const folderById = (id) => accountOf(id)?.mailboxes.find((m) => m.id === id) || null;

const rightOf = (m, right) => !m.myRights || m.myRights[right] !== false;

// transferGroups are the folders of the other accounts messages of the
// current folder can be copied or moved to (Email/copy): the user's own
// and every shared or public account's folders with mayAddItems, one
// group per account ({ acct, label, items: [{ m, depth }] }).
export const transferGroups = computed(() => {
  const cur = currentAccountId();
  const out = [];
  if (cur !== accountId()) out.push({ acct: accountId(), label: t('xferMyFolders'), items: tree.value });
  for (const a of sharedAccounts.value) {
    if (a.id === cur) continue;
    const items = treeOf(a.mailboxes).filter(({ m }) => rightOf(m, 'mayAddItems'));
    if (items.length) out.push({ acct: a.id, label: a.isPublic ? t('sharePublicFolders') : t('shareAccountOf', { name: a.name }), items });
  }
  return out;
});

// mayTransferOut reports whether messages of the current folder may
// leave it (a move); else they can only be copied.
export const mayTransferOut = () => !inArchive.value && may('mayRemoveItems');
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

// filter is the list's Email/query filter: the folder shown and the
// search box's conditions (mail2/search.js); with in:all every folder of
// the account (inMailbox left out).
function filter() {
  return toFilter(query.value, currentMailbox.value);
}

// searchAll: the list shows the results of a search of every folder,
// so each row names its folders.
export const searchAll = computed(() => parseSearch(query.value).all);

// folderNamesOf names the folders of the current account an email is in.
export function folderNamesOf(e) {
  const a = currentShared.value;
  const boxes = a ? a.mailboxes : inArchive.value ? archiveMailboxes.value : mailboxes.value;
  return Object.keys(e.mailboxIds || {}).map((id) => boxes.find((m) => m.id === id)).filter(Boolean).map(mailboxName);
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
  // The open folder's parent, which opens if the folder is gone (deleted
  // here or elsewhere) and the parent is not.
  const parentId = folderById(currentMailbox.value)?.parentId || null;
  batch(() => {
    mailboxes.value = r.m.list;
    identities.value = r.i.list;
    archiveMailboxes.value = r.a ? r.a.list : [];
    sharedAccounts.value = shared.map((a, k) => ({ ...a, mailboxes: r['x' + k].list }));
    const known = (id) => r.m.list.some((m) => m.id === id) || archiveMailboxes.value.some((m) => m.id === id) ||
      sharedAccounts.value.some((a) => a.mailboxes.some((m) => m.id === id));
    if (!currentMailbox.value || !known(currentMailbox.value)) {
      // The open folder went away (a share taken back, a folder deleted):
      // its parent opens, else the Inbox.
      gone = !!currentMailbox.value;
      const inbox = r.m.list.find((m) => m.role === 'inbox') || r.m.list[0];
      currentMailbox.value = parentId && known(parentId) ? parentId : inbox ? inbox.id : null;
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
// state, when the caller knows it, is the Email state the refresh is
// for (a push's): a page in flight answered at that state is kept.
export function resetList(keep, state) {
  epoch++;
  freshState = keep && state ? state : null;
  listState = null;
  epochRead = false;
  loaded.clear();
  totalGen = -1; // the next page asks for the total again
  if (!keep) {
    generation++;
    loading.clear();
    ownIds.clear();
    ids = [];
    emails.clear();
    listLoaded.value = false;
  }
  listVersion.value++;
  if (keep && conversation.value) refreshConversation().catch(fail);
}

// listChanged follows a push (RFC 8620 §7.1 StateChange, changed: the
// accounts' new states by type; the caller debounces): the list is
// fetched again only when the Email state of the list's account moved
// past what it shows. Email/changes tells whether what moved it is only
// the client's own keyword changes (already shown) or changes to other
// data of the account (events, contacts: the state is the account's).
let checking = null;
let recheck = null;
export async function listChanged(changed) {
  if (!changed) { resetList(true); return; }
  if (checking || ownBusy) {
    // After the check under way, or once the own changes are in.
    recheck = { ...recheck, ...changed };
    return;
  }
  const a = currentAccountId();
  const st = changed && changed[a] && changed[a].Email;
  if (!st) {
    // The user's own account did not move. Another (the archive, a
    // shared account past those the server pushes) may have: refresh.
    if (a !== accountId()) resetList(true);
    return;
  }
  if (!currentMailbox.value || st === listState) return;
  if (listState === null) { resetList(true, st); return; }
  const gen = generation;
  const ep = epoch;
  const since = listState;
  checking = (async () => {
    let r;
    try {
      r = (await api([['Email/changes', acct({ sinceState: since, maxChanges: Math.min(5000, ownIds.size + 100) }), 'c']])).c;
    } catch {
      r = null; // cannotCalculateChanges, a failure: refresh
    }
    if (gen !== generation || ep !== epoch) return; // another list, or refreshed meanwhile: read afresh
    if (since !== listState) {
      // A page came in meanwhile at another state: look again.
      recheck = { ...changed, ...recheck };
      return;
    }
    if (r && !r.hasMoreChanges && !r.created.length && !r.destroyed.length && r.updated.every((id) => ownIds.has(id))) {
      listState = r.newState;
      ownIds.clear();
      return;
    }
    resetList(true, st);
  })();
  try {
    await checking;
  } finally {
    checking = null;
  }
  if (recheck) {
    const next = recheck;
    recheck = null;
    listChanged(next).catch(fail);
  }
}

// refreshConversation follows the open conversation after a change (push,
// a move, a send): messages that joined it appear (collapsed), those that
// left it go; what was expanded and focused stays.
async function refreshConversation() {
  const c = conversation.value;
  const cap = Math.min(MAX_CONVERSATION, maxObjectsInGet());
  const r = await api([['Thread/get', acct({ ids: [c.threadId] }), 't']]);
  if (conversation.value !== c) return;
  const th = r.t.list[0];
  const all = th ? th.emailIds : [];
  const recent = all.slice(-cap);
  const was = c.items.map((x) => x.id);
  if (!recent.length) return;
  const r2 = await api([['Email/get', acct({ ids: recent, properties: SUMMARY_PROPS }), 's']]);
  if (conversation.value !== c) return;
  const ex = excludedBoxes();
  const order = new Map(recent.map((x, k) => [x, k]));
  const items = r2.s.list.filter(excludedBy(ex)).sort((a, b) => order.get(a.id) - order.get(b.id));
  const same = items.length === was.length && items.every((x, k) => x.id === was[k] && JSON.stringify(x.keywords) === JSON.stringify(c.items[k].keywords));
  if (!items.length || same) return;
  const full = new Map([...c.full].filter(([id]) => items.some((x) => x.id === id)));
  batch(() => {
    conversation.value = { ...c, items, earlier: all.length - recent.length, full };
    if (message.value && !full.has(message.value.id)) message.value = full.size ? [...full.values()].pop() : null;
  });
  if (!full.size) expandMessage(items[items.length - 1].id);
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

// totalGen is the epoch whose total has been asked for: the first
// page fetched after a reset or refresh asks (a total costs the server a count over
// the folder, with collapseThreads over its threads); later pages of the
// same list do not.
let totalGen = -1;

async function loadPage(p) {
  const gen = generation;
  const ep = epoch;
  const busy = ownBusy > 0;
  const own0 = ownStarted;
  loading.add(p);
  const wantTotal = totalGen !== ep;
  totalGen = ep;
  let retry = false;
  try {
    const tv = threadView.value;
    const calls = [
      ['Email/query', acct({ filter: filter(), sort: [{ property: 'receivedAt', isAscending: false }], collapseThreads: tv, position: p * PAGE, limit: PAGE, calculateTotal: wantTotal }), 'q'],
      ['Email/get', acct({ '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPS }), 'g'],
    ];
    if (tv) calls.push(['Thread/get', acct({ '#ids': { resultOf: 'g', name: 'Email/get', path: '/list/*/threadId' } }), 't']);
    const r = await api(calls);
    if (gen !== generation) return;
    if (ep !== epoch) {
      // Asked before a refresh: kept only when read at the state the
      // refresh is for and the total is not wanted again (or came
      // along); else asked for once more.
      const total0 = typeof r.q.total === 'number' || totalGen === epoch;
      if (!freshState || r.g.state !== freshState || !total0) {
        retry = true;
        return;
      }
    }
    // The state the list is read at: one for every page, else not known
    // (a change came between two pages; its push refreshes). A page read
    // while an own change was under way may have half of it.
    if (busy || ownBusy > 0 || ownStarted !== own0) listState = null;
    else if (!epochRead) {
      listState = r.g.state;
      ownIds.clear(); // read after them: the state has them
    } else if (r.g.state !== listState) listState = null;
    epochRead = true;
    for (const e of r.g.list) emails.set(e.id, e);
    const ep1 = epoch;
    if (tv) countThreads(r.t.list, gen, ep1).catch((e) => { if (gen === generation && ep1 === epoch) fail(e); });
    r.q.ids.forEach((id, k) => { ids[r.q.position + k] = id; });
    loaded.add(p);
    // The open message (in conversation view: its thread, whose row may
    // now stand for a newer message) keeps its row when mail arriving
    // or leaving moved it.
    const sid = selectedId.value;
    const sel = sid && emails.get(sid);
    const at = sid ? r.q.ids.findIndex((id) => id === sid || (tv && sel && emails.get(id) && emails.get(id).threadId === sel.threadId)) : -1;
    batch(() => {
      if (at >= 0) {
        selectedIndex.value = r.q.position + at;
        selectedId.value = r.q.ids[at];
      }
      if (typeof r.q.total === 'number') total.value = r.q.total;
      listLoaded.value = true;
      listVersion.value++;
    });
  } catch (e) {
    if (gen === generation) {
      if (wantTotal && ep === epoch) totalGen = -1; // the next page asks again
      // A shared account gone (the session is read again): the folder
      // list follows, no error to show.
      if (!sessionStale()) fail(e);
    }
  } finally {
    if (gen === generation) {
      loading.delete(p);
      if (retry) listVersion.value++; // the render asks again for what is in view
    }
  }
}

// countThreads learns, for a page of threads, which of their messages
// count (not in Trash or Junk) and whether one is unread: the emails'
// folders and keywords, in Email/get calls of at most maxObjectsInGet.
async function countThreads(list, gen, ep) {
  const ids = [];
  for (const th of list) {
    threads.set(th.id, { members: [], count: th.emailIds.length, size: th.emailIds.length, unread: false, partial: true });
    if (ids.length + th.emailIds.length <= MAX_THREAD_MEMBERS) ids.push(...th.emailIds);
  }
  if (!ids.length) return;
  const max = maxObjectsInGet();
  const calls = [];
  for (let i = 0; i < ids.length; i += max) calls.push(['Email/get', acct({ ids: ids.slice(i, i + max), properties: ['id', 'threadId', 'mailboxIds', 'keywords'] }), 'e' + i]);
  const r = await api(calls);
  // Another list, or refreshed since (the page is asked for again).
  if (gen !== generation || ep !== epoch) return;
  const ex = excludedBoxes();
  const by = new Map();
  for (const k of Object.keys(r)) for (const e of r[k].list) {
    if (!excludedBy(ex)(e)) continue;
    if (!by.has(e.threadId)) by.set(e.threadId, []);
    by.get(e.threadId).push(e);
  }
  for (const th of list) {
    const members = by.get(th.id);
    if (!members) continue;
    threads.set(th.id, { members, count: members.length, size: th.emailIds.length, unread: members.some((e) => !e.keywords.$seen), partial: false });
  }
  listVersion.value++;
}

export function selectFolder(id) {
  batch(() => {
    checked.value = new Set();
    currentMailbox.value = id;
    selectedIndex.value = -1;
    selectedId.value = null;
    message.value = null;
    conversation.value = null;
    total.value = 0;
    mobileView.value = 'list';
  });
  resetList();
  ensureRange(0, PAGE);
}

export function runSearch(s) {
  const { bad } = parseSearch(s);
  if (bad.length) {
    notify(t('m2SearchBad', { terms: bad.join(', ') }));
    return;
  }
  batch(() => {
    checked.value = new Set();
    query.value = s;
    selectedIndex.value = -1;
    selectedId.value = null;
    message.value = null;
    conversation.value = null;
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
const FULL_PROPS = ['id', 'threadId', 'subject', 'from', 'to', 'cc', 'replyTo', 'receivedAt', 'sentAt', 'keywords', 'mailboxIds', 'messageId', 'inReplyTo', 'references', 'textBody', 'htmlBody', 'attachments', 'bodyValues', 'preview'];
const fullGet = (ids) => acct({ ids, properties: FULL_PROPS, fetchTextBodyValues: true, maxBodyValueBytes: 1 << 20 });
const withHTML = (m) => { m.hasHTML = (m.htmlBody || []).some((p) => p.type === 'text/html'); return m; };
const SUMMARY_PROPS = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'to', 'subject', 'receivedAt', 'sentAt', 'preview', 'hasAttachment'];

export async function openMessage(id) {
  clearTimeout(readTimer);
  mobileView.value = 'reader';
  if (threadView.value) return openConversation(id);
  try {
    const r = await api([['Email/get', fullGet([id]), 'g']]);
    if (selectedId.value !== id) return;
    const m = r.g.list[0];
    if (!m) return;
    withHTML(m);
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

// openConversation opens the thread of list row id: its messages (the
// newest MAX_CONVERSATION), those in Trash or Junk left out unless that
// is the folder shown, oldest first; the newest and the unread ones
// expanded (their bodies fetched), the newest focused. The expanded
// unread ones are marked read after a moment, as a single message is.
async function openConversation(id) {
  try {
    const e = emails.get(id);
    const threadId = e && e.threadId;
    const known = threadId && threads.get(threadId);
    const cap = Math.min(MAX_CONVERSATION, maxObjectsInGet());
    // One request when the list knows the thread is small: the thread,
    // its messages' summaries (a back-reference) and the clicked
    // message in full (the newest here, usually the one to expand).
    // Else the thread first, then the newest cap of its messages.
    const calls = [];
    if (threadId) calls.push(['Thread/get', acct({ ids: [threadId] }), 't']);
    if (known && known.size <= cap) calls.push(['Email/get', acct({ '#ids': { resultOf: 't', name: 'Thread/get', path: '/list/0/emailIds' }, properties: SUMMARY_PROPS }), 's']);
    calls.push(['Email/get', fullGet([id]), 'f']);
    const r = await api(calls);
    if (selectedId.value !== id) return;
    const clicked = r.f.list[0];
    if (!clicked) return;
    const full = new Map([[id, withHTML(clicked)]]);
    let th = r.t && r.t.list[0];
    if (!th) {
      const r0 = await api([['Thread/get', acct({ ids: [clicked.threadId] }), 't']]);
      th = r0.t.list[0];
    }
    const all = th ? th.emailIds : [id];
    const recent = all.slice(-cap);
    let summaries = r.s && r.s.list.length === all.length ? r.s.list : null;
    if (!summaries) summaries = (await api([['Email/get', acct({ ids: recent, properties: SUMMARY_PROPS }), 's']])).s.list;
    if (selectedId.value !== id) return;
    const ex = excludedBoxes();
    const order = new Map(recent.map((x, k) => [x, k]));
    const items = summaries.filter((x) => order.has(x.id) && excludedBy(ex)(x)).sort((a, b) => order.get(a.id) - order.get(b.id));
    if (!items.some((x) => x.id === id)) items.push(...summaries.filter((x) => x.id === id));
    const newest = items.length ? items[items.length - 1].id : id;
    const open = [...new Set([...items.filter((x) => !x.keywords.$seen).map((x) => x.id).slice(-10), newest])].filter((x) => !full.has(x));
    if (open.length) {
      const r3 = await api([['Email/get', fullGet(open), 'f']]);
      if (selectedId.value !== id) return;
      for (const m of r3.f.list) full.set(m.id, withHTML(m));
    }
    // The clicked one is shown expanded only when it is the newest or
    // unread (it was fetched anyway).
    if (id !== newest && clicked.keywords.$seen) full.delete(id);
    batch(() => {
      conversation.value = { threadId: th ? th.id : clicked.threadId, items, earlier: all.length - recent.length, full };
      message.value = full.get(newest) || full.get(id) || null;
    });
    const unread = [...full.values()].filter((m) => !m.keywords.$seen).map((m) => m.id);
    if (unread.length && !inArchive.value) {
      readTimer = setTimeout(() => { if (selectedId.value === id) setKeyword(unread, '$seen', true); }, 600);
    }
  } catch (err) {
    fail(err);
  }
}

// expandMessage shows (fetching it the first time) and focuses message id
// of the open conversation; again on the focused one collapses it.
export async function expandMessage(id) {
  const c = conversation.value;
  if (!c) return;
  if (c.full.has(id)) {
    if (message.value && message.value.id === id && c.full.size > 1) {
      const full = new Map(c.full);
      full.delete(id);
      batch(() => { conversation.value = { ...c, full }; message.value = [...full.values()].pop(); });
    } else message.value = c.full.get(id);
    return;
  }
  try {
    const r = await api([['Email/get', fullGet([id]), 'f']]);
    const m = r.f.list[0];
    if (!m || conversation.value !== c) return;
    const full = new Map(c.full);
    full.set(id, withHTML(m));
    batch(() => { conversation.value = { ...c, full }; message.value = m; });
    if (!m.keywords.$seen && !inArchive.value) {
      clearTimeout(readTimer);
      readTimer = setTimeout(() => { if (message.value && message.value.id === id) setKeyword([id], '$seen', true); }, 600);
    }
  } catch (err) {
    fail(err);
  }
}

// patchLocal shows a change to messages idsToPatch before the server has
// it: fn changes a copy of each (a new object, so its row, which renders
// again only when its props change, shows it).
function patchLocal(idsToPatch, fn) {
  for (const id of idsToPatch) {
    const e = emails.get(id);
    if (e) {
      const c = { ...e };
      fn(c);
      emails.set(id, c);
    }
  }
  const c = conversation.value;
  if (c && (c.items.some((x) => idsToPatch.includes(x.id)))) {
    const copy = (x) => { if (!idsToPatch.includes(x.id)) return x; const y = { ...x, keywords: { ...x.keywords } }; fn(y); return y; };
    const full = new Map([...c.full].map(([k, v]) => [k, copy(v)]));
    conversation.value = { ...c, items: c.items.map(copy), full };
  }
  // A thread row is unread while one of its messages is.
  for (const th of threads.values()) {
    if (th.members.some((x) => idsToPatch.includes(x.id))) {
      for (const x of th.members) if (idsToPatch.includes(x.id)) fn(x);
      th.unread = th.members.some((x) => !x.keywords.$seen);
    }
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

// setKeyword sets or clears keyword kw of the messages list: shown at
// once (patchLocal), then Email/set. The list knows the change is its
// own (ownIds): its push fetches no page again (listChanged), unless the
// search shown is by keyword, where the change moves messages in or out.
export async function setKeyword(list, kw, on) {
  if (readOnly(kw === '$seen' ? 'maySetSeen' : 'maySetKeywords')) return;
  patchLocal(list, (e) => { e.keywords = { ...e.keywords }; if (on) e.keywords[kw] = true; else delete e.keywords[kw]; });
  if (!/Keyword/.test(JSON.stringify(filter()))) for (const id of list) ownIds.add(id);
  ownBusy++;
  ownStarted++;
  try {
    await setEmails(list, { ['keywords/' + kw]: on ? true : null });
    if (kw === '$seen') loadMailboxes().catch(fail);
  } catch (e) {
    // Some of it refused: what the list shows is not so, read it again.
    resetList(true);
    fail(e);
  } finally {
    ownBusy--;
    if (!ownBusy && recheck) {
      const next = recheck;
      recheck = null;
      listChanged(next).catch(fail);
    }
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
      conversation.value = null;
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
export async function moveTo(idOrIds, mailboxId, copy) {
  const list = asList(idOrIds);
  if (!list.length || !mailboxId) return;
  // Another account's folder: Email/copy, a move where the user may
  // remove messages here (else, as from the archive, a copy).
  const target = accountOf(mailboxId);
  if (target && target.id !== currentAccountId() && !target.archive) {
    await transfer(list, mailboxId, target, copy || !mayTransferOut());
    return;
  }
  if (copy || readOnly('mayRemoveItems')) return;
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

// transfer copies (or moves: onSuccessDestroyOriginal) messages of the
// current folder's account to a folder of another account with
// Email/copy (RFC 8620 §5.4, RFC 8621 §4.7), in calls of at most
// maxObjectsInSet messages. The copies keep their keywords (flags) and
// received date; the server checks the read right here and the insert
// right there, the store again.
async function transfer(list, mailboxId, target, copy) {
  const mb = target.mailboxes.find((m) => m.id === mailboxId);
  if (!mb || !rightOf(mb, 'mayAddItems')) { notify(t('xferNoAdd')); return; }
  clearTimeout(readTimer);
  const from = currentAccountId();
  const max = maxObjectsInSet();
  try {
    for (let i = 0; i < list.length; i += max) {
      const part = list.slice(i, i + max);
      const create = Object.fromEntries(part.map((id, k) => ['c' + k, { id, mailboxIds: { [mailboxId]: true } }]));
      const r = await api([['Email/copy', { fromAccountId: from, accountId: target.id, create, onSuccessDestroyOriginal: !copy }, 'c']]);
      const e = firstError(r.c.notCreated) || (r['c+'] && firstError(r['c+'].notDestroyed));
      if (e) throw e;
    }
    const folder = mailboxName(mb);
    if (copy) {
      notify(list.length > 1 ? t('xferCopiedN', { n: list.length, folder }) : t('xferCopied', { folder }));
      loadMailboxes().catch(fail);
    } else {
      notify(list.length > 1 ? t('movedN', { n: list.length, folder }) : t('moved', { folder }));
      afterRemoval(list);
    }
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
  if (checked.value.size) return expand([...checked.value]);
  return selectedId.value ? expand([selectedId.value]) : [];
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

// createFolder makes a folder at the top level or inside parentId, in
// the parent's account (a shared or public folder's, with its
// mayCreateChild; the server checks it too).
export async function createFolder(name, parentId) {
  name = name.trim();
  if (!name) return false;
  const a = parentId ? accountOf(parentId) : null;
  try {
    const s = await mailboxSet({ ...(a ? { accountId: a.id } : {}), create: { f: { name, parentId: parentId || null } } });
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
  const a = accountOf(id);
  const m = folderById(id);
  name = name.trim();
  if (!a || !name || refuseSpecial(m)) return false;
  try {
    await mailboxSet({ accountId: a.id, update: { [id]: { name } } });
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
  const a = accountOf(id);
  const m = folderById(id);
  if (!a || !m || refuseSpecial(m)) return false;
  try {
    await mailboxSet({ accountId: a.id, destroy: [id], onDestroyRemoveEmails: true });
    // The folder was open: loadMailboxes (in mailboxSet, or a push
    // before it) has opened its parent or the Inbox.
    notify(t('folderDeleted', { name: m.name }));
    return true;
  } catch (e) { fail(e); return false; }
}

// parseAddresses reads "Name <a@b>, c@d" into JMAP EmailAddress objects,
// splitting at commas and semicolons outside quotes ("Lee, Ann" <a@b>).
export function parseAddresses(s) {
  const parts = [];
  let cur = '';
  let quoted = false;
  for (const ch of s || '') {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === ',' || ch === ';')) { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  const out = [];
  for (const part of parts) {
    const p = part.trim();
    if (!p) continue;
    const m = p.match(/^(.*?)\s*<([^>]+)>$/);
    if (m) out.push({ name: m[1].replace(/^"|"$/g, '').trim() || null, email: m[2].trim() });
    else out.push({ name: null, email: p });
  }
  return out;
}

// formatAddress writes one address as parseAddresses reads it back: a
// name with a comma, semicolon, quote or angle bracket is quoted.
export const formatAddress = (a) => (a.name ? `${/[,;"<>]/.test(a.name) ? '"' + a.name.replace(/"/g, "'") + '"' : a.name} <${a.email}>` : a.email);
export const formatAddresses = (l) => (l || []).map(formatAddress).join(', ');

function quote(m) {
  const text = m.bodyValues && m.textBody && m.textBody[0] && m.bodyValues[m.textBody[0].partId];
  return (text ? text.value : m.preview || '').split('\n').map((l) => '> ' + l).join('\n');
}

// signatureBlock is the text an identity's signature adds to a message:
// the "-- " separator line (RFC 3676 §4.3) and its textSignature (or
// else the text of its htmlSignature); '' without one.
export function signatureBlock(ident) {
  if (!ident) return '';
  let sig = (ident.textSignature || '').replace(/\s+$/, '');
  if (!sig && ident.htmlSignature) {
    // Its text, a line for each <br> and block (the parsed document is
    // never rendered, so nothing in it loads or runs).
    const lines = ident.htmlSignature.replace(/<br\s*\/?>|<\/(p|div|li|tr|h\d)>/gi, '\n');
    sig = (new DOMParser().parseFromString(lines, 'text/html').body.textContent || '').replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  }
  return sig ? `-- \n${sig}` : '';
}

// replyIdentity is the identity a reply or forward of m is written from:
// the one whose address m was sent to, else the first.
function replyIdentity(m) {
  const to = new Set([...(m.to || []), ...(m.cc || [])].map((a) => (a.email || '').toLowerCase()));
  return identities.value.find((i) => to.has(i.email.toLowerCase())) || identities.value[0];
}

export function startCompose(kind) {
  const m = message.value;
  const ident = m && kind !== 'new' ? replyIdentity(m) : identities.value[0];
  const draft = { to: '', cc: '', subject: '', body: '', identityId: ident ? ident.id : '', inReplyTo: null, references: null, replyOf: null };
  // The signature goes at the end of a new message and above the quote
  // of a reply or forward; the composer swaps it when From changes.
  const sig = signatureBlock(ident);
  draft.signature = sig;
  draft.body = sig ? `\n\n${sig}` : '';
  if (m && kind !== 'new') {
    const sub = m.subject || '';
    const when = fmtDateTime(m.sentAt || m.receivedAt);
    const who = m.from && m.from[0] ? (m.from[0].name || m.from[0].email) : '';
    if (kind === 'forward') {
      draft.subject = /^fwd?:/i.test(sub) ? sub : 'Fwd: ' + sub;
      const text = m.bodyValues && m.textBody && m.textBody[0] && m.bodyValues[m.textBody[0].partId];
      draft.body = `\n\n${sig ? sig + '\n\n' : ''}${t('forwarded')}\n${t('from')}: ${formatAddresses(m.from)}\n${t('date')}: ${when}\n${t('subject')}: ${sub}\n${t('to')}: ${formatAddresses(m.to)}\n\n${text ? text.value : m.preview || ''}`;
      // The original's attachments go along as attachments: the same
      // blobs (parts of the stored message), not uploaded again. Not from
      // the archive, whose blobs the mail account cannot name.
      if (!inArchive.value) draft.attachments = (m.attachments || []).map((a) => ({ name: a.name || 'attachment', type: a.type, size: a.size, blobId: a.blobId }));
    } else {
      draft.subject = /^re:/i.test(sub) ? sub : 'Re: ' + sub;
      draft.to = formatAddresses(m.replyTo && m.replyTo.length ? m.replyTo : m.from);
      if (kind === 'replyAll') {
        const mine = new Set(identities.value.map((i) => i.email.toLowerCase()));
        const seen = new Set(parseAddresses(draft.to).map((a) => a.email.toLowerCase()));
        draft.cc = formatAddresses([...(m.to || []), ...(m.cc || [])].filter((a) => !mine.has(a.email.toLowerCase()) && !seen.has(a.email.toLowerCase())));
      }
      draft.body = `\n\n${sig ? sig + '\n\n' : ''}${t('wrote', { date: when, name: who })}\n${quote(m)}`;
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
    // On behalf (RFC 5322 §3.6.2): the user's own address as Sender; the
    // server allows it for an address the user may send as, and
    // receivers see "USER on behalf of FROM".
    ...(d.onBehalf && !ownAddress(ident.email) && ownAddresses()[0] ? { sender: [{ email: ownAddresses()[0] }] } : {}),
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

// ownAddresses are the user's own addresses (primary first, /web/api/me);
// an identity with another address is one the user may send as.
export const ownAddresses = () => (user.value && user.value.addresses) || [];
export const ownAddress = (a) => ownAddresses().some((x) => x.toLowerCase() === String(a || '').toLowerCase());

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
