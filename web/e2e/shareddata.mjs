// Messages and folders across accounts, and public calendars, in Debian's
// Chromium (started by internal/app's TestWebClientSharedData, which
// shares OWNER's folder "Projects" ("Plans for Q1", flagged, and "Budget
// draft") with READER with every right but administering it, gives
// READER a message "Notes from Bob" in the Inbox, and makes the public
// folder "Announcements" (read-only) with a calendar "Events" holding
// today's "Town hall"; afterwards it checks the results over IMAP).
// READER copies "Plans for Q1" into the Inbox with "Copy to…"
// (Email/copy without onSuccessDestroyOriginal), drags "Budget draft"
// onto the Inbox (a move: Email/copy with onSuccessDestroyOriginal),
// moves "Notes from Bob" into Projects with the move dialog, copies the
// public announcement ("Copy to…" only: no move without the right), makes
// the subfolder "Q1 notes" in Projects and renames it, makes "Scratch"
// and deletes it, and finds "Town hall" under "Public calendars",
// read-only. Axe scans the dialogs and the calendar, light and dark.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, OWNER, READER, READER_PASS, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const pageErrors = [];
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', colorScheme: 'light' });
await ctx.tracing.start({ screenshots: true, snapshots: true });
const b = await ctx.newPage();
b.on('pageerror', (e) => pageErrors.push(String(e)));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(name) {
  for (const scheme of ['light', 'dark']) {
    await b.emulateMedia({ colorScheme: scheme });
    await b.addScriptTag({ path: axePath });
    const r = await b.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    console.log(`axe ${name} (${scheme}): ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')})`);
    check(bad.length === 0, `axe finds nothing serious on ${name} (${scheme}): ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
  }
  await b.emulateMedia({ colorScheme: 'light' });
}

const calls = [];
b.on('request', (r) => {
  if (r.url().endsWith('/jmap/api/') && r.method() === 'POST') calls.push(...(JSON.parse(r.postData() || '{}').methodCalls || []));
});
const copies = () => calls.filter(([n]) => n === 'Email/copy');

let failed = false;
try {
  await b.goto(BASE + '/');
  await b.getByLabel('Address or login name').fill(READER);
  await b.getByLabel('Password').fill(READER_PASS);
  await b.getByRole('button', { name: 'Sign in' }).click();
  const own = b.getByRole('tree', { name: 'Folders' });
  const ownInbox = own.getByRole('treeitem', { name: /^Inbox/ });
  await ownInbox.waitFor();
  const sharedTree = b.getByRole('tree', { name: `Shared by ${OWNER}` });
  const proj = sharedTree.getByRole('treeitem', { name: /^Projects/ });
  const list = b.getByRole('listbox', { name: 'Messages' });
  const row = (subject) => list.getByRole('option').filter({ hasText: subject });
  const toast = b.locator('.toast');
  const { mine, shared } = await b.evaluate(async () => {
    const s = await (await fetch('/jmap/session')).json();
    const mine = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    return { mine, shared: Object.keys(s.accounts).filter((id) => id !== mine) };
  });

  // 1. Copy "Plans for Q1" from the shared folder into the Inbox.
  await proj.click();
  await row('Plans for Q1').click();
  await b.getByRole('heading', { name: 'Plans for Q1' }).waitFor();
  const reader = b.getByRole('toolbar', { name: 'Message' });
  await reader.getByRole('button', { name: 'Copy to…' }).click();
  const dlg = b.getByRole('dialog', { name: 'Copy to…' });
  const mineList = dlg.getByRole('list', { name: 'My folders' });
  await mineList.waitFor();
  check(await dlg.getByRole('list', { name: `Shared by ${OWNER}` }).count() === 0, 'copy offers the other accounts\' folders, not the folder\'s own account');
  await axe('the copy dialog');
  await mineList.getByRole('button', { name: 'Inbox' }).click();
  await toast.filter({ hasText: 'Copied to Inbox.' }).waitFor();
  const c1 = copies().at(-1);
  check(c1 && shared.includes(c1[1].fromAccountId) && c1[1].accountId === mine && c1[1].onSuccessDestroyOriginal === false,
    'Email/copy from the owner\'s account into the user\'s, the original kept: ' + JSON.stringify(c1 && c1[1]));
  check(await row('Plans for Q1').count() === 1, 'the original stays in the shared folder');

  // 2. Drag "Budget draft" onto the user's own Inbox: a move.
  await row('Budget draft').dragTo(ownInbox);
  await toast.filter({ hasText: 'Moved to Inbox.' }).waitFor();
  await row('Budget draft').waitFor({ state: 'detached' });
  const c2 = copies().at(-1);
  check(c2 !== c1 && c2[1].onSuccessDestroyOriginal === true && c2[1].accountId === mine, 'dragging to another account\'s folder moves with Email/copy and onSuccessDestroyOriginal');

  // 3. From the Inbox, move "Notes from Bob" into Projects with the move dialog.
  await ownInbox.click();
  await row('Budget draft').waitFor();
  await row('Plans for Q1').waitFor();
  const planRow = row('Plans for Q1');
  check(await planRow.locator('.flag').count() === 1 && await row('Budget draft').locator('.flag').count() === 0, 'the copy in the Inbox is flagged like the original');
  await row('Notes from Bob').click();
  await b.getByRole('heading', { name: 'Notes from Bob' }).waitFor();
  await reader.getByRole('button', { name: 'Move to…' }).click();
  const mv = b.getByRole('dialog', { name: 'Move to…' });
  const toShared = mv.getByRole('list', { name: `Shared by ${OWNER}` });
  await toShared.waitFor();
  check(await mv.getByRole('list', { name: 'Public folders' }).count() === 0, 'a public folder without the add right is not offered');
  await axe('the move dialog with other accounts');
  if (SHOTS) await mv.screenshot({ path: join(SHOTS, 'move-dialog-accounts.png') });
  await toShared.getByRole('button', { name: 'Projects' }).click();
  await toast.filter({ hasText: 'Moved to Projects.' }).waitFor();
  await row('Notes from Bob').waitFor({ state: 'detached' });
  await proj.click();
  await row('Notes from Bob').waitFor();
  check(true, 'the message moved into the shared folder is listed there');

  // 4. A public announcement: read-only, so only a copy.
  const pub = b.getByRole('tree', { name: 'Public folders' }).getByRole('treeitem', { name: /^Announcements/ });
  await pub.click();
  await b.getByRole('tree', { name: 'Public folders' }).getByRole('treeitem', { name: /^Announcements/, selected: true }).waitFor();
  // The public folder's subfolder: no mayCreateChild, said in words.
  // (Asked before the drag below: in CI a click right after a drag and
  // drop was lost by the browser once, the button focused but never
  // clicked.)
  await b.getByRole('toolbar', { name: 'Folder actions' }).getByRole('button', { name: 'New folder' }).click();
  await b.getByText('You may not create folders in “Announcements”.').waitFor();
  check(await b.getByRole('dialog').count() === 0, 'no new folder in a public folder without the right, nothing opened');
  await row('Office closed Friday').click();
  await b.getByRole('heading', { name: 'Office closed Friday' }).waitFor();
  check(await reader.getByRole('button', { name: 'Move to…' }).count() === 0, 'no move out of a read-only public folder');
  await reader.getByRole('button', { name: 'Copy to…' }).click();
  await b.getByRole('dialog', { name: 'Copy to…' }).getByRole('list', { name: 'My folders' }).getByRole('button', { name: 'Inbox' }).click();
  await toast.filter({ hasText: 'Copied to Inbox.' }).waitFor();
  check(await row('Office closed Friday').count() === 1, 'the public message is copied into the Inbox and stays');
  // Dragging it onto the Inbox copies too (no right to remove it here).
  const n0 = copies().length;
  await row('Office closed Friday').dragTo(ownInbox);
  await toast.filter({ hasText: 'Copied to Inbox.' }).waitFor();
  check(copies().length === n0 + 1 && copies().at(-1)[1].onSuccessDestroyOriginal === false, 'dragging from a read-only folder copies');

  // 5. A subfolder in the shared folder: create, rename; another deleted.
  // Projects is clicked until it is open: the first click after the
  // drag above may be lost by the browser (see step 4).
  const projOpen = sharedTree.getByRole('treeitem', { name: /^Projects/, selected: true });
  for (let i = 0; i < 5 && !(await projOpen.count()); i++) {
    await proj.click();
    await projOpen.waitFor({ timeout: 3000 }).catch(() => {});
  }
  await projOpen.waitFor();
  const tools = b.getByRole('toolbar', { name: 'Folder actions' });
  const mkdir = async (name) => {
    await tools.getByRole('button', { name: 'New folder' }).click();
    const d = b.getByRole('dialog', { name: 'New folder' });
    check(await d.getByLabel('Inside').inputValue() === (await proj.getAttribute('data-id')), 'the new folder goes inside the shared folder open');
    check(await d.getByLabel('Inside').locator('option', { hasText: 'Top level' }).count() === 0, 'no top level in another user\'s account');
    await d.getByLabel('Folder name').fill(name);
    await d.getByRole('button', { name: 'Create' }).click();
    await sharedTree.getByRole('treeitem', { name: new RegExp('^' + name) }).waitFor();
  };
  await mkdir('Q1 notes');
  const q1 = sharedTree.getByRole('treeitem', { name: /^Q1 notes/ });
  check(await q1.getAttribute('aria-level') === '2', 'the subfolder shows under Projects in the shared tree');
  // Opened once created (after the tree is read again: waited for).
  await sharedTree.getByRole('treeitem', { name: /^Q1 notes/, selected: true }).waitFor();
  check(await q1.getAttribute('aria-selected') === 'true', 'the new folder opens');
  await tools.getByRole('button', { name: 'Rename' }).click();
  const rn = b.getByRole('dialog', { name: /^Rename/ });
  await rn.getByLabel('Folder name').fill('Q1 minutes');
  await axe('the rename dialog of a shared folder');
  await rn.getByRole('button', { name: 'Rename' }).click();
  await sharedTree.getByRole('treeitem', { name: /^Q1 minutes/ }).waitFor();
  await proj.click();
  await mkdir('Scratch');
  await tools.getByRole('button', { name: 'Delete folder' }).click();
  await b.getByRole('dialog', { name: 'Delete folder' }).getByRole('button', { name: /Delete/ }).click();
  await sharedTree.getByRole('treeitem', { name: /^Scratch/ }).waitFor({ state: 'detached' });
  check(true, 'a subfolder of the shared folder is created, renamed, and another deleted');
  await projOpen.waitFor();
  check(true, 'the deleted folder\'s parent opens, not the user\'s Inbox');
  // Moving another's folder stays its owner's.
  await proj.click();
  await projOpen.waitFor();
  await tools.getByRole('button', { name: 'Move folder' }).click();
  await b.getByText('This folder belongs to someone else: only its owner can change it.').waitFor();
  check(true, 'moving a shared folder is refused in words');
  if (SHOTS) await b.screenshot({ path: join(SHOTS, 'mail-shared-subfolder.png') });

  // 6. The public calendar beside the user's own.
  await b.goto(BASE + '/#calendar');
  const pubCals = b.getByRole('region', { name: 'Public calendars' });
  await pubCals.getByText('Events').waitFor({ timeout: 15000 });
  const ev = b.locator('.cal-main, main').getByText('Town hall').first();
  await ev.waitFor();
  check(true, 'the public calendar and its event show in the user\'s calendar');
  await ev.click();
  const view = b.getByRole('dialog', { name: 'Event', exact: true });
  await view.waitFor();
  check(await view.getByRole('button', { name: 'Save' }).count() === 0 && await view.getByRole('button', { name: 'Delete' }).count() === 0,
    'the public event opens read-only: no save, no delete');
  await view.getByRole('button', { name: 'Close' }).click();
  await view.waitFor({ state: 'detached' });
  await axe('the calendar with a public calendar');
  if (SHOTS) await b.screenshot({ path: join(SHOTS, 'calendar-public.png') });
  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join('; '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  await b.screenshot({ path: join(ARTIFACTS, 'failure.png') }).catch(() => {});
  writeFileSync(join(ARTIFACTS, 'failure.html'), await b.content().catch(() => ''));
}
await ctx.tracing.stop(failed ? { path: join(ARTIFACTS, 'trace.zip') } : undefined);
await browser.close();
process.exit(failed ? 1 : 0);
