// The web client's remaining mail gaps (issue 12 item 2) in Debian's
// Chromium: search with the JMAP filters (the box's syntax and the
// advanced form). TestWebClientMail2 seeds the mailbox. Env: BASE, USER,
// PASS, ARTIFACTS.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, ARTIFACTS, REMOTE } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'light', timezoneId: 'UTC' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
context.on('page', (p) => p.on('request', (r) => { if (/^\/pwned-/.test(new URL(r.url()).pathname)) pwned.push(r.url()); }));
const appErrors = [];
page.on('console', (m) => { if (m.type() === 'error' && (m.location().url || '').includes('/assets/')) appErrors.push(m.text()); });
page.on('pageerror', (e) => appErrors.push(String(e)));
const queries = [];
const remoteHits = [];
const pwned = [];
page.on('request', (r) => {
  if (r.url().startsWith(REMOTE)) remoteHits.push(new URL(r.url()).pathname);
  if (/^\/pwned-(html|pdf)/.test(new URL(r.url()).pathname)) pwned.push(r.url());
  if (new URL(r.url()).pathname === '/jmap/api/' && r.method() === 'POST') {
    for (const c of (JSON.parse(r.postData() || '{}').methodCalls || [])) if (c[0] === 'Email/query') queries.push(c[1].filter);
  }
});

async function signIn(p) {
  await p.goto(BASE + '/');
  await p.getByLabel('Address or login name').fill(USER);
  await p.getByLabel('Password').fill(PASS);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.locator('#message-list .row[data-id]').first().waitFor();
}

