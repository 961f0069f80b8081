// The user's time zone and date format (Settings), in Debian's Chromium,
// started by internal/app's TestWebPrefsE2E, which delivers SUBJECT (sent
// Mon, 7 Dec 2026 09:15 UTC) and an event "UTC review" on DAY at 14:00
// UTC, and afterwards checks over JMAP that the event made here is in
// Europe/Berlin. Both browser contexts are in New York: what they show in
// Berlin time comes from the server. Env: BASE, USER, PASS, SUBJECT, DAY,
// ARTIFACTS, SHOTS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, SUBJECT, DAY, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const pageErrors = [];
const pages = [];
async function session() {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'America/New_York', colorScheme: 'light' });
  await ctx.tracing.start({ screenshots: true, snapshots: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  pages.push([ctx, page]);
  return page;
}
async function signIn(page, path = '/') {
  await page.goto(BASE + path);
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(page, name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}
// readerDate opens SUBJECT and returns the reader's date and the row's.
async function readerDate(page) {
  const row = page.getByRole('listbox', { name: 'Messages' }).getByRole('option').filter({ hasText: SUBJECT });
  await row.click();
  await page.getByRole('heading', { name: SUBJECT }).waitFor();
  const dd = page.locator('dt:text-is("Date") + dd');
  return [((await dd.textContent()) || '').trim(), (await row.textContent()) || ''];
}

let failed = false;
try {
  // First browser: the browser's own zone (New York) until chosen.
  const a = await session();
  await signIn(a);
  const [before] = await readerDate(a);
  check(before.includes('04:15') || before.includes('4:15'), 'before any choice, the date is in the browser\'s zone (New York): ' + before);
  await a.goto(BASE + '/settings');
  const sec = a.getByRole('form', { name: 'Time zone and date format' });
  await sec.getByRole('combobox', { name: 'Time zone' }).selectOption('Europe/Berlin');
  await sec.getByRole('combobox', { name: 'Date format' }).selectOption('dmy');
  await sec.getByRole('combobox', { name: 'Time format' }).selectOption('24');
  await sec.getByRole('combobox', { name: 'First day of the week' }).selectOption('sun');
  await sec.getByRole('button', { name: 'Save' }).click();
  await sec.getByText('Time zone and date format saved.').waitFor();
  check(true, 'Europe/Berlin, 31.12.2026, 24 hours and Sunday saved in Settings');
  await axe(a, 'the time zone section');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-prefs.png') });
  await a.emulateMedia({ colorScheme: 'dark' });
  await axe(a, 'the time zone section (dark)');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-prefs-dark.png') });

  // Another browser (a fresh context, nothing shared but the server).
  const b = await session();
  await signIn(b);
  const [shown, rowText] = await readerDate(b);
  check(shown === '07.12.2026 10:15', 'another browser shows the message date in Berlin time and d.m.y: ' + shown);
  // The list shows the receipt (today: the time), in Berlin time, 24 hours.
  const berlinHM = (ms) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  const recent = Array.from({ length: 10 }, (_, i) => berlinHM(Date.now() - i * 60000));
  check(recent.some((hm) => rowText.includes(hm)), `and the list row the receipt time in Berlin time (one of ${recent.join(' ')}): ${rowText}`);
  await b.reload();
  await b.getByRole('listbox', { name: 'Messages' }).getByRole('option').filter({ hasText: SUBJECT }).waitFor();
  check(true, 'a reload keeps them');
  check((await readerDate(b))[0] === '07.12.2026 10:15', 'after the reload too');

  // The calendar: the event at 14:00 UTC is at 15:00 in Berlin.
  await b.getByRole('link', { name: 'Calendar' }).click();
  await b.getByRole('complementary', { name: 'Calendars' }).getByRole('checkbox').first().waitFor();
  await b.getByText('Times in Europe/Berlin').waitFor();
  check(true, 'the calendar says it shows Europe/Berlin');
  await b.getByRole('button', { name: 'Week', exact: true }).click();
  const first = ((await b.locator('.tg-head .tg-dayname').first().textContent()) || '').trim();
  check(/\bSun\b/.test(first), 'the week starts on Sunday, as chosen: ' + first);
  await b.getByRole('button', { name: 'Day', exact: true }).click();
  await b.getByRole('button', { name: 'Next' }).click();
  const chip = b.locator('.ev[data-title="UTC review"]').first();
  await chip.waitFor();
  const start = await chip.getAttribute('data-start');
  const time = ((await chip.locator('.ev-time').textContent()) || '').trim();
  check(start === DAY + 'T15:00' && time === '15:00–16:00', `the event at 14:00 UTC shows at 15:00 Berlin time: ${start} ${time}`);
  if (SHOTS) await b.screenshot({ path: join(SHOTS, 'calendar-berlin.png') });
  // A new event at 09:00 is made in the chosen zone.
  await b.getByRole('button', { name: 'New event' }).click();
  const dlg = b.getByRole('dialog', { name: 'New event' });
  await dlg.getByLabel('Title').fill('Berlin standup');
  await dlg.getByLabel('Start date').fill(DAY);
  await dlg.getByLabel('Start time').fill('09:00');
  await dlg.getByLabel('End date').fill(DAY);
  await dlg.getByLabel('End time').fill('09:30');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await b.getByText('Event saved.').waitFor();
  const made = b.locator('.ev[data-title="Berlin standup"]').first();
  await made.waitFor();
  check(await made.getAttribute('data-start') === DAY + 'T09:00', 'the new event shows at 09:00');
  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join('; '));
} catch (e) {
  failed = true;
  console.error(e);
  for (const [i, [, page]] of pages.entries()) await page.screenshot({ path: join(ARTIFACTS, `failure-${i}.png`), fullPage: true }).catch(() => {});
} finally {
  for (const [i, [ctx]] of pages.entries()) await ctx.tracing.stop({ path: join(ARTIFACTS, `trace-${i}.zip`) }).catch(() => {});
  await browser.close();
}
if (failed) process.exit(1);
console.log('OK');
