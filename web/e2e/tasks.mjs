// End-to-end test of the tasks in Debian's Chromium, driven by
// playwright-core. Started by internal/app's TestWebClientTasks, which
// runs the server and checks the result over CalDAV. Env:
//   BASE            https://127.0.0.1:port of roost
//   USER, PASS      the user
//   DUE, DUE_SOON   two due dates (YYYY-MM-DD), DUE_SOON the earlier
//   ARTIFACTS       where failures leave screenshots and a trace
//   SHOTS           if set, where the docs' screenshots go
// It prints "OK" and exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, DUE, DUE_SOON, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const pageErrors = [];
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/Berlin', colorScheme: 'light' });
const page = await ctx.newPage();
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error' && (m.location().url || '').includes('/assets/')) pageErrors.push(m.text()); });
await ctx.tracing.start({ screenshots: true, snapshots: true });

async function signIn(p) {
  await p.goto(BASE + '/');
  await p.getByLabel('Address or login name').fill(USER);
  await p.getByLabel('Password').fill(PASS);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('navigation', { name: 'Sections' }).waitFor();
}
// The titles in the list as shown, top to bottom, once they equal want
// (bounded wait: a save or a push re-renders); the caller checks.
const titles = (p) => p.locator('.task-row').evaluateAll((l) => l.map((e) => e.dataset.title));
const titlesWhen = async (want) => {
  await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('.task-row')].map((e) => e.dataset.title)) === w,
    JSON.stringify(want), { timeout: 15000 }).catch(() => {});
  return titles(page);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

