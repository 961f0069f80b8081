// End-to-end test of the calendar's scheduling in Debian's Chromium,
// driven by playwright-core: rooms, the free/busy grid, a conflicting
// booking declined, shared calendars side by side, creating a calendar
// and changing its colour. Started by internal/app's
// TestWebClientCalendarRooms, which runs the server, creates the users
// and the room, has alice share her calendar with bob, and checks the
// room's calendar afterwards. Env:
//   BASE               https://127.0.0.1:port of roost
//   USER, PASS         alice (the first booking)
//   OTHER, OTHER_PASS  bob (the conflicting booking)
//   ROOM_ADDR          the room's address
//   ARTIFACTS, SHOTS   as in groupware.mjs
// It prints "OK" and exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, OTHER, OTHER_PASS, ROOM_ADDR, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const BERLIN = 'Europe/Berlin';
// Tomorrow in Berlin: the bookings are in the future.
const day = new Intl.DateTimeFormat('en-CA', { timeZone: BERLIN, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + 86400000));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const pageErrors = [];
async function session(extra = {}) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: BERLIN, colorScheme: 'light', ...extra });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && (m.location().url || '').includes('/assets/')) pageErrors.push(m.text()); });
  return [ctx, page];
}
async function signIn(page, user, pass) {
  await page.goto(BASE + '/#calendar');
  await page.getByLabel('Address or login name').fill(user);
  await page.getByLabel('Password').fill(pass);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
  await page.getByRole('link', { name: 'Calendar' }).click();
  await page.getByRole('complementary', { name: 'Calendars' }).getByRole('checkbox').first().waitFor();
}
// book fills the new-event dialog with the room and returns the dialog.
async function book(page, title, from, to) {
  await page.getByRole('button', { name: 'New event' }).click();
  const dlg = page.getByRole('dialog', { name: 'New event' });
  await dlg.getByLabel('Title').fill(title);
  await dlg.getByLabel('Start date').fill(day);
  await dlg.getByLabel('Start time').fill(from);
  await dlg.getByLabel('End date').fill(day);
  await dlg.getByLabel('End time').fill(to);
  await dlg.getByLabel('Room or equipment').selectOption(ROOM_ADDR);
  return dlg;
}
// statusIn opens the event and reads the room's answer in its dialog.
async function roomStatus(page, title) {
  await page.getByRole('button', { name: 'Day', exact: true }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  const chip = page.locator(`.ev[data-title="${title}"]`).first();
  await chip.waitFor();
  await chip.click();
  const ed = page.getByRole('dialog', { name: 'Edit event' });
  const ps = ed.locator(`.attendees li[data-email="${ROOM_ADDR}"] .partstat`);
  await ps.waitFor();
  return [ed, (await ps.textContent()) || ''];
}

const [ctx, page] = await session();
await ctx.tracing.start({ screenshots: true, snapshots: true });
let bctx;
try {
  // ---- alice books the room for 10:00–11:00 ----
  await signIn(page, USER, PASS);
  const dlg = await book(page, 'Planning', '10:00', '11:00');
  const roomRow = dlg.locator(`.fb-row[data-email="${ROOM_ADDR}"]`);
  await roomRow.locator('.fb-track[aria-label$=": free"]').waitFor();
  check(true, 'the free/busy grid shows the room free before the first booking');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Event saved.').waitFor();
  const [ed, aStatus] = await roomStatus(page, 'Planning');
  check(aStatus === 'accepted', 'the room accepted alice\'s booking: ' + aStatus);
  await ed.getByRole('button', { name: 'Cancel' }).click();

  // ---- bob books it for 10:30 in his own session: declined ----
  let bpage;
  [bctx, bpage] = await session();
  await signIn(bpage, OTHER, OTHER_PASS);
  const bdlg = await book(bpage, 'Retro', '10:30', '11:30');
  const busy = bdlg.locator(`.fb-row[data-email="${ROOM_ADDR}"] .fb-busy`);
  await busy.first().waitFor();
  const span = [await busy.first().getAttribute('data-start'), await busy.first().getAttribute('data-end')].join('–');
  check(span === '10:00–11:00', 'bob\'s scheduling view shows the room busy at 10:00–11:00 (no details): ' + span);
  check(await bdlg.locator('.fb-row').filter({ hasText: 'You' }).count() === 1, 'the grid has a row for bob himself');
  // Attendees are suggested from the directory as in the composer: a
  // name typed, the suggestion taken, the grid gains the person's row
  // (by name). Cleared again: this booking stays bob's alone.
  const att = bdlg.getByLabel('Attendees');
  await att.pressSequentially('Alice Org', { delay: 20 });
  const opt = bdlg.getByRole('option').filter({ hasText: 'Alice Organizer' });
  await opt.waitFor();
  check(await att.getAttribute('aria-expanded') === 'true', 'the attendees field is a combobox with suggestions open');
  await att.press('Enter');
  check((await att.inputValue()).includes('alice@example.org'), 'the suggestion fills in the address: ' + await att.inputValue());
  const aliceRow = bdlg.locator('.fb-row[data-email="alice@example.org"]');
  await aliceRow.waitFor();
  check((await aliceRow.textContent()).includes('Alice Organizer'), 'the grid has a row for the attendee, by name');
  await att.fill('');
  await aliceRow.waitFor({ state: 'detached' });
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await bdlg.screenshot({ path: join(SHOTS, 'calendar-schedule-light.png') });
  }
  await bdlg.getByRole('button', { name: 'Save' }).click();
  await bpage.getByText(/declined by Room 1/).waitFor();
  check(true, 'saving says the room declined');
  const [bed, bStatus] = await roomStatus(bpage, 'Retro');
  check(bStatus === 'declined', 'bob sees the room\'s answer in his event: ' + bStatus);
  await bed.getByRole('button', { name: 'Cancel' }).click();

  // ---- alice's calendar, shared with bob, beside his own ----
  const side = bpage.getByRole('complementary', { name: 'Calendars' });
  const shared = side.getByRole('region', { name: /^Shared by / });
  await shared.waitFor();
  const aliceEv = bpage.locator('.ev[data-title="Planning"]');
  await aliceEv.first().waitFor();
  check(await bpage.locator('.ev[data-title="Retro"]').count() === 1, 'bob sees alice\'s event beside his own');
  const c1 = await aliceEv.first().evaluate((e) => getComputedStyle(e).borderLeftColor);
  const c2 = await bpage.locator('.ev[data-title="Retro"]').first().evaluate((e) => getComputedStyle(e).borderLeftColor);
  check(c1 !== c2, `in another colour (${c1} vs ${c2})`);
  // Shared for reading only: its event opens read-only and does not drag.
  check(await aliceEv.first().getAttribute('draggable') !== 'true', 'an event of a calendar shared for reading does not drag');
  await aliceEv.first().click();
  // (alice organizes it: shown as her invitation, which bob is not in.)
  const ro = bpage.getByRole('dialog', { name: /^(Event|Invitation)$/ });
  await ro.waitFor();
  check(await ro.getByRole('button', { name: 'Save' }).count() === 0 && await ro.getByLabel('Title').isDisabled(), 'and opens read-only');
  await ro.getByRole('button', { name: 'Close' }).click();
  await shared.getByRole('checkbox').first().uncheck();
  await aliceEv.first().waitFor({ state: 'detached' });
  check(await bpage.locator('.ev[data-title="Retro"]').count() === 1, 'unticking the shared calendar hides its events only');
  await shared.getByRole('checkbox').first().check();
  await aliceEv.first().waitFor();
  if (SHOTS) {
    await bpage.emulateMedia({ colorScheme: 'dark' });
    await bpage.getByRole('button', { name: 'Week', exact: true }).click();
    await bpage.locator('.tg-body').evaluate((b) => { b.scrollTop = 8 * 48; });
    await bpage.locator('.toast:empty').waitFor({ state: 'attached', timeout: 6000 }).catch(() => {});
    await bpage.screenshot({ path: join(SHOTS, 'calendar-shared-dark.png') });
    await bpage.emulateMedia({ colorScheme: 'light' });
  }
  // In German.
  await bpage.evaluate(() => localStorage.setItem('roost.lang', 'de'));
  await bpage.reload();
  await bpage.getByRole('link', { name: 'Kalender' }).waitFor();
  await bpage.getByRole('button', { name: 'Neuer Termin' }).first().click();
  const dde = bpage.getByRole('dialog', { name: 'Neuer Termin' });
  check(await dde.getByLabel('Raum oder Ausstattung').isVisible() && await dde.getByText('Frei/Gebucht').first().isVisible(), 'the scheduling view in German');
  await dde.getByRole('button', { name: 'Abbrechen' }).click();

  // ---- alice creates a calendar and changes its colour ----
  await page.getByRole('button', { name: 'New calendar' }).click();
  const cd = page.getByRole('dialog', { name: 'New calendar' });
  await cd.getByLabel('Name').fill('Projects');
  await cd.getByLabel('Colour').fill('#2e8540');
  await cd.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Calendar saved.').waitFor();
  const sw = page.locator('.cal-list li[data-calendar="Projects"] .swatch');
  await sw.waitFor();
  check(await sw.evaluate((e) => getComputedStyle(e).backgroundColor) === 'rgb(46, 133, 64)', 'the new calendar in its colour');
  await page.getByRole('button', { name: 'Edit calendar Projects' }).click();
  const ce = page.getByRole('dialog', { name: 'Edit calendar' });
  await ce.getByLabel('Colour').fill('#8e44ad');
  await ce.getByRole('button', { name: 'Save' }).click();
  await page.waitForFunction(() => getComputedStyle(document.querySelector('.cal-list li[data-calendar="Projects"] .swatch')).backgroundColor === 'rgb(142, 68, 173)');
  check(true, 'its colour changed');

  // ---- a series by weekday, every other week, until a date; then
  // "this and following" changes and deletes the later part ----
  const addDay = (ymd, n) => { const d = new Date(ymd + 'T12:00:00Z'); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); };
  const today = addDay(day, -1);
  let S = addDay(today, 1);
  while (new Date(S + 'T12:00:00Z').getUTCDay() !== 1) S = addDay(S, 1); // the next Monday
  await page.getByRole('button', { name: 'Agenda', exact: true }).click();
  await page.getByRole('button', { name: 'Today' }).click();
  await page.getByRole('button', { name: 'New event' }).click();
  const rd = page.getByRole('dialog', { name: 'New event' });
  await rd.getByLabel('Title').fill('Sync');
  await rd.getByLabel('Start date').fill(S);
  await rd.getByLabel('Start time').fill('09:00');
  await rd.getByLabel('End date').fill(S);
  await rd.getByLabel('End time').fill('09:30');
  await rd.getByLabel('Repeat').selectOption('weekly');
  await rd.getByLabel('Every (interval)').fill('2');
  await rd.getByRole('checkbox', { name: 'Mon' }).check();
  await rd.getByRole('checkbox', { name: 'Wed' }).check();
  await rd.getByLabel('Until').fill(addDay(S, 20));
  if (SHOTS) await rd.screenshot({ path: join(SHOTS, 'calendar-recurrence-light.png') });
  await rd.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Event saved.').waitFor();
  const startsOf = async (title, want) => {
    await page.waitForFunction(([ti, w]) => JSON.stringify([...document.querySelectorAll(`.ev[data-title="${ti}"]`)].map((e) => e.dataset.start).sort()) === w,
      [title, JSON.stringify(want)], { timeout: 15000 }).catch(() => {});
    return (await page.locator(`.ev[data-title="${title}"]`).evaluateAll((l) => l.map((e) => e.dataset.start))).sort();
  };
  const series = [S, addDay(S, 2), addDay(S, 14), addDay(S, 16)].map((x) => x + 'T09:00');
  let got = await startsOf('Sync', series);
  check(JSON.stringify(got) === JSON.stringify(series), 'Mondays and Wednesdays of every other week until a date: ' + got);
  await page.locator('.ev[data-title="Sync"]').nth(2).click();
  const sd2 = page.getByRole('dialog', { name: 'Edit event' });
  await sd2.getByRole('radio', { name: 'This and following' }).check();
  await sd2.getByLabel('Title').fill('Sync v2');
  await sd2.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Event saved.').waitFor();
  got = await startsOf('Sync v2', series.slice(2));
  check(JSON.stringify(got) === JSON.stringify(series.slice(2)), '"this and following" renamed the later occurrences: ' + got);
  got = await startsOf('Sync', series.slice(0, 2));
  check(JSON.stringify(got) === JSON.stringify(series.slice(0, 2)), 'and kept the earlier ones: ' + got);
  await page.locator('.ev[data-title="Sync v2"]').nth(1).click();
  await sd2.getByRole('radio', { name: 'This and following' }).check();
  await sd2.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('Event deleted.').waitFor();
  got = await startsOf('Sync v2', series.slice(2, 3));
  check(JSON.stringify(got) === JSON.stringify(series.slice(2, 3)), '"this and following" deleted the last occurrence only: ' + got);

  // ---- accessibility of the new dialogs ----
  const actx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: BERLIN });
  const ap = await actx.newPage();
  const axe = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  const scan = async (name) => {
    await ap.addScriptTag({ path: axe });
    const r = await ap.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    console.log(`axe ${name}: ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')}), ${bad.length} serious or critical`);
    check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
  };
  await signIn(ap, OTHER, OTHER_PASS);
  await ap.getByRole('button', { name: 'Agenda', exact: true }).click();
  for (const scheme of ['light', 'dark']) {
    await ap.emulateMedia({ colorScheme: scheme });
    await ap.locator('.ev[data-title="Planning"]').first().waitFor();
    await scan(`the calendar with a shared calendar (${scheme})`);
    const sd = await book(ap, 'Scan', '10:00', '11:00');
    await sd.locator('.fb-busy').first().waitFor();
    await scan(`the scheduling view (${scheme})`);
    await sd.getByRole('button', { name: 'Cancel' }).click();
    await ap.getByRole('button', { name: 'New event' }).click();
    const rdx = ap.getByRole('dialog', { name: 'New event' });
    await rdx.getByLabel('Repeat').selectOption('weekly');
    await rdx.getByRole('checkbox', { name: 'Mon' }).waitFor();
    await scan(`the recurrence fields (${scheme})`);
    await rdx.getByRole('button', { name: 'Cancel' }).click();
    await ap.getByRole('button', { name: 'New calendar' }).click();
    await scan(`the calendar dialog (${scheme})`);
    await ap.getByRole('dialog', { name: 'New calendar' }).getByRole('button', { name: 'Cancel' }).click();
  }
  await actx.close();

  check(pageErrors.length === 0, 'no script errors: ' + pageErrors.join(' | '));
  await ctx.tracing.stop();
  console.log('OK');
  await browser.close();
} catch (e) {
  console.error(e);
  if (pageErrors.length) console.error("script errors:", pageErrors.join(" | "));
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  if (bctx) for (const p of bctx.pages()) await p.screenshot({ path: join(ARTIFACTS, 'failure-other.png'), fullPage: true }).catch(() => {});
  await ctx.tracing.stop({ path: join(ARTIFACTS, 'trace.zip') }).catch(() => {});
  await browser.close();
  process.exit(1);
}
