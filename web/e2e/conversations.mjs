// Conversations, identities and signatures, forwarding and inline images
// in Debian's Chromium (TestWebClientConversations seeds the mailbox and
// checks over IMAP what the browser sent). Env: BASE, USER, PASS, RCPT,
// SENDAS (an address USER may send as), ARTIFACTS, SHOTS.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, RCPT, SENDAS, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const appErrors = [];
page.on('console', (m) => { if (m.type() === 'error' && (m.location().url || '').includes('/assets/')) appErrors.push(m.text()); });
page.on('pageerror', (e) => appErrors.push(String(e)));
const uploads = [];
const outside = [];
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.pathname.startsWith('/jmap/upload/')) uploads.push(r.url());
  if (u.origin !== new URL(BASE).origin && !u.protocol.startsWith('data') && u.protocol !== 'about:') outside.push(r.url());
});

const list = () => page.locator('#message-list');
const rowOf = (subject) => list().getByRole('option').filter({ hasText: subject });
const composer = () => page.getByRole('dialog', { name: 'New message' });
const body = () => composer().locator('#c-body');

async function signIn(p) {
  await p.goto(BASE + '/');
  await p.getByLabel('Address or login name').fill(USER);
  await p.getByLabel('Password').fill(PASS);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.locator('#message-list .row[data-id]').first().waitFor();
}

