// The archive store in the web client (TestWebClientArchive archives one
// message of USER's Inbox first): an "Online Archive" section under the
// folders lists the read-only archive account's folders; its message
// opens in the reader, with no attempt to mark it read; "Copy to my
// folders" copies it into the user's own Inbox (Email/copy).
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { BASE, USER, PASS, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const calls = [];
page.on('request', (r) => {
  if (r.url().endsWith('/jmap/api/') && r.method() === 'POST') {
    const body = JSON.parse(r.postData() || '{}');
    for (const [name, args] of body.methodCalls || []) calls.push([name, args.accountId]);
  }
});
let failed = false;
try {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Online Archive' }).waitFor();
  check(true, 'the folder list has an Online Archive section');
  const archive = page.getByRole('list', { name: 'Online Archive' });
  await archive.getByRole('button', { name: 'Inbox' }).click();
  const row = page.locator('#message-list .row[data-id]').first();
  await row.waitFor();
  check((await row.textContent()).includes('From the old days'), 'the archived message is listed');
  const sess = await page.evaluate(async () => (await fetch('/jmap/session')).json());
  const archiveId = Object.keys(sess.accounts).find((id) => sess.accounts[id].isReadOnly);
  check(!!archiveId, 'the session has a read-only account');
  check(calls.some(([n, a]) => n === 'Email/query' && a === archiveId), 'the list was read from the archive account');
  await row.click();
  await page.getByRole('heading', { name: 'From the old days' }).waitFor();
  check((await page.locator('.reader').textContent()).includes('Kept in the archive.'), 'the reader shows the archived body');
  check(await page.getByRole('button', { name: 'Delete', exact: true }).count() === 0 && await page.getByRole('button', { name: 'Flag' }).count() === 0,
    'the reader offers no flag, move or delete in the archive');
  await page.locator('body').press('s');
  await page.getByText('The archive is read-only.').waitFor();
  check(true, 'the flag shortcut says the archive is read-only');
  await page.waitForTimeout(1200);
  check(!calls.some(([n, a]) => n === 'Email/set' && a === archiveId), 'opening an archived message does not try to mark it read');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'archive.png') });

  // "Copy to my folders": Email/copy from the archive account into the
  // user's own Inbox; the archived message stays.
  const inOwnInbox = () => page.evaluate(async () => {
    const s = await (await fetch('/jmap/session')).json();
    const acct = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    const call = async (calls) => (await (await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: calls }) })).json()).methodResponses;
    const [m] = await call([['Mailbox/query', { accountId: acct, filter: { role: 'inbox' } }, 'm']]);
    const [q] = await call([['Email/query', { accountId: acct, filter: { inMailbox: m[1].ids[0], subject: 'From the old days' } }, 'q']]);
    return q[1].ids.length;
  });
  const before = await inOwnInbox();
  await page.getByRole('toolbar', { name: 'Message' }).getByRole('button', { name: 'Copy to my folders' }).click();
  const dlg = page.getByRole('dialog', { name: 'Copy to my folders' });
  await dlg.getByRole('list', { name: 'My folders' }).getByRole('button', { name: 'Inbox' }).click();
  await page.locator('.toast').filter({ hasText: 'Copied to Inbox.' }).waitFor();
  check(calls.some(([n, a]) => n === 'Email/copy' && a !== archiveId) && await inOwnInbox() === before + 1, 'Copy to my folders copies the archived message into the own Inbox');
  check(await page.locator('#message-list .row[data-id]').count() === 1, 'the archived message stays in the archive');
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
