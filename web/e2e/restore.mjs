// Restore deleted items (Settings), in Debian's Chromium, started by
// internal/app's TestWebRestoreE2E, which delivers SUBJECT and a folder
// "Old projects" with a message in it, and afterwards compares the
// restored message over IMAP with the one it delivered. Here the user
// deletes SUBJECT (to Trash), deletes it from Trash for good, deletes the
// folder "Old projects", then restores both from Settings (the message
// from Trash, picked by folder and date) and finds them back in the mail
// view. Then the event EVENT (put over CalDAV into the calendar
// CALENDAR) is deleted in the calendar view, restored from Settings (its
// calendar picked in the folder list, the row showing its title and
// start) and seen back in the calendar view; the Go test then GETs it
// over CalDAV. Axe scans the section, light and dark. Env: BASE, USER,
// PASS, SUBJECT, EVENT, CALENDAR, ARTIFACTS, SHOTS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, SUBJECT, BULK, EVENT, CALENDAR, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const pageErrors = [];
const restores = []; // the POST /web/api/restore bodies
page.on('request', (r) => { if (r.url().endsWith('/web/api/restore') && r.method() === 'POST') restores.push(JSON.parse(r.postData())); });
page.on('pageerror', (e) => pageErrors.push(String(e)));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}

let failed = false;
try {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const tree = page.getByRole('navigation', { name: 'Folders' });
  const folder = (name) => tree.getByRole('treeitem', { name: new RegExp('^' + name) });
  const list = page.getByRole('listbox', { name: 'Messages' });
  const row = list.getByRole('option').filter({ hasText: SUBJECT });

  // Delete: to Trash, then from Trash for good.
  await row.click();
  await page.getByRole('heading', { name: SUBJECT }).waitFor();
  await page.locator('body').press('#');
  await page.getByText('Moved to Trash.').waitFor();
  await row.waitFor({ state: 'detached' });
  await folder('Trash').click();
  await row.click();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('Deleted.').waitFor();
  await row.waitFor({ state: 'detached' });
  check(true, 'the message is deleted to Trash and then from Trash');
  // Delete the folder "Old projects" (with its message).
  await folder('Old projects').click();
  await page.getByRole('button', { name: 'Delete folder' }).click();
  const del = page.getByRole('dialog', { name: 'Delete folder' });
  await del.getByRole('button', { name: 'Delete folder' }).click();
  await folder('Old projects').waitFor({ state: 'detached' });
  check(true, 'the folder "Old projects" is deleted');

  // Settings: restore the message, by folder and date.
  await page.goto(BASE + '/settings');
  const sec = page.getByRole('region', { name: 'Restore deleted items' });
  await sec.getByText('This server purges them 30 days after their deletion.').waitFor();
  check(true, 'the section says how long deleted items stay (softdelete_lifetime)');
  await sec.getByRole('combobox', { name: 'Folder' }).selectOption({ label: 'Trash' });
  await sec.getByLabel('Deleted since').fill('2999-01-01');
  await sec.getByRole('button', { name: 'Show deleted messages' }).click();
  await sec.getByText('No deleted messages in this folder.').waitFor();
  check(true, 'nothing deleted since a future date');
  const y = new Date(Date.now() - 86400e3);
  const ymd = `${y.getFullYear()}-${String(y.getMonth() + 1).padStart(2, '0')}-${String(y.getDate()).padStart(2, '0')}`;
  await sec.getByLabel('Deleted since').fill(ymd);
  await sec.getByRole('button', { name: 'Show deleted messages' }).click();
  const items = sec.getByRole('table', { name: 'Deleted messages' });
  const r = items.getByRole('row').filter({ has: page.getByRole('rowheader', { name: SUBJECT }) });
  await r.waitFor();
  const text = await r.textContent();
  check(text.includes('Sender <s@example.net>'), 'the row shows the sender: ' + text);
  await axe('the restore section');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-restore.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await axe('the restore section (dark)');
  await page.emulateMedia({ colorScheme: 'light' });
  check(await sec.getByRole('button', { name: /^Restore selected/ }).isDisabled(), 'nothing picked: Restore is disabled');
  await r.getByRole('checkbox', { name: 'Select ' + SUBJECT }).check();
  await sec.getByRole('button', { name: 'Restore selected (1)' }).click();
  await sec.getByText('Messages restored: 1.').waitFor();
  await r.waitFor({ state: 'detached' });
  check(true, 'the message is restored and leaves the list');

  // The folder.
  const folders = sec.getByRole('table', { name: 'Deleted folders' });
  await folders.getByRole('rowheader', { name: 'Old projects' }).waitFor();
  await folders.getByRole('button', { name: 'Restore Old projects' }).click();
  await sec.getByText('Folder “Old projects” restored.').waitFor();
  await folders.getByRole('rowheader', { name: 'Old projects' }).waitFor({ state: 'detached' });
  check(true, 'the folder is restored');

  // Many: BULK messages expunged over IMAP, paged in 50s, restored in
  // requests of 50 with a progress bar.
  const n = Number(BULK);
  await sec.getByRole('combobox', { name: 'Folder' }).selectOption({ label: 'Bulk' });
  await sec.getByLabel('Deleted since').fill('');
  await sec.getByRole('button', { name: 'Show deleted messages' }).click();
  await sec.getByText(`Deleted messages found: ${n}.`).waitFor();
  check(await items.getByRole('row').count() === 1 + 50, 'the first page has 50 rows');
  // One page at a time, each waited for: the button says how many are
  // left, and is disabled while a page loads. The first is double-clicked:
  // the page still comes once.
  for (let shown = 50; shown < n; shown = Math.min(n, shown + 50)) {
    const btn = sec.getByRole('button', { name: `Show ${n - shown} more` });
    await (shown === 50 ? btn.dblclick() : btn.click());
    await items.getByRole('row').nth(Math.min(n, shown + 50)).waitFor();
  }
  check(await sec.getByRole('button', { name: /^Show \d+ more$/ }).count() === 0, 'no "Show more" once all are listed');
  check(await items.getByRole('row').count() === 1 + n, `"Show more" pages to all ${n}`);
  await items.getByRole('checkbox', { name: 'Select all' }).check();
  await page.evaluate(() => {
    window.sawProgress = false;
    new MutationObserver(() => { if (document.querySelector('progress[aria-label="Restore progress"]')) window.sawProgress = true; })
      .observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  restores.length = 0;
  await sec.getByRole('button', { name: `Restore selected (${n})` }).click();
  await sec.getByText(`Messages restored: ${n}.`).waitFor();
  check(restores.length === Math.ceil(n / 50) && restores.every((b) => b.items.length <= 50), `restored in ${restores.length} requests of at most 50`);
  check(await page.evaluate(() => window.sawProgress), 'a progress bar showed while restoring');
  await items.waitFor({ state: 'detached' });
  check(true, 'none is left in the list');

  // Back in the mail view.
  await page.goto(BASE + '/');
  await folder('Trash').click();
  await row.waitFor();
  await row.click();
  await page.getByRole('heading', { name: SUBJECT }).waitFor();
  check(true, 'the restored message is back in Trash and opens');
  await folder('Old projects').click();
  await list.getByRole('option').filter({ hasText: 'Kept with the folder' }).waitFor();
  check(true, 'the restored folder is back with its message');

  // An event: deleted in the calendar view, restored from Settings.
  const chip = page.locator(`.ev[data-title="${EVENT}"]`);
  await page.getByRole('link', { name: 'Calendar' }).click();
  await chip.first().click();
  const ed = page.getByRole('dialog', { name: 'Edit event' });
  await ed.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('Event deleted.').waitFor();
  await chip.first().waitFor({ state: 'detached' });
  check(true, 'the event is deleted in the calendar view');
  await page.goto(BASE + '/settings');
  await sec.getByRole('combobox', { name: 'Folder' }).selectOption({ label: CALENDAR });
  check(await sec.locator(`optgroup[label="Calendars"] option`).filter({ hasText: CALENDAR }).count() === 1, 'the calendar is listed in the picker\'s Calendars group');
  await sec.getByRole('button', { name: 'Show deleted items' }).click();
  const evItems = sec.getByRole('table', { name: 'Deleted items' });
  const er = evItems.getByRole('row').filter({ has: page.getByRole('rowheader', { name: EVENT }) });
  await er.waitFor();
  check(await evItems.getByRole('columnheader', { name: 'Start' }).count() === 1, 'the list has a Start column');
  const etext = await er.textContent();
  check(/\d/.test(etext.replace(EVENT, '')), 'the row shows the start: ' + etext);
  await axe('the restore section with a deleted event');
  await er.getByRole('checkbox', { name: 'Select ' + EVENT }).check();
  await sec.getByRole('button', { name: 'Restore selected (1)' }).click();
  await sec.getByText('Items restored: 1.').waitFor();
  check(true, 'the event is restored');
  await page.goto(BASE + '/');
  await page.getByRole('link', { name: 'Calendar' }).click();
  await chip.first().waitFor();
  check(true, 'the restored event is back in the calendar view');
  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join(' | '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e);
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await context.tracing.stop({ path: join(ARTIFACTS, 'trace.zip') }).catch(() => {});
  await browser.close();
}
process.exit(failed ? 1 : 0);
