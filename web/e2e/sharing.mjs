// Sharing in the web client, in Debian's Chromium (started by
// internal/app's TestWebClientSharing, which gives OWNER a folder
// "Projects" with two unread messages, "Plans for Q1" and "Budget draft",
// and afterwards checks the ACL over IMAP). OWNER, in Settings → Sharing,
// shares Projects with READER (picked from the directory's suggestions)
// as "read", then gives custom rights (read + mark read); a share with
// herself is refused by the server and the refusal shown. READER, in a
// browser session of their own, finds "Projects" under "Shared by OWNER"
// with its unread count, opens a message (the JMAP calls name OWNER's
// account), has no delete or move button and is refused the Delete key
// (and the server refuses the destroy too), and sees a message OWNER adds
// arrive by push. Axe scans the sharing settings, light and dark, and the
// mail view with the shared folder.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, OWNER, OWNER_PASS, READER, READER_PASS, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
// bypassCSP lets axe-core be injected (mail.mjs checks the CSP itself).
const newPage = async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', colorScheme: 'light' });
  await ctx.tracing.start({ screenshots: true, snapshots: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return page;
};
const pageErrors = [];
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(page, name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  console.log(`axe ${name}: ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')})`);
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}
async function signIn(page, user, pass) {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(user);
  await page.getByLabel('Password').fill(pass);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tree', { name: 'Folders' }).getByRole('treeitem', { name: /^Inbox/ }).waitFor();
}

const pages = [];
let failed = false;
try {
  // ---- OWNER shares Projects in Settings → Sharing ----
  const a = await newPage();
  pages.push(a);
  await signIn(a, OWNER, OWNER_PASS);
  await a.goto(BASE + '/settings');
  const sec = a.getByRole('region', { name: 'Sharing' });
  await sec.getByLabel('Folder, calendar or address book').waitFor();
  const what = sec.getByLabel('Folder, calendar or address book');
  const groups = await what.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.label));
  check(groups.includes('Mail folders') && groups.includes('Calendars') && groups.includes('Address books'),
    'the folders, calendars and address books are offered: ' + groups.join(', '));
  await what.selectOption({ label: 'Projects' });
  await sec.getByText('Not shared with anyone.').waitFor();
  const who = sec.getByRole('combobox', { name: 'User (name or address)' });
  await who.pressSequentially('bak', { delay: 30 });
  const sugg = sec.getByRole('listbox', { name: 'User (name or address)' });
  await sugg.getByRole('option', { name: /Bob Baker/ }).waitFor();
  await who.press('ArrowDown');
  await who.press('Enter');
  check(await who.inputValue() === `${READER}@example.org`, 'the directory suggests the user and Enter takes it');
  check(await sec.getByLabel('Rights', { exact: true }).inputValue() === 'read', 'read is the preset offered first');
  await sec.getByRole('button', { name: 'Share', exact: true }).click();
  await sec.getByText('Shared “Projects” with Bob Baker.').waitFor();
  const row = sec.getByRole('row', { name: /Bob Baker/ });
  const rights = row.getByLabel('Rights of Bob Baker');
  await rights.waitFor();
  check(await rights.inputValue() === 'read', 'the table lists Bob Baker with read');
  check(await what.locator('option:checked').textContent() === 'Projects (shared with 1)', 'the folder list counts the people');

  // The server's refusal is shown: a share with oneself.
  await who.fill(`${OWNER}@example.org`);
  await sec.getByRole('button', { name: 'Share', exact: true }).click();
  const alert = sec.getByRole('alert');
  await alert.filter({ hasText: 'The server refused:' }).waitFor();
  check(/invalidProperties/.test(await alert.textContent()), 'sharing with oneself: the server refuses and the refusal is shown: ' + await alert.textContent());
  // No such user: said before anything is sent.
  await who.fill('nobody-here@example.org');
  await sec.getByRole('button', { name: 'Share', exact: true }).click();
  await alert.filter({ hasText: 'No user “nobody-here@example.org”' }).waitFor();
  check(true, 'an unknown user is refused');

  // Change: secretary, then custom (read + mark read).
  await rights.selectOption('secretary');
  await sec.getByText('Changed the rights of Bob Baker on “Projects”.').waitFor();
  await a.waitForFunction(() => document.querySelector('select[aria-label="Rights of Bob Baker"]')?.value === 'secretary');
  check(true, 'the preset changes to secretary');
  await rights.selectOption('read');
  await a.waitForFunction(() => document.querySelector('select[aria-label="Rights of Bob Baker"]')?.value === 'read');
  await rights.selectOption('custom');
  const boxes = row.getByRole('group', { name: 'Rights of Bob Baker' });
  check(await boxes.getByLabel('Read messages').isChecked() && !(await boxes.getByLabel('Delete messages').isChecked()), 'custom shows the rights as checkboxes');
  await boxes.getByLabel('Mark read').click();
  await a.waitForFunction(() => [...document.querySelectorAll('.share-table tr')].some((r) => r.textContent.includes('Bob Baker') &&
    r.querySelector('input[name=maySetSeen]')?.checked && r.querySelector('input[name=mayReadItems]')?.checked));
  check(await rights.inputValue() === 'custom', 'custom rights: read and mark read');

  await who.fill('');
  await axe(a, 'the sharing settings (light)');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-sharing.png') });
  await a.emulateMedia({ colorScheme: 'dark' });
  await axe(a, 'the sharing settings (dark)');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-sharing-dark.png') });
  await a.setViewportSize({ width: 360, height: 740 });
  await axe(a, 'the sharing settings on a 360 px phone (dark)');
  const overflow = await sec.evaluate((e) => e.scrollWidth - e.clientWidth);
  check(overflow <= 1, 'the sharing section fits a 360 px phone (overflow ' + overflow + ' px)');
  await a.setViewportSize({ width: 1280, height: 900 });
  await a.emulateMedia({ colorScheme: 'light' });

  // A calendar, shared as secretary: Calendar/set shareWith.
  const cal = await what.locator('optgroup[label="Calendars"] option').first().getAttribute('value');
  await what.selectOption(cal);
  await sec.getByText('Not shared with anyone.').waitFor();
  await who.fill(`${READER}@example.org`);
  await sec.getByLabel('Rights', { exact: true }).selectOption('secretary');
  await sec.getByRole('button', { name: 'Share', exact: true }).click();
  await sec.getByRole('row', { name: /Bob Baker/ }).getByLabel('Rights of Bob Baker').waitFor();
  const calShare = await a.evaluate(async (id) => {
    const s = await (await fetch('/jmap/session')).json();
    const acct = s.primaryAccounts['urn:ietf:params:jmap:calendars'];
    const r = await (await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:calendars'], methodCalls: [['Calendar/get', { accountId: acct, ids: [id], properties: ['shareWith'] }, 'c']] }) })).json();
    return r.methodResponses[0][1].list[0].shareWith;
  }, cal.split(':')[1]);
  const calRights = Object.values(calShare || {})[0] || {};
  check(Object.keys(calShare || {}).length === 1 && calRights.mayReadItems && calRights.mayWriteAll && !calRights.mayShare,
    'the calendar is shared with Bob Baker as secretary: ' + JSON.stringify(calShare));
  await what.selectOption({ label: 'Projects (shared with 1)' });
  await sec.getByRole('row', { name: /Bob Baker/ }).waitFor();

  // German.
  await a.evaluate(() => localStorage.setItem('roost.lang', 'de'));
  await a.reload();
  await a.getByRole('region', { name: 'Freigaben' }).getByLabel('Ordner, Kalender oder Adressbuch').waitFor();
  check(true, 'the sharing settings in German');
  await a.evaluate(() => localStorage.setItem('roost.lang', 'en'));

  // ---- READER opens the shared folder ----
  const b = await newPage();
  pages.push(b);
  const calls = [];
  b.on('request', (r) => {
    if (r.url().endsWith('/jmap/api/') && r.method() === 'POST') calls.push(...(JSON.parse(r.postData() || '{}').methodCalls || []));
  });
  await signIn(b, READER, READER_PASS);
  const sharedTree = b.getByRole('tree', { name: `Shared by ${OWNER}` });
  const proj = sharedTree.getByRole('treeitem', { name: /^Projects/ });
  await proj.waitFor();
  check(/2/.test(await proj.locator('.count').textContent()), 'the shared folder shows its unread count');
  const sharedAcct = await b.evaluate(async () => {
    const s = await (await fetch('/jmap/session')).json();
    return Object.keys(s.accounts).find((id) => !s.accounts[id].isPersonal);
  });
  await proj.click();
  const list = b.getByRole('listbox', { name: 'Messages' });
  await list.getByRole('option').filter({ hasText: 'Plans for Q1' }).click();
  await b.getByRole('heading', { name: 'Plans for Q1' }).waitFor();
  await b.locator('.reader .text-body', { hasText: 'About Plans for Q1.' }).waitFor();
  check(calls.some(([n, args]) => n === 'Email/query' && args.accountId === sharedAcct) && calls.some(([n, args]) => n === 'Email/get' && args.accountId === sharedAcct && args.fetchTextBodyValues),
    'the list and the message are read from the owner\'s account ' + sharedAcct);
  const reader = b.getByRole('toolbar', { name: 'Message' });
  check(await reader.getByRole('button', { name: 'Delete' }).count() === 0 && await reader.getByRole('button', { name: 'Move to…' }).count() === 0,
    'no delete or move button without mayRemoveItems');
  check(await reader.getByRole('button', { name: /^Mark (read|unread)$/ }).count() === 1, 'mark read is offered (maySetSeen)');
  // Mark read on open: allowed by maySetSeen; the count drops.
  await b.waitForFunction(() => [...document.querySelectorAll('[role=treeitem]')].some((e) => e.textContent.startsWith('Projects') && /1$/.test(e.textContent)));
  check(true, 'opening marked it read in the shared folder');
  const n0 = calls.length;
  await b.locator('body').press('Delete');
  await b.getByText('You may not do that in this shared folder.').waitFor();
  check(!calls.slice(n0).some(([n]) => n === 'Email/set'), 'the Delete key is refused with nothing sent');
  const direct = await b.evaluate(async ([acct, subject]) => {
    const call = async (calls) => (await (await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: calls }) })).json()).methodResponses;
    const [q] = await call([['Email/query', { accountId: acct, filter: { subject } }, 'q']]);
    const [d] = await call([['Email/set', { accountId: acct, destroy: q[1].ids }, 'd']]);
    return { ids: q[1].ids, res: d[1] };
  }, [sharedAcct, 'Plans for Q1']);
  check(direct.ids.length === 1 && direct.res.notDestroyed && direct.res.notDestroyed[direct.ids[0]]?.type === 'forbidden',
    'the server refuses the destroy too: ' + JSON.stringify(direct.res.notDestroyed));

  // Push: OWNER adds a message to Projects; it shows up for READER.
  const added = await a.evaluate(async () => {
    const s = await (await fetch('/jmap/session')).json();
    const acct = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    const call = async (calls) => (await (await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: calls }) })).json()).methodResponses;
    const [m] = await call([['Mailbox/query', { accountId: acct, filter: { name: 'Projects' } }, 'm']]);
    const [e] = await call([['Email/set', { accountId: acct, create: { n: { mailboxIds: { [m[1].ids[0]]: true }, subject: 'Pushed note',
      from: [{ email: 'alice@example.org' }], textBody: [{ partId: 't', type: 'text/plain' }], bodyValues: { t: { value: 'New.' } } } } }, 'e']]);
    return e[1].created && e[1].created.n;
  });
  check(!!added, 'the owner adds a message to Projects');
  await list.getByRole('option').filter({ hasText: 'Pushed note' }).waitFor({ timeout: 15000 });
  check(true, 'the new message shows up in the shared folder by push');


  // A share given while READER is signed in: a new account state, so the
  // app reads the session again and the folder appears.
  const team = await a.evaluate(async (reader) => {
    const s = await (await fetch('/jmap/session')).json();
    const acct = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    const call = async (calls) => (await (await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:principals'], methodCalls: calls }) })).json()).methodResponses;
    const [p] = await call([['Principal/query', { accountId: acct, filter: { email: reader + '@' } }, 'p']]);
    const [m] = await call([['Mailbox/set', { accountId: acct, create: { t: { name: 'Team', shareWith: { [p[1].ids[0]]: { mayReadItems: true } } } } }, 'm']]);
    return m[1].created && m[1].created.t;
  }, READER);
  check(!!team, 'the owner makes a folder "Team" shared with the reader');
  await sharedTree.getByRole('treeitem', { name: /^Team/ }).waitFor({ timeout: 15000 });
  check(true, 'a folder shared while the reader is signed in appears by push');

  // The public folders.
  const pub = b.getByRole('tree', { name: 'Public folders' }).getByRole('treeitem', { name: /^Announcements/ });
  await pub.click();
  await list.getByRole('option').filter({ hasText: 'Office closed Friday' }).click();
  await b.locator('.reader .text-body', { hasText: 'The office is closed on Friday.' }).waitFor();
  check(await reader.getByRole('button', { name: 'Delete' }).count() === 0 && await reader.getByRole('button', { name: /^Mark (read|unread)$/ }).count() === 0,
    'a public folder is read with its rights: no delete, no mark read');
  await axe(b, 'the mail view with shared and public folders');
  if (SHOTS) await b.screenshot({ path: join(SHOTS, 'mail-shared.png') });

  // OWNER takes the share of Team away in the settings while READER has
  // it open; it leaves READER's tree by push and the Inbox opens.
  await sharedTree.getByRole('treeitem', { name: /^Team/ }).click();
  await b.getByText('No messages').waitFor();
  await a.reload();
  const sec2 = a.getByRole('region', { name: 'Sharing' });
  await sec2.getByLabel('Folder, calendar or address book').selectOption({ label: 'Team (shared with 1)' });
  await sec2.getByRole('button', { name: 'Remove Bob Baker' }).click();
  await sec2.getByText('Bob Baker no longer has access to “Team”.').waitFor();
  await sec2.getByText('Not shared with anyone.').waitFor();
  await sharedTree.getByRole('treeitem', { name: /^Team/ }).waitFor({ state: 'detached', timeout: 15000 });
  check(await sharedTree.getByRole('treeitem', { name: /^Projects/ }).count() === 1, 'a share removed in the settings leaves the reader\'s tree by push; Projects stays');
  await b.getByText('The open folder is no longer there (deleted, or no longer shared with you).').waitFor();
  await b.waitForFunction(() => document.querySelector('[role=treeitem][data-role=inbox]')?.getAttribute('aria-selected') === 'true');
  check(true, 'the open folder gone, the Inbox opens and the user is told');
  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join('; '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  for (const [k, p] of pages.entries()) {
    await p.screenshot({ path: join(ARTIFACTS, `failure-${k}.png`) }).catch(() => {});
    writeFileSync(join(ARTIFACTS, `failure-${k}.html`), await p.content().catch(() => ''));
  }
}
for (const [k, p] of pages.entries()) await p.context().tracing.stop(failed ? { path: join(ARTIFACTS, `trace-${k}.zip`) } : undefined);
await browser.close();
process.exit(failed ? 1 : 0);
