// Undo send in Debian's Chromium (playwright-core), started by
// internal/app's TestWebClientUndoSend with jmap_send_delay set. The user
// sends, presses Undo in the "Sending…" toast, finds the message back in
// the composer (and in Drafts), then sends it again and lets it go. Env:
// BASE, USER, PASS, RCPT, ARTIFACTS, CHROMIUM as for mail.mjs.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { BASE, USER, PASS, RCPT, ARTIFACTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
let failed = false;
try {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();

  await page.getByRole('button', { name: 'New message' }).click();
  const c = page.getByRole('dialog', { name: 'New message' });
  await c.getByLabel('To').fill(RCPT);
  await c.getByLabel('Subject').fill('Undo me');
  await c.getByLabel('Message').fill('The first try, taken back.');
  await c.getByRole('button', { name: 'Send' }).click();
  await c.waitFor({ state: 'detached' });
  const toast = page.getByRole('status').filter({ hasText: 'Sending…' });
  await toast.getByRole('button', { name: 'Undo' }).click();
  await page.getByText('Sending undone').waitFor();
  const again = page.getByRole('dialog', { name: 'New message' });
  check(await again.getByLabel('Subject').inputValue() === 'Undo me' && await again.getByLabel('Message').inputValue() === 'The first try, taken back.',
    'Undo reopens the message in the composer');
  await again.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('treeitem', { name: /^Drafts/ }).click();
  await page.getByRole('listbox', { name: 'Messages' }).getByRole('option').filter({ hasText: 'Undo me' }).click();
  check(true, 'the message is back in Drafts');
  await page.getByRole('button', { name: 'Edit draft' }).click();
  const third = page.getByRole('dialog', { name: 'New message' });
  await third.getByLabel('Message').fill('The second try, sent.');
  await third.getByRole('button', { name: 'Send' }).click();
  await third.waitFor({ state: 'detached' });
  await page.getByRole('status').filter({ hasText: 'Sending…' }).getByRole('button', { name: 'Undo' }).waitFor();
  check(true, 'the toast offers Undo while the server holds the message');
  await page.getByText('Message sent.').waitFor({ timeout: 60000 });
  check(await page.getByRole('button', { name: 'Undo' }).count() === 0, 'after the delay: sent, no Undo');
  await page.getByRole('listbox', { name: 'Messages' }).getByRole('option').filter({ hasText: 'Undo me' }).waitFor({ state: 'detached' });
  check(true, 'no draft left behind');
  check(errors.length === 0, 'no errors from the app: ' + errors.join(' | '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  writeFileSync(join(ARTIFACTS, 'failure.html'), await page.content().catch(() => ''));
}
await context.tracing.stop(failed ? { path: join(ARTIFACTS, 'trace.zip') } : undefined);
await browser.close();
process.exit(failed ? 1 : 0);
