// Folder management and multi-select in the web client, in Debian's
// Chromium (started by internal/app's TestWebClientFolders, which seeds
// USER's Inbox with six messages "Batch 1" … "Batch 6" and afterwards
// checks the outcome over IMAP). The folders: "Clients" with "Acme" in it
// (made in the dialog), "Old" renamed to "Done" (F2 in the tree) and
// dragged into "Clients", "Acme" moved to the top level ("Move folder"),
// "Scratch" deleted (after a cancelled confirm), Inbox refused; a folder
// made behind the app's back ("Pushed") shows up by push. Multi-select:
// ctrl- and shift-click select three messages, moved to "Acme" in one
// Email/set; x and Shift+j select two more, flagged (s) and marked read
// in one Email/set each. Axe scans the tree, the dialog and the toolbar.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
// bypassCSP lets axe-core be injected (mail.mjs checks the CSP itself).
const context = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const sets = []; // the Email/set and Mailbox/set calls the app makes
page.on('request', (r) => {
  if (r.url().endsWith('/jmap/api/') && r.method() === 'POST') {
    for (const [name, args] of JSON.parse(r.postData() || '{}').methodCalls || []) {
      if (name === 'Email/set' || name === 'Mailbox/set') sets.push([name, args]);
    }
  }
});
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  console.log(`axe ${name}: ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')})`);
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}

