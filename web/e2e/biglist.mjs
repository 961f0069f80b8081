// The message list with a big Inbox (TestWebClientBigMailbox seeds TOTAL
// messages, one a minute apart). Checks the list is virtualised: few rows
// in the DOM, only the pages in view fetched (Email/query position/limit),
// a jump to the middle served without loading what lies between. Prints
// the timings it measured.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { BASE, USER, PASS, TOTAL, ARTIFACTS } = process.env;
const total = Number(TOTAL);
mkdirSync(ARTIFACTS, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const queries = [];
// timeline: what the client asked and when (ms since the start), with
// the pushes it received, printed when a check about the pages fetched
// fails (which load was a second one, and what came just before it).
const started = Date.now();
const timeline = [];
const mark = (what) => timeline.push(`${String(Date.now() - started).padStart(6)} ms ${what}`);
await page.exposeFunction('roostPushSeen', (data) => mark(`push ${data}`));
await page.addInitScript(() => {
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(...a) {
      super(...a);
      this.addEventListener('state', (e) => window.roostPushSeen(e.data));
    }
  };
});
page.on('request', (r) => {
  if (r.url().endsWith('/jmap/api/') && r.method() === 'POST') {
    const body = JSON.parse(r.postData() || '{}');
    for (const [name, args] of body.methodCalls || []) if (name === 'Email/query') queries.push(args.position);
    mark('request ' + (body.methodCalls || []).map(([name, args]) => name + (name === 'Email/query' ? `@${args.position}${args.collapseThreads ? ' threads' : ''}` : '')).join(' '));
  }
});
page.on('response', async (r) => {
  if (!r.url().endsWith('/jmap/api/') || r.request().method() !== 'POST') return;
  const body = await r.json().catch(() => null);
  const names = ((body && body.methodResponses) || []).map(([name, args]) => name + (name === 'Email/query' ? `@${args.position}` : '') + (name === 'Email/get' && args.state ? ` state ${args.state}` : '') + (name === 'Email/set' ? ` ${args.oldState}→${args.newState}` : ''));
  mark('answer ' + names.join(' '));
});
function check(cond, what) {
  if (!cond && /fetch/.test(what)) console.log('timeline:\n' + timeline.join('\n'));
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}
// The Email/set calls (their update and destroy counts) and any method
// error the server answers them with.
const setSizes = [];
const setErrors = [];
let setAnswers = 0;
page.on('request', (r) => {
  if (r.url().endsWith('/jmap/api/') && r.method() === 'POST') {
    for (const [name, args] of JSON.parse(r.postData() || '{}').methodCalls || []) {
      if (name === 'Email/set') setSizes.push(Object.keys(args.update || {}).length + (args.destroy || []).length);
    }
  }
});
page.on('response', async (r) => {
  if (!r.url().endsWith('/jmap/api/') || r.request().method() !== 'POST') return;
  const body = await r.json().catch(() => null);
  for (const [name, args] of (body && body.methodResponses) || []) {
    if (name === 'error') setErrors.push(`${args.type}: ${args.description || ''}`);
    if (name === 'Email/set' || name === 'error') setAnswers++;
    if (name === 'Email/set' && args.notUpdated && Object.keys(args.notUpdated).length) setErrors.push('notUpdated');
  }
});
let failed = false;
try {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#message-list .row[data-id]').first().waitFor();
  const firstPage = Date.now() - t0;
  console.log(`timing: first page of ${total} messages ${firstPage} ms after sign-in`);
  check(await page.locator('#message-list').getAttribute('aria-label') === 'Messages', 'the list is labelled');
  const setsize = await page.locator('#message-list .row[data-id]').first().getAttribute('aria-setsize');
  check(Number(setsize) === total, `the list knows its ${total} messages (aria-setsize ${setsize})`);
  const rows = await page.locator('#message-list .row').count();
  check(rows < 60, `only the rows in view are rendered (${rows})`);
  const height = await page.locator('#message-list .spacer').evaluate((e) => e.offsetHeight);
  check(height === total * 64, `the scroll height stands for all ${total} (${height} px)`);

  // Jump to the middle.
  const mid = Math.floor(total / 2);
  const before = queries.length;
  const t1 = Date.now();
  await page.locator('#message-list').evaluate((e, y) => { e.scrollTop = y; }, mid * 64);
  await page.locator(`#message-list .row[data-id][aria-posinset="${mid + 1}"]`).waitFor();
  console.log(`timing: rows around position ${mid} shown ${Date.now() - t1} ms after the jump`);
  const fetched = queries.slice(before);
  check(fetched.length <= 3 && fetched.every((p) => Math.abs(p - mid) <= 200), `the jump fetched only the pages in view (positions ${fetched.join(', ')})`);
  const rows2 = await page.locator('#message-list .row').count();
  check(rows2 < 60, `still only the rows in view (${rows2})`);

  // Keyboard: j opens the next message, the pane follows.
  await page.locator(`#message-list .row[data-id][aria-posinset="${mid + 1}"]`).click();
  const t2 = Date.now();
  await page.getByRole('heading', { name: 'One of many' }).waitFor();
  console.log(`timing: message opened ${Date.now() - t2} ms after the click`);
  await page.locator('body').press('j');
  await page.locator(`#message-list .row.selected[aria-posinset="${mid + 2}"]`).waitFor();
  check(true, 'j selects the next message');

  // Scroll smoothly through a few screens: rows keep arriving.
  for (let k = 1; k <= 5; k++) {
    await page.mouse.move(400, 400);
    await page.mouse.wheel(0, 2000);
    await page.waitForTimeout(50);
  }
  await page.waitForFunction(() => document.querySelectorAll('#message-list .row.placeholder').length === 0);
  check(true, 'after wheel scrolling every row in view is loaded');
  console.log(`Email/query calls in all: ${queries.length} (positions ${queries.join(', ')})`);

  // A selection past the server's maxObjectsInSet (500): every loaded
  // message (*), marked unread from the selection toolbar. The client
  // splits the change into Email/set calls the server takes.
  for (let k = 0; k < 25; k++) {
    await page.mouse.wheel(0, 2000);
    await page.waitForFunction(() => document.querySelectorAll('#message-list .row.placeholder').length === 0);
  }
  await page.locator('body').press('*');
  const status = page.locator('.bulk [role=status]');
  const selected = Number((await status.textContent()).match(/\d+/)[0]);
  check(selected > 500, `* selected every loaded message (${selected})`);
  setSizes.length = 0;
  setAnswers = 0;
  await page.locator('.bulk').getByRole('button', { name: 'Mark unread' }).click();
  for (let waited = 0; waited < 20000 && (setSizes.reduce((a, b) => a + b, 0) < selected || setAnswers < setSizes.length); waited += 100) {
    await page.waitForTimeout(100);
  }
  check(setErrors.length === 0, `no Email/set refused (${setErrors.join('; ')})`);
  check(setSizes.reduce((a, b) => a + b, 0) === selected && setSizes.every((n) => n <= 500),
    `the ${selected} updates went in Email/set calls of at most 500 (${setSizes.join(', ')})`);
  // The client's own change, already shown, costs no second fetch of
  // the pages in view when its push comes back (the push announces the
  // state the client has itself moved the list to).
  const afterSet = queries.length;
  await page.waitForTimeout(1500);
  check(queries.length === afterSet, `the push of the client's own change fetched no page again (positions ${queries.slice(afterSet).join(', ')})`);

  // A change made by another client (a message in view flagged over
  // JMAP behind the app's back) is shown: its push refreshes the pages
  // in view, each fetched once.
  const inView = await page.locator('#message-list').evaluate((el) => {
    const rows = [...el.querySelectorAll('.row[data-id]')].filter((r) => r.offsetTop >= el.scrollTop && r.offsetTop + r.offsetHeight <= el.scrollTop + el.clientHeight);
    return rows.length ? rows[0].dataset.id : null;
  });
  check(!!inView, `a row in view (${inView})`);
  const beforeExt = queries.length;
  const flagged = await page.evaluate(async (id) => {
    const s = await (await fetch('/jmap/session')).json();
    const accountId = s.primaryAccounts['urn:ietf:params:jmap:mail'];
    const r = await fetch('/jmap/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: [
        ['Email/set', { accountId, update: { [id]: { 'keywords/$flagged': true } } }, 's']] }) });
    return (await r.json()).methodResponses[0][1].updated;
  }, inView);
  check(!!flagged && inView in flagged, 'another client flagged it');
  await page.locator(`#message-list .row[data-id="${inView}"] .flag`).waitFor();
  await page.waitForTimeout(500);
  const fetchedExt = queries.slice(beforeExt);
  check(fetchedExt.length >= 1 && fetchedExt.length <= 3 && new Set(fetchedExt).size === fetchedExt.length,
    `another client's change is shown, the pages in view fetched once each (positions ${fetchedExt.join(', ')})`);

  // The conversation view of the same folder (every message its own
  // thread here): collapsed pages (Email/query collapseThreads) fetched
  // the same way, only those in view.
  queries.length = 0;
  const t3 = Date.now();
  await page.getByRole('button', { name: 'Conversations' }).click();
  await page.getByRole('listbox', { name: 'Conversations' }).locator('.row[data-id]').first().waitFor();
  console.log(`timing: first page of conversations ${Date.now() - t3} ms after the toggle`);
  const tsize = await page.locator('#message-list .row[data-id]').first().getAttribute('aria-setsize');
  check(Number(tsize) === total, `the conversation list knows its ${total} threads (aria-setsize ${tsize})`);
  check(await page.locator('#message-list .row').count() < 60, 'conversations: only the rows in view are rendered');
  const before2 = queries.length;
  // The list was scrolled far down: the other view starts at the top
  // without asking for the pages at the old offset first.
  check(queries.every((p) => p < 200), `conversations: the toggle fetched only the first page (positions ${queries.join(', ')})`);
  const t4 = Date.now();
  await page.locator('#message-list').evaluate((e, y) => { e.scrollTop = y; }, mid * 64);
  await page.locator(`#message-list .row[data-id][aria-posinset="${mid + 1}"]`).waitFor();
  console.log(`timing: conversations around position ${mid} shown ${Date.now() - t4} ms after the jump`);
  const fetched2 = queries.slice(before2);
  check(fetched2.length <= 3 && fetched2.every((p) => Math.abs(p - mid) <= 200), `conversations: the jump fetched only the pages in view (positions ${fetched2.join(', ')})`);
  const t5 = Date.now();
  await page.locator(`#message-list .row[data-id][aria-posinset="${mid + 1}"]`).click();
  await page.getByRole('list', { name: 'Messages of the conversation' }).waitFor();
  console.log(`timing: conversation opened ${Date.now() - t5} ms after the click`);
  await page.getByRole('button', { name: 'Conversations' }).click();
  if (process.env.ROOST_WEB_TIMELINE) console.log('timeline:\n' + timeline.join('\n'));
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