try {
  await signIn(page);
  const before = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => r.name.includes('/assets/')).map((r) => r.name));
  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.getByRole('complementary', { name: 'Task lists' }).getByRole('button', { name: 'Tasks' }).waitFor();
  const after = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => r.name.includes('/assets/')).map((r) => r.name));
  check(after.length > before.length, 'the tasks view is a chunk loaded on demand: ' + after.filter((u) => !before.includes(u)).join(' '));
  check(await page.getByText('No tasks').isVisible(), 'an empty list to start with');

  // ---- create two tasks, one with a due date, priority and notes ----
  await page.getByRole('button', { name: 'New task' }).first().click();
  let dlg = page.getByRole('dialog', { name: 'New task' });
  await dlg.getByLabel('Title').fill('Pay the invoice');
  await dlg.getByLabel('Due date').fill(DUE);
  await dlg.getByLabel('Priority').selectOption('high');
  await dlg.getByLabel('Notes').fill('Reference 4711');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.getByRole('checkbox', { name: 'Done: Pay the invoice' }).waitFor();
  const row = page.locator('.task-row[data-title="Pay the invoice"]');
  check((await row.textContent()).includes('Reference 4711') && (await row.textContent()).includes('High'), 'the task shows its notes and priority');

  await page.getByRole('button', { name: 'New task' }).first().click();
  dlg = page.getByRole('dialog', { name: 'New task' });
  await dlg.getByLabel('Title').fill('Buy stamps');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.waitFor({ state: 'detached' });
  let got = await titlesWhen(['Pay the invoice', 'Buy stamps']);
  check(same(got, ['Pay the invoice', 'Buy stamps']), 'sorted by due date, the task without one last: ' + got);

  // ---- edit: a due date sooner than the other's moves it up ----
  await page.getByRole('button', { name: /Buy stamps/ }).click();
  dlg = page.getByRole('dialog', { name: 'Edit task' });
  await dlg.getByLabel('Due date').fill(DUE_SOON);
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.waitFor({ state: 'detached' });
  got = await titlesWhen(['Buy stamps', 'Pay the invoice']);
  check(same(got, ['Buy stamps', 'Pay the invoice']), 'edited, it moves up: ' + got);

  // ---- mark one done: it leaves the open view, shows under done ----
  await page.getByRole('checkbox', { name: 'Done: Pay the invoice' }).check();
  got = await titlesWhen(['Buy stamps']);
  check(same(got, ['Buy stamps']), 'the done task left the open tasks: ' + got);
  await page.getByRole('radio', { name: 'Done' }).check();
  got = await titlesWhen(['Pay the invoice']);
  check(same(got, ['Pay the invoice']) && await page.getByRole('checkbox', { name: 'Done: Pay the invoice' }).isChecked(), 'and is under done, checked: ' + got);
  await page.getByRole('radio', { name: 'All' }).check();
  got = await titlesWhen(['Buy stamps', 'Pay the invoice']);
  check(same(got, ['Buy stamps', 'Pay the invoice']), 'all shows both: ' + got);

  // ---- push: a task created elsewhere appears without a reload ----
  await page.evaluate(async () => {
    const s = await (await fetch('/jmap/session', { credentials: 'same-origin' })).json();
    const acct = s.primaryAccounts['urn:ietf:params:jmap:tasks'];
    const l = await (await fetch('/jmap/api/', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:tasks'], methodCalls: [['TaskList/get', { accountId: acct }, 'l']] }) })).json();
    const list = l.methodResponses[0][1].list.find((x) => x.role === 'inbox').id;
    await fetch('/jmap/api/', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:tasks'], methodCalls: [['Task/set', { accountId: acct, create: { x: { taskListId: list, title: 'From elsewhere' } } }, 's']] }) });
  });
  got = await titlesWhen(['Buy stamps', 'Pay the invoice', 'From elsewhere']);
  check(same(got, ['Buy stamps', 'Pay the invoice', 'From elsewhere']), 'pushed in: ' + got);

  // ---- delete ----
  await page.getByRole('button', { name: /Buy stamps/ }).click();
  page.once('dialog', (d) => d.accept());
  await page.getByRole('dialog', { name: 'Edit task' }).getByRole('button', { name: 'Delete' }).click();
  got = await titlesWhen(['Pay the invoice', 'From elsewhere']);
  check(same(got, ['Pay the invoice', 'From elsewhere']), 'deleted: ' + got);

  // ---- a second task list ----
  await page.getByRole('button', { name: 'New task list' }).click();
  await page.getByRole('dialog', { name: 'New task list' }).getByLabel('Name').fill('Errands');
  await page.getByRole('dialog', { name: 'New task list' }).getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Errands' }).waitFor();
  await page.getByText('No tasks').waitFor({ timeout: 15000 }).catch(() => {});
  check(await page.getByText('No tasks').isVisible() && (await titles(page)).length === 0, 'the new list is chosen and empty');
  await page.getByRole('complementary', { name: 'Task lists' }).getByRole('button', { name: 'Tasks' }).click();
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();
  got = await titlesWhen(['Pay the invoice', 'From elsewhere']);
  check(same(got, ['Pay the invoice', 'From elsewhere']), 'back on the first list: ' + got);

  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.locator('.toast:empty').waitFor({ state: 'attached', timeout: 6000 }).catch(() => {});
    await page.screenshot({ path: join(SHOTS, 'tasks-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: join(SHOTS, 'phone-tasks-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  // ---- accessibility: axe-core in a context that lets it past the CSP ----
  const actx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/Berlin' });
  const ap = await actx.newPage();
  const axe = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  const scan = async (name) => {
    await ap.addScriptTag({ path: axe });
    const r = await ap.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    console.log(`axe ${name}: ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')}), ${bad.length} serious or critical`);
    check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
  };
  await signIn(ap);
  for (const scheme of ['light', 'dark']) {
    await ap.emulateMedia({ colorScheme: scheme });
    await ap.getByRole('link', { name: 'Tasks' }).click();
    await ap.getByRole('radio', { name: 'All' }).check();
    await ap.locator('.task-row').nth(1).waitFor();
    await scan(`the tasks (${scheme})`);
    await ap.getByRole('button', { name: /Pay the invoice/ }).click();
    await ap.getByRole('dialog', { name: 'Edit task' }).waitFor();
    await scan(`the task editor (${scheme})`);
    await ap.getByRole('dialog', { name: 'Edit task' }).getByRole('button', { name: 'Cancel' }).click();
    await ap.getByRole('link', { name: 'Mail' }).click();
  }
  await actx.close();

  check(pageErrors.length === 0, 'no script errors: ' + pageErrors.join(' | '));
  await ctx.tracing.stop();
  console.log('OK');
  await browser.close();
} catch (e) {
  console.error(e);
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  await ctx.tracing.stop({ path: join(ARTIFACTS, 'trace.zip') }).catch(() => {});
  await browser.close();
  process.exit(1);
}