let failed = false;
try {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const tree = page.getByRole('tree', { name: 'Folders' });
  const item = (name) => tree.getByRole('treeitem', { name: new RegExp('^' + name) });
  await item('Inbox').waitFor();
  const list = page.getByRole('listbox', { name: 'Messages' });
  await list.getByRole('option').filter({ hasText: 'Batch 6' }).waitFor();
  check(await item('Inbox').getAttribute('aria-selected') === 'true' && await item('Inbox').getAttribute('aria-level') === '1', 'the folder tree is an ARIA tree with the Inbox selected');

  // ---- create ----
  const create = async (name, parent) => {
    await page.getByRole('button', { name: 'New folder' }).click();
    const d = page.getByRole('dialog', { name: 'New folder' });
    await d.getByLabel('Folder name').fill(name);
    if (parent) await d.getByLabel('Inside').selectOption({ label: parent });
    await d.getByRole('button', { name: 'Create' }).click();
    await page.getByText(`Folder “${name}” created.`).waitFor();
    await d.waitFor({ state: 'detached' });
  };
  await create('Clients');
  await page.getByRole('button', { name: 'New folder' }).click();
  await page.getByRole('dialog', { name: 'New folder' }).getByLabel('Folder name').waitFor();
  await axe('the new-folder dialog');
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'New folder' }).waitFor({ state: 'detached' });
  await create('Acme', 'Clients');
  await create('Old');
  await create('Scratch');
  check(await item('Acme').getAttribute('aria-level') === '2', 'Acme was made inside Clients');
  await item('Scratch').and(page.locator('[aria-selected=true]')).waitFor(); // opened once the tree is read again
  check(await item('Scratch').getAttribute('aria-selected') === 'true', 'a new folder opens');

  // ---- rename with F2 (keyboard in the tree) ----
  await item('Old').click();
  // Let the folder's (empty) list load before the dialog opens.
  await page.getByText('No messages').waitFor();
  await item('Old').focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowDown');
  check(await item('Old').evaluate((e) => e === document.activeElement), 'arrow keys move the focus in the tree');
  await page.keyboard.press('F2');
  const ren = page.getByRole('dialog', { name: 'Rename “Old”' });
  await ren.getByLabel('Folder name').fill('Done');
  await ren.getByRole('button', { name: 'Rename' }).click();
  await page.getByText('Renamed to “Done”.').waitFor();
  await item('Done').waitFor();
  check(await item('Old').count() === 0, 'F2 renamed Old to Done');

  // ---- move: drag onto a folder, and the "Move folder" dialog ----
  await item('Done').dragTo(item('Clients'));
  await page.getByText('Moved “Done” to Clients.').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[role=treeitem]')].some((e) => e.textContent.startsWith('Done') && e.getAttribute('aria-level') === '2'));
  check(true, 'Done dragged into Clients');
  await item('Acme').click();
  await page.getByRole('button', { name: 'Move folder' }).click();
  const mv = page.getByRole('dialog', { name: 'Move “Acme” to…' });
  check(await mv.getByRole('button', { name: 'Acme' }).count() === 0, 'the move dialog does not offer the folder itself');
  await mv.getByRole('button', { name: 'Top level' }).click();
  await page.getByText('Moved “Acme” to Top level.').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[role=treeitem]')].some((e) => e.textContent.startsWith('Acme') && e.getAttribute('aria-level') === '1'));
  check(true, 'Acme moved to the top level with the dialog');

  // ---- delete: cancelled, confirmed, and refused for Inbox ----
  await item('Scratch').click();
  await page.getByRole('button', { name: 'Delete folder' }).click();
  const del = page.getByRole('dialog', { name: 'Delete folder' });
  await del.getByText('Delete the folder “Scratch”?').waitFor();
  await del.getByRole('button', { name: 'Close' }).click();
  await del.waitFor({ state: 'detached' });
  check(await item('Scratch').count() === 1, 'closing the confirm keeps the folder');
  await page.getByRole('button', { name: 'Delete folder' }).click();
  await del.getByRole('button', { name: 'Delete folder' }).click();
  await page.getByText('Folder “Scratch” deleted.').waitFor();
  await item('Scratch').waitFor({ state: 'detached' });
  await item('Inbox').and(page.locator('[aria-selected=true]')).waitFor();
  check(await item('Inbox').getAttribute('aria-selected') === 'true', 'deleting the open folder goes back to the Inbox');
  const before = sets.length;
  await page.getByRole('button', { name: 'Delete folder' }).click();
  await page.getByText('“Inbox” is a special folder: it cannot be renamed, moved or deleted.').waitFor();
  check(await del.count() === 0 && sets.length === before, 'deleting the Inbox is refused, with nothing sent');
  await item('Inbox').focus();
  await page.keyboard.press('Delete');
  await page.getByText('“Inbox” is a special folder').first().waitFor();
  check(await del.count() === 0, 'the Delete key in the tree refuses the Inbox too');

  // ---- push: a folder made elsewhere appears; the server refuses the
  // Inbox's deletion too (the client's refusal is not the only one) ----
  const inboxId = await item('Inbox').getAttribute('data-id');
  const direct = await page.evaluate(async (inbox) => {
    const s = await (await fetch('/jmap/session')).json();
    const accountId = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    const r = await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: [
        ['Mailbox/set', { accountId, destroy: [inbox], onDestroyRemoveEmails: true }, 'd'],
        ['Mailbox/set', { accountId, create: { p: { name: 'Pushed' } } }, 's']] }) });
    return (await r.json()).methodResponses[0][1];
  }, inboxId);
  check(direct.notDestroyed && direct.notDestroyed[inboxId] && !(direct.destroyed || []).length, 'the server refuses to destroy the Inbox: ' + JSON.stringify(direct.notDestroyed));
  await item('Pushed').waitFor({ timeout: 15000 });
  check(true, 'a folder created by another client shows up by push');

  // ---- multi-select: ctrl- and shift-click, one Email/set ----
  const row = (n) => list.getByRole('option').filter({ hasText: `Batch ${n}` });
  await row(6).click();
  await page.getByRole('heading', { name: 'Batch 6' }).waitFor();
  // Opening marks it read after a delay: let that Email/set happen
  // before counting the move's.
  await page.waitForFunction(() => [...document.querySelectorAll('.row')].some((r) => r.textContent.includes('Batch 6') && !r.classList.contains('unread')));
  await row(5).click({ modifiers: ['Control'] });
  const bulk = page.getByRole('toolbar', { name: 'Selected messages' });
  await bulk.getByText('2 selected').waitFor();
  await row(4).click({ modifiers: ['Shift'] });
  await bulk.getByText('3 selected').waitFor();
  check(await list.getAttribute('aria-multiselectable') === 'true' && await list.locator('[role=option][aria-selected=true]').count() === 3,
    'ctrl-click and shift-click select three messages (aria-selected)');
  await axe('the list with a selection');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'folders-select.png') });
  const n0 = sets.length;
  await bulk.getByRole('button', { name: 'Move to…' }).click();
  await page.getByRole('dialog', { name: 'Move to…' }).getByRole('button', { name: 'Acme' }).click();
  await page.getByText('3 messages moved to Acme.').waitFor();
  await row(4).waitFor({ state: 'detached' });
  const moves = sets.slice(n0).filter(([n]) => n === 'Email/set');
  check(moves.length === 1 && Object.keys(moves[0][1].update || {}).length === 3, 'the three moved in one Email/set: ' + JSON.stringify(moves));
  check(await bulk.count() === 0, 'the selection ends with the move');

  // ---- keyboard: x, Shift+j, s; then mark read from the toolbar ----
  await row(3).click();
  await page.getByRole('heading', { name: 'Batch 3' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.row')].some((r) => r.textContent.includes('Batch 3') && !r.classList.contains('unread')));
  await page.locator('body').press('x');
  await bulk.getByText('1 selected').waitFor();
  await page.locator('body').press('Shift+J');
  await bulk.getByText('2 selected').waitFor();
  const n1 = sets.length;
  await page.locator('body').press('s');
  await list.locator('.row', { hasText: 'Batch 2' }).locator('.flag').waitFor();
  await list.locator('.row', { hasText: 'Batch 3' }).locator('.flag').waitFor();
  await bulk.getByRole('button', { name: 'Mark read' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('.row')].filter((r) => /Batch [23]/.test(r.textContent) && !r.classList.contains('unread')).length === 2);
  const kw = sets.slice(n1).filter(([n]) => n === 'Email/set');
  check(kw.length === 2 && kw.every(([, a]) => Object.keys(a.update || {}).length === 2), 'x and Shift+j selected two; flag and mark read were one Email/set each: ' + JSON.stringify(kw));
  await page.locator('body').press('Escape');
  await bulk.waitFor({ state: 'detached' });
  check(true, 'Escape clears the selection');

  // ---- German ----
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('dialog', { name: 'Settings' }).getByLabel('Language').selectOption('de');
  await page.getByRole('button', { name: 'Neuer Ordner' }).waitFor();
  check(await page.getByRole('toolbar', { name: 'Ordneraktionen' }).getByRole('button', { name: 'Ordner löschen' }).isVisible(), 'the folder actions in German');
  await page.getByRole('dialog', { name: 'Einstellungen' }).getByLabel('Sprache').selectOption('en');
  await page.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Close' }).click();
  await axe('the mail view with the folder tools');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'folders.png') });
  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join('; '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png') }).catch(() => {});
  writeFileSync(join(ARTIFACTS, 'failure.html'), await page.content().catch(() => ''));
}
await context.tracing.stop(failed ? { path: join(ARTIFACTS, 'trace.zip') } : undefined);
await browser.close();
process.exit(failed ? 1 : 0);