let failed = false;
try {
  await signIn(page);

  // Flat view (the default): each message of the conversation its row.
  const toggle = page.getByRole('button', { name: 'Conversations' });
  check(await toggle.getAttribute('aria-pressed') === 'false', 'the list starts flat');
  await rowOf('Project plan').first().waitFor();
  check(await rowOf('Project plan').count() === 2, 'flat: the two Inbox messages of the conversation are two rows');

  // Conversation view: one row, with the count of its messages outside
  // Trash (Inbox two, Sent one; the one in Trash left out).
  await toggle.click();
  await page.getByRole('listbox', { name: 'Conversations' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('#message-list .row')].some((r) => r.textContent.includes('3 messages')));
  check(await rowOf('Project plan').count() === 1, 'conversations: the conversation is one row');
  check((await rowOf('Project plan').textContent()).includes('3 messages'), 'its row counts 3 messages (Trash left out)');
  check(await rowOf('Project plan').evaluate((e) => e.classList.contains('unread')), 'the row is unread while one of its messages is');
  // Remembered in the browser.
  await page.reload();
  await page.locator('#message-list .row[data-id]').first().waitFor();
  check(await page.getByRole('button', { name: 'Conversations' }).getAttribute('aria-pressed') === 'true', 'the conversation view is remembered after a reload');
  await page.waitForFunction(() => [...document.querySelectorAll('#message-list .row')].some((r) => r.textContent.includes('3 messages')));

  // The reader: the conversation oldest first, the newest expanded.
  await rowOf('Project plan').click();
  const conv = page.getByRole('list', { name: 'Messages of the conversation' });
  await conv.waitFor();
  const heads = conv.locator('li > .conv-head');
  await page.waitForFunction(() => document.querySelectorAll('.conversation > li').length === 3);
  const who = (await heads.locator('.who').allTextContents()).map((s) => s.toLowerCase());
  check(who.length === 3 && who[0].includes('carol') && who[1].includes('bob') && who[2].includes('carol'), `oldest first: ${who.join(' | ')}`);
  check(await heads.nth(2).getAttribute('aria-expanded') === 'true', 'the newest is expanded');
  check(await heads.nth(0).getAttribute('aria-expanded') === 'false' && await heads.nth(1).getAttribute('aria-expanded') === 'false', 'the older ones are collapsed');
  check((await conv.textContent()).includes('Carol answers the plan'), "the newest one's body is shown");
  check(!(await page.locator('.reader').textContent()).includes('Thrown away'), 'the message in Trash is not in the conversation');
  await heads.nth(1).click();
  await conv.locator('li').nth(1).locator('.text-body').waitFor();
  check((await conv.locator('li').nth(1).textContent()).includes('Bob proposes a plan'), 'a click expands the message from Sent');
  // Read on open: the newest (unread) one, and with it the row.
  await page.waitForFunction(() => { const r = [...document.querySelectorAll('#message-list .row')].find((x) => x.textContent.includes('Project plan')); return r && !r.classList.contains('unread'); });
  check(true, 'opening the conversation marks its unread message read (the row too)');
  // A reply arriving while the conversation is open (made here over
  // JMAP, as any client could) joins it, collapsed, by push.
  await page.evaluate(async () => {
    const s = await (await fetch('/jmap/session')).json();
    const accountId = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    const call = async (calls) => (await (await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: calls }) })).json()).methodResponses;
    const [[, q]] = await call([['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q']]);
    await call([['Email/set', { accountId, create: { n: { mailboxIds: { [q.ids[0]]: true }, from: [{ name: 'Carol', email: 'carol@example.org' }],
      to: [{ email: 'bob@example.org' }], subject: 'Re: Project plan', messageId: ['plan-e@example.org'], inReplyTo: ['plan-a@example.org'], references: ['plan-a@example.org'],
      bodyValues: { t: { value: 'Carol adds one more thing.' } }, textBody: [{ partId: 't', type: 'text/plain' }] } } }, 's']]);
  });
  await page.waitForFunction(() => document.querySelectorAll('.conversation > li').length === 4);
  const joined = conv.locator('li').nth(3);
  check((await joined.locator('.who').textContent()).includes('Carol') && await joined.locator('.conv-head').getAttribute('aria-expanded') === 'false',
    'a reply that arrives joins the open conversation, collapsed');
  check(await conv.locator('li').nth(1).locator('.conv-head').getAttribute('aria-expanded') === 'true', 'what was expanded stays expanded');
  await page.waitForFunction(() => [...document.querySelectorAll('#message-list .row')].some((r) => r.textContent.includes('4 messages')));
  check(true, 'the row counts it (4 messages)');
  await page.waitForFunction(() => { const r = document.querySelector('#message-list .row.cursor'); return r && r.textContent.includes('Project plan'); });
  check(await page.locator('#message-list .row.cursor').count() === 1, "the conversation's row, now first, is still the selected one");
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'conversation.png') });

  // Inline images: the cid: part shows, from the message itself; not
  // remote content.
  await rowOf('With picture').click();
  const frame = page.frameLocator('iframe.html-body');
  await frame.locator('#pic').waitFor();
  const src = await frame.locator('#pic').getAttribute('src');
  check(src.startsWith(new URL(BASE).origin + '/jmap/download/'), `the cid: image points at the message's part (${src})`);
  await page.waitForFunction(() => { const f = document.querySelector('iframe.html-body'); const i = f && f.contentDocument && f.contentDocument.getElementById('pic'); return i && i.complete && i.naturalWidth > 0; });
  check(true, 'the inline image loaded');
  check(await frame.locator('#far').getAttribute('src') === null && await page.locator('.remote-banner').count() === 1,
    'the remote image of the same message stays blocked (the banner is for it): the inline one is not remote content');

  // Forward: the original's attachments go along, not uploaded again.
  await page.locator('.reader .toolbar').getByRole('button', { name: 'Forward' }).click();
  await composer().waitFor();
  const files = composer().getByRole('list', { name: 'Attachments' });
  await files.waitFor();
  const names = await files.locator('.name').allTextContents();
  check(names.includes('data.txt') && names.includes('logo.png'), `the forward carries the attachments (${names.join(', ')})`);
  await composer().getByRole('combobox', { name: 'To' }).fill(RCPT);
  await composer().getByRole('button', { name: 'Send' }).click();
  await composer().waitFor({ state: 'detached' });
  check(uploads.length === 0, `nothing was uploaded for the forward (${uploads.length})`);

  // Settings → Signatures: one for the own address, one for the send-as.
  await page.goto(BASE + '/settings');
  const sigs = page.getByRole('region', { name: 'Signatures' });
  await sigs.waitFor();
  const own = sigs.getByRole('form', { name: new RegExp(`<?${USER}@`) }).first();
  await own.waitFor();
  await own.getByLabel('Signature (plain text)').fill('Bob Example\nRoost team');
  await own.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`Signature of ${USER}@example.org saved.`).waitFor();
  const other = sigs.getByRole('form', { name: new RegExp(SENDAS.replace('.', '\\.')) });
  // Only an HTML signature here: the composer uses its text.
  await other.getByLabel('Signature (rich text, HTML)').fill('<p>The <b>Info</b> Desk</p>');
  await other.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`Signature of ${SENDAS} saved.`).waitFor();
  check(true, 'both signatures saved');
  await page.reload();
  await page.getByRole('region', { name: 'Signatures' }).getByLabel('Signature (plain text)').first().waitFor();
  const kept = await page.getByRole('region', { name: 'Signatures' }).locator('textarea').evaluateAll((l) => l.map((e) => e.value));
  check(kept.includes('Bob Example\nRoost team') && kept.includes('<p>The <b>Info</b> Desk</p>'), 'the signatures are kept by the server');

  // Compose: the own signature, swapped for the send-as one with From.
  await page.goto(BASE + '/');
  await page.locator('#message-list .row[data-id]').first().waitFor();
  await page.locator('body').press('c');
  await composer().waitFor();
  check((await body().inputValue()).endsWith('-- \nBob Example\nRoost team'), 'a new message ends with the signature');
  const fromOpts = await composer().getByLabel('From').locator('option').allTextContents();
  check(fromOpts.some((o) => o.includes(SENDAS)), `From offers the send-as address (${fromOpts.join(' | ')})`);
  const sendAsValue = await composer().getByLabel('From').locator('option', { hasText: SENDAS }).getAttribute('value');
  await composer().getByLabel('From').selectOption(sendAsValue);
  const swapped = await body().inputValue();
  check(swapped.includes('-- \nThe Info Desk') && !swapped.includes('Bob Example'), 'changing From swaps the signature');
  await composer().getByRole('combobox', { name: 'To' }).fill(RCPT);
  await composer().getByLabel('Subject').fill('Signed as the desk');
  await body().press('Control+Home');
  await body().pressSequentially('Hello from the desk.');
  await composer().getByRole('button', { name: 'Send' }).click();
  await composer().waitFor({ state: 'detached' });

  // On behalf: offered for the send-as address only; the message then
  // names bob as its Sender (checked over IMAP).
  await page.locator('body').press('c');
  await composer().waitFor();
  const onBehalf = composer().getByLabel(/On behalf/);
  check(await onBehalf.count() === 0, 'no "on behalf" for the own address');
  await composer().getByLabel('From').selectOption(sendAsValue);
  await onBehalf.waitFor();
  await onBehalf.check();
  await composer().getByRole('combobox', { name: 'To' }).fill(RCPT);
  await composer().getByLabel('Subject').fill('On behalf of the desk');
  await composer().getByRole('button', { name: 'Send' }).click();
  await composer().waitFor({ state: 'detached' });

  // Rich text: the signature swapped there too.
  await page.locator('body').press('c');
  await composer().waitFor();
  await composer().getByRole('button', { name: 'Rich text' }).click();
  const area = composer().locator('.rich-area');
  await area.waitFor();
  check((await area.innerText()).includes('Bob Example'), 'rich text keeps the signature');
  await composer().getByLabel('From').selectOption(sendAsValue);
  let richText = await area.innerText();
  check(richText.includes('The Info Desk') && !richText.includes('Bob Example'), 'rich text: changing From swaps the signature');
  const ownValue = await composer().getByLabel('From').locator('option', { hasText: `${USER}@` }).getAttribute('value');
  await composer().getByLabel('From').selectOption(ownValue);
  richText = await area.innerText();
  check(richText.includes('Roost team') && !richText.includes('The Info Desk'), 'rich text: and back');
  await composer().getByRole('button', { name: 'Discard' }).click();
  await composer().waitFor({ state: 'detached' });

  // Reply: the signature above the quote.
  await rowOf('Project plan').click();
  await page.getByRole('list', { name: 'Messages of the conversation' }).waitFor();
  await page.locator('.reader .toolbar').getByRole('button', { name: 'Reply', exact: true }).click();
  await composer().waitFor();
  const reply = await body().inputValue();
  check(reply.indexOf('Bob Example') > 0 && reply.indexOf('Bob Example') < reply.indexOf('\n> '), 'a reply has the signature above the quote');
  await body().press('Control+Home');
  await body().pressSequentially('Agreed.');
  await composer().getByRole('button', { name: 'Send' }).click();
  await composer().waitFor({ state: 'detached' });

  // Back to the flat view.
  await page.getByRole('button', { name: 'Conversations' }).click();
  await page.getByRole('listbox', { name: 'Messages' }).waitFor();
  check(await page.evaluate(() => localStorage.getItem('roost.view')) === 'flat', 'the flat view is remembered');

  // Accessibility: the conversation view and the signatures, light and dark.
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const p = await ctx.newPage();
  const axe = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  const scan = async (name) => {
    await p.addScriptTag({ path: axe });
    const r = await p.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    console.log(`axe ${name}: ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')}), ${bad.length} serious or critical`);
    check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
  };
  try {
    await signIn(p);
    await p.evaluate(() => localStorage.setItem('roost.view', 'threads'));
    for (const scheme of ['light', 'dark']) {
      await p.emulateMedia({ colorScheme: scheme });
      await p.goto(BASE + '/');
      await p.getByRole('listbox', { name: 'Conversations' }).getByRole('option').filter({ hasText: 'Project plan' }).click();
      await p.getByRole('list', { name: 'Messages of the conversation' }).waitFor();
      await p.locator('.toast:empty').waitFor({ state: 'attached' });
      await scan(`the conversation view (${scheme})`);
      await p.goto(BASE + '/settings');
      await p.getByRole('region', { name: 'Signatures' }).getByLabel('Signature (plain text)').first().waitFor();
      await scan(`the signatures (${scheme})`);
    }
  } finally {
    await ctx.close();
  }
  check(outside.length === 0, `nothing requested outside the server (${outside.join(', ')})`);
  check(appErrors.length === 0, `no errors from the app (${appErrors.join('; ')})`);
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