// rows waits until the list shows exactly the subjects want (sorted).
async function rows(want, what) {
  const key = [...want].sort().join('|');
  try {
    await page.waitForFunction((k) => [...document.querySelectorAll('#message-list .row[data-id] .subject')].map((e) => [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim()).sort().join('|') === k, key, { timeout: 10000 });
  } catch { /* reported by check */ }
  const got = (await page.locator('#message-list .row[data-id] .subject').evaluateAll((l) => l.map((e) => [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim()))).sort();
  check(got.join('|') === key, `${what}: ${got.join(', ')}`);
}
async function search(q) {
  await page.locator('#search').fill(q);
  await page.locator('#search').press('Enter');
}
const rowOf = (subject) => page.locator('#message-list .row[data-id]').filter({ hasText: subject });
const lastQuery = () => JSON.stringify(queries[queries.length - 1]);

let failed = false;
try {
  await signIn(page);
  const inboxAll = ['Budget 2026', 'Budget draft', 'Budget sheet', 'Files to look at', 'Newsletter one', 'Newsletter two', 'Promotion'];
  await rows(inboxAll, 'the Inbox');

  // The box's syntax.
  await search('budget after:2026-02-01');
  await rows(['Budget draft', 'Budget sheet'], 'after:2026-02-01');
  check(lastQuery().includes('"after":"2026-02-01T00:00:00Z"') && lastQuery().includes('"inMailbox"'), `after is a JMAP after condition in the folder: ${lastQuery()}`);
  await search('budget before:2026-02-01');
  await rows(['Budget 2026'], 'before:2026-02-01');
  await search('from:dave');
  await rows(['Budget draft', 'Budget sheet'], 'from:dave');
  await search('from:dave has:attachment');
  await rows(['Budget sheet'], 'has:attachment');
  check(lastQuery().includes('"hasAttachment":true'), 'has:attachment is hasAttachment');
  await search('subject:"Budget 2026"');
  await rows(['Budget 2026'], 'a quoted subject');
  await search('to:carol');
  await rows([], 'to:carol in the Inbox: nothing');
  await search('to:carol in:all');
  await rows(['Budget reply'], 'to:carol in:all finds the one in Sent');
  check(!lastQuery().includes('inMailbox'), `in:all leaves inMailbox out: ${lastQuery()}`);
  check((await rowOf('Budget reply').textContent()).includes('In Sent'), 'the result names its folder');

  // A date that is none: said, nothing sent.
  const before = queries.length;
  await search('after:2026-13-01');
  await page.locator('.toast').filter({ hasText: 'Not understood: after:2026-13-01' }).waitFor();
  check(queries.length === before, 'a bad date sends no query');
  // Bounded input.
  check(await page.locator('#search').getAttribute('maxlength') === '500', 'the search box takes at most 500 characters');

  // The advanced form: fields written as the box's syntax.
  await search('');
  await page.locator('#search').fill('');
  await page.getByRole('button', { name: 'Advanced search' }).click();
  const dlg = page.getByRole('dialog', { name: 'Advanced search' });
  await dlg.waitFor();
  await dlg.getByLabel('Subject').fill('Budget');
  await dlg.getByLabel('Received on or after').fill('2026-02-01');
  await dlg.getByLabel('All folders').check();
  await dlg.getByRole('button', { name: 'Search', exact: true }).click();
  await rows(['Budget draft', 'Budget reply', 'Budget sheet'], 'the form: subject, after, all folders');
  check(await page.locator('#search').inputValue() === 'subject:Budget after:2026-02-01 in:all', `the box shows the form's query: ${await page.locator('#search').inputValue()}`);
  check((await rowOf('Budget draft').textContent()).includes('In Inbox'), 'an Inbox result names its folder');
  // Reopened, the form reads the box back; Has an attachment narrows it.
  await page.getByRole('button', { name: 'Advanced search' }).click();
  check(await dlg.getByLabel('Subject').inputValue() === 'Budget' && await dlg.getByLabel('All folders').isChecked(), 'the form reads the box back');
  await dlg.getByLabel('Has an attachment').check();
  await dlg.getByRole('button', { name: 'Search', exact: true }).click();
  await rows(['Budget sheet'], 'the form: with an attachment');
  await page.getByRole('button', { name: 'Advanced search' }).click();
  await dlg.getByRole('button', { name: 'Clear' }).click();
  await rows(inboxAll, 'cleared: the Inbox again');

  // Remote content per sender.
  const frame = () => page.frameLocator('iframe.html-body');
  const open = async (subject) => {
    await rowOf(subject).click();
    await frame().locator('p').filter({ hasText: subject + ' body' }).waitFor();
  };
  const banner = page.locator('.remote-banner');
  await open('Newsletter one');
  await banner.filter({ hasText: 'Remote content' }).first().waitFor();
  check(remoteHits.length === 0, 'a newsletter: remote content blocked, nothing requested');
  await banner.getByRole('button', { name: 'Always show from news@example.com' }).click();
  await page.waitForFunction(() => document.querySelector('iframe.html-body')?.contentDocument?.querySelector('#img')?.getAttribute('src')?.startsWith('http'));
  await page.waitForTimeout(300);
  check(remoteHits.includes('/news1.png'), `trusted: its image is fetched (${remoteHits})`);
  await banner.filter({ hasText: 'you trust news@example.com' }).waitFor();
  // Another message of the sender (its From in other case): shown at once.
  await open('Newsletter two');
  await page.waitForFunction(() => document.querySelector('iframe.html-body')?.contentDocument?.querySelector('#img')?.getAttribute('src')?.startsWith('http'));
  check(await banner.filter({ hasText: 'you trust news@example.com' }).count() === 1, 'the same sender: shown, and the note says why');
  // Someone else: still blocked.
  await open('Promotion');
  await banner.getByRole('button', { name: 'Show remote content' }).waitFor();
  check(!remoteHits.includes('/promo.png'), 'another sender stays blocked');
  // Kept on the server: another session (a fresh context) shows it too.
  const other = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const op = await other.newPage();
  await signIn(op);
  await op.locator('#message-list .row[data-id]').filter({ hasText: 'Newsletter two' }).click();
  await op.locator('.remote-banner').filter({ hasText: 'you trust news@example.com' }).waitFor();
  check(true, 'another browser session trusts the sender too');
  // Revoked in Settings: blocked again.
  await op.goto(BASE + '/settings');
  const sec = op.getByRole('region', { name: 'Remote content' });
  await sec.getByText('news@example.com').waitFor();
  await sec.getByRole('button', { name: 'Stop trusting news@example.com' }).click();
  await sec.getByText('No sender is trusted').waitFor();
  check(true, 'Settings removes the sender');
  await other.close();
  await page.reload();
  await page.locator('#message-list .row[data-id]').first().waitFor();
  const before2 = remoteHits.length;
  await open('Newsletter two');
  await banner.getByRole('button', { name: 'Show remote content' }).waitFor();
  check(remoteHits.length === before2, 'revoked: the sender\'s mail is blocked again');

  // Attachment preview: the image in a dialog, the PDF in the browser's
  // viewer; the HTML attachment has no preview and, opened or framed
  // anyway, cannot script the app (the download is sandboxed).
  await rowOf('Files to look at').click();
  const atts = page.getByRole('list', { name: 'Attachments' });
  await atts.waitFor();
  check(await atts.getByRole('button', { name: 'Preview of pixel.png' }).count() === 1 && await atts.getByRole('button', { name: 'Preview of doc.pdf' }).count() === 1, 'the image and the PDF have a preview');
  check(await atts.getByRole('button', { name: 'Preview of page.html' }).count() === 0, 'the HTML page has none');
  await atts.getByRole('button', { name: 'Preview of pixel.png' }).click();
  const pv = page.getByRole('dialog', { name: 'Preview of pixel.png' });
  await pv.waitFor();
  await page.waitForFunction(() => { const i = document.querySelector('.preview-box img'); return i && i.complete && i.naturalWidth === 1; });
  check(true, 'the image is shown in the dialog');
  await pv.getByRole('button', { name: 'Close' }).click();
  await atts.getByRole('button', { name: 'Preview of doc.pdf' }).click();
  const pdfDialog = page.getByRole('dialog', { name: 'Preview of doc.pdf' });
  await pdfDialog.waitFor();
  const viewer = async () => {
    for (let k = 0; k < 50; k++) {
      // Chromium's PDF viewer: its extension's frame, and the PDF's
      // document an <embed> of it.
      const fs = page.frames();
      let embed = false;
      for (const f of fs) if (f.url().includes('/doc.pdf') && (await f.content().catch(() => '')).includes('<embed')) embed = true;
      if (embed && fs.some((f) => f.url().startsWith('chrome-extension://') && f.url().endsWith('/index.html'))) return true;
      await page.waitForTimeout(200);
    }
    return false;
  };
  check(await viewer(), 'the PDF opens in the browser\'s viewer');
  // Chromium parses the PDF and runs its scripts in the viewer's own
  // origin (its extension), not the app's; the PDF's OpenAction script,
  // which tries to open, submit to and fetch /pwned-pdf, reaches nothing.
  const origins = [];
  for (const f of page.frames()) origins.push(await f.evaluate(() => self.origin).catch(() => '?'));
  check(origins.some((o) => o.startsWith('chrome-extension://')), `the PDF is shown by the viewer in its own origin (${origins.join(', ')})`);
  await page.waitForTimeout(500);
  check(pwned.length === 0 && context.pages().length === 1, `the PDF's script reached nothing (${pwned})`);
  await pdfDialog.getByRole('button', { name: 'Close' }).click();
  const htmlURL = await atts.getByRole('link', { name: /page\.html/ }).getAttribute('href');
  const bare = htmlURL.replace(/\/page\.html\?/, '/?');
  // Framed by the app (inline, no name: the worst case).
  await page.evaluate((u) => { const f = document.createElement('iframe'); f.id = 'evil'; f.src = u; document.body.append(f); }, bare);
  await page.waitForTimeout(1000);
  const framed = page.frames().find((f) => f.url().includes(bare.split('?')[0]));
  check(!!framed && (await framed.content()).includes('attached page'), 'the HTML attachment renders when framed');
  check(await page.evaluate(() => document.getElementById('evil').contentDocument === null), 'framed, it is not of the app\'s origin');
  check(await page.title() !== 'pwned' && pwned.length === 0, 'framed, its script did not run');
  await page.evaluate(() => document.getElementById('evil').remove());
  // Opened directly in a tab.
  const tab = await context.newPage();
  tab.on('request', (r) => { if (/^\/pwned-/.test(new URL(r.url()).pathname)) pwned.push(r.url()); });
  await tab.goto(BASE + bare);
  await tab.locator('#p').waitFor();
  check(await tab.title() !== 'pwned' && pwned.length === 0, 'opened directly, its script does not run');
  check(await tab.evaluate(() => self.origin) === 'null', 'opened directly, it is in an opaque origin (no cookie, no app)');
  await tab.close();

  // Keywords as tags: added in the reader (Email/set keywords), shown in
  // the list, searched by clicking one (hasKeyword), removed.
  await search('budget');
  await rows(['Budget 2026', 'Budget draft', 'Budget sheet'], 'budget in the Inbox');
  const tagIn = async (subject, tag) => {
    await rowOf(subject).click();
    await page.locator('#reader-subject').filter({ hasText: subject }).waitFor();
    await page.getByLabel('Add a tag').fill(tag);
    await page.getByRole('button', { name: 'Tag', exact: true }).click();
  };
  await tagIn('Budget 2026', 'Project-X');
  const tagList = page.getByRole('list', { name: 'Tags' });
  await tagList.getByRole('button', { name: 'project-x', exact: true }).waitFor();
  check(true, 'the tag is shown in the reader, lowercased');
  await page.waitForFunction(() => [...document.querySelectorAll('#message-list .row')].some((r) => r.textContent.includes('Budget 2026') && r.querySelector('.tags-inline')?.textContent.includes('project-x')));
  check(true, "the tag is shown in the message's row");
  await tagIn('Budget draft', 'project-x');
  await tagList.getByRole('button', { name: 'project-x', exact: true }).waitFor();
  await tagIn('Budget draft', 'later');
  await tagList.getByRole('button', { name: 'later', exact: true }).waitFor();
  // A tag that is no keyword: said, nothing sent.
  await page.getByLabel('Add a tag').fill('two words');
  await page.getByRole('button', { name: 'Tag', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'A tag is one word' }).waitFor();
  check(await tagList.getByRole('listitem').count() === 2, 'a bad tag is refused in words');
  // Remove one; filter by the other.
  await tagList.getByRole('button', { name: 'Remove tag later' }).click();
  await page.waitForFunction(() => !document.querySelector('.tag-list')?.textContent.includes('later'));
  await tagList.getByRole('button', { name: 'project-x', exact: true }).click();
  await rows(['Budget 2026', 'Budget draft'], 'clicking a tag lists the messages with it');
  check(await page.locator('#search').inputValue() === 'tag:project-x' && lastQuery().includes('"hasKeyword":"project-x"'), `the search is tag:project-x, hasKeyword (${lastQuery()})`);
  // Removing it from one: the other stays (checked over IMAP too).
  await rowOf('Budget draft').click();
  await page.locator('#reader-subject').filter({ hasText: 'Budget draft' }).waitFor();
  await tagList.getByRole('button', { name: 'Remove tag project-x' }).click();
  await search('tag:project-x');
  await rows(['Budget 2026'], 'after removing it from one');
  // A tag set over IMAP shows too (the Go test sets "imap-tag" before).
  await search('tag:imap-tag');
  await rows(['Budget sheet'], 'a keyword set over IMAP is a tag');
  await search('');
  // A tag for the whole selection, from the selection's toolbar.
  await rowOf('Budget 2026').click();
  await page.locator('#reader-subject').filter({ hasText: 'Budget 2026' }).waitFor();
  await rowOf('Budget draft').click({ modifiers: ['Control'] });
  const bulk = page.getByRole('toolbar', { name: 'Selected messages' });
  await bulk.getByText('2 selected').waitFor();
  await bulk.getByLabel('Add a tag to the selected messages').fill('q3');
  await bulk.getByRole('button', { name: 'Tag', exact: true }).click();
  await page.waitForFunction(() => ['Budget 2026', 'Budget draft'].every((s) => [...document.querySelectorAll('#message-list .row')].some((r) => r.textContent.includes(s) && r.querySelector('.tags-inline')?.textContent.includes('q3'))));
  check(true, 'a tag added to the selection shows on both rows');
  await bulk.getByLabel('Add a tag to the selected messages').fill('two words');
  await bulk.getByRole('button', { name: 'Tag', exact: true }).click();
  await bulk.getByRole('alert').filter({ hasText: 'A tag is one word' }).waitFor();
  check(true, 'a bad tag for the selection is refused in words');
  await page.keyboard.press('Escape');
  await search('tag:q3');
  await rows(['Budget 2026', 'Budget draft'], 'the tag was stored on both (hasKeyword finds them)');
  await search('');

  // Accessibility, light and dark: the list of an all-folders search and
  // the advanced form.
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
    for (const scheme of ['light', 'dark']) {
      await p.emulateMedia({ colorScheme: scheme });
      await p.goto(BASE + '/');
      await p.locator('#message-list .row[data-id]').first().waitFor();
      await p.locator('#search').fill('budget in:all');
      await p.locator('#search').press('Enter');
      await p.locator('#message-list .row[data-id]').filter({ hasText: 'In Sent' }).waitFor();
      await scan(`an all-folders search (${scheme})`);
      await p.getByRole('button', { name: 'Advanced search' }).click();
      await p.getByRole('dialog', { name: 'Advanced search' }).waitFor();
      await scan(`the advanced search (${scheme})`);
      await p.keyboard.press('Escape');
      await p.locator('#search').fill('files');
      await p.locator('#search').press('Enter');
      await p.locator('#message-list .row[data-id]').filter({ hasText: 'Files to look at' }).click();
      await p.getByRole('button', { name: 'Preview of pixel.png' }).click();
      await p.getByRole('dialog', { name: 'Preview of pixel.png' }).waitFor();
      await scan(`the image preview (${scheme})`);
      await p.keyboard.press('Escape');
      await p.locator('#search').fill('tag:project-x');
      await p.locator('#search').press('Enter');
      await p.locator('#message-list .row[data-id]').filter({ hasText: 'Budget 2026' }).click();
      await p.getByRole('list', { name: 'Tags' }).waitFor();
      await scan(`a tagged message (${scheme})`);
      await p.goto(BASE + '/settings');
      await p.getByRole('region', { name: 'Remote content' }).waitFor();
      await scan(`the remote content settings (${scheme})`);
    }
  } finally {
    await ctx.close();
  }
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
