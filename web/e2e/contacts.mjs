// End-to-end test of the contacts view's directory, groups, postal
// addresses, birthdays and new address books in Debian's Chromium,
// driven by playwright-core. Started by internal/app's
// TestWebClientContacts, which runs the server and checks the results
// over IMAP and CardDAV. Env:
//   BASE            https://127.0.0.1:port of roost
//   USER, PASS      the user
//   STAFF           how many entries the tenant's directory has
//   ARTIFACTS       where failures leave screenshots and a trace
//   SHOTS           if set, where the docs' screenshots go
// It prints "OK" and exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, PASS, STAFF, ARTIFACTS, SHOTS } = process.env;
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
async function session(extra = {}) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/Berlin', colorScheme: 'light', ...extra });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && (m.location().url || '').includes('/assets/')) pageErrors.push(m.text()); });
  return [ctx, page];
}
async function signIn(page) {
  await page.goto(BASE + '/');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

const [ctx, page] = await session();
await ctx.tracing.start({ screenshots: true, snapshots: true });
const side = page.getByRole('complementary', { name: 'Address books' });
const dirList = page.getByRole('region', { name: 'Directory' });

try {
  await signIn(page);
  await page.getByRole('link', { name: 'Contacts' }).click();

  // ---- the directory: paged, searched as you type ----
  await side.getByRole('button', { name: 'Directory' }).click();
  const total = Number(STAFF);
  await dirList.getByText(`50 of ${total}`).waitFor();
  check(await dirList.getByRole('button', { name: /^(?!Load more)/ }).count() === 50, 'the directory shows its first page of 50');
  await dirList.getByRole('button', { name: 'Load more' }).click();
  await dirList.getByText(`${total} of ${total}`).waitFor();
  check(await dirList.getByRole('button', { name: 'Load more' }).count() === 0, 'then the rest, and no more to load');
  await dirList.getByRole('searchbox', { name: 'Search the directory' }).fill('room');
  await dirList.getByText('1 of 1').waitFor();
  check(await dirList.getByRole('button', { name: /Meeting Room.*Room/ }).isVisible(), 'a room is in the directory, marked as one');
  await dirList.getByRole('searchbox', { name: 'Search the directory' }).fill('cat');
  await dirList.getByText('1 of 1').waitFor();
  await dirList.getByRole('button', { name: /Cat Colleague/ }).click();
  await page.getByRole('heading', { name: 'Cat Colleague' }).waitFor();
  check(await page.locator('.contact-detail').getByText('cat.alias@example.org').isVisible(), 'the entry shows its aliases');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'contacts-directory-light.png') });
  await page.getByRole('button', { name: 'Add to my contacts' }).click();
  await page.getByText('Cat Colleague is now in “Contacts”.').waitFor();
  await page.getByRole('button', { name: 'Add to my contacts' }).click();
  await page.getByText('Cat Colleague is already in “Contacts”.').waitFor();
  check(true, 'an entry is not added twice');
  await dirList.getByRole('searchbox', { name: 'Search the directory' }).fill('ben');
  await dirList.getByText('1 of 1').waitFor();
  await dirList.getByRole('button', { name: /Ben Colleague/ }).click();
  await page.getByRole('button', { name: 'Add to my contacts' }).click();
  await page.getByText('Ben Colleague is now in “Contacts”.').waitFor();
  check(await side.getByRole('button', { name: 'New contact' }).count() === 0 && await side.getByRole('button', { name: 'New group' }).count() === 0, 'the directory is read-only');

  // ---- the tenant's contacts (no account) are in the directory, marked external ----
  await dirList.getByRole('searchbox', { name: 'Search the directory' }).fill('outside');
  await dirList.getByRole('button', { name: /Norbert Outside/ }).waitFor();
  await dirList.getByText('1 of 1').waitFor();
  check(await dirList.getByRole('button', { name: /^(?!Load more)/ }).count() === 1 && await dirList.getByRole('button', { name: /Norbert Outside.*External contact/ }).isVisible(),
    'a tenant contact is in the directory, marked as external; a hidden one and another tenant\'s are not');
  await dirList.getByRole('searchbox', { name: 'Search the directory' }).fill('supplies');
  await dirList.getByRole('button', { name: /Acme Supplies/ }).click();
  await page.getByRole('heading', { name: 'Acme Supplies' }).waitFor();
  check(await page.locator('.contact-detail').getByText('External contact').isVisible(), 'its entry says it is an external contact');
  await page.getByRole('button', { name: 'Add to my contacts' }).click();
  await page.getByText('Acme Supplies is now in “Contacts”.').waitFor();
  check(true, 'a tenant contact is added to my contacts');

  // ---- the personal book: the copies, an address and a birthday ----
  await side.getByRole('button', { name: 'Contacts', exact: true }).click();
  const list = page.getByRole('region', { name: 'Contacts', exact: true });
  await list.getByRole('button', { name: /Cat Colleague/ }).waitFor();
  await list.getByRole('button', { name: /Ben Colleague/ }).click();
  await page.getByRole('heading', { name: 'Ben Colleague' }).waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  const ce = page.getByRole('dialog', { name: 'Edit contact' });
  check(await ce.getByLabel('Given name').inputValue() === 'Ben' && await ce.getByLabel('Surname').inputValue() === 'Colleague', 'the directory\'s name split into given name and surname');
  await ce.getByLabel('Street and number').fill('Hauptstraße 1');
  await ce.getByLabel('Postcode').fill('10115');
  await ce.getByLabel('City').fill('Berlin');
  await ce.getByLabel('Country').fill('Germany');
  await ce.getByLabel('Birthday').fill('1990-04-01');
  await ce.getByRole('button', { name: 'Save' }).click();
  await page.locator('.contact-detail').getByText('1990-04-01').waitFor();
  check(await page.locator('.contact-detail').getByText(/Hauptstraße 1/).isVisible() && await page.locator('.contact-detail').getByText(/10115 Berlin/).isVisible(), 'the address and birthday are shown');
  await page.getByRole('button', { name: 'Edit' }).click();
  check(await ce.getByLabel('City').inputValue() === 'Berlin' && await ce.getByLabel('Birthday').inputValue() === '1990-04-01', 'and read back into the editor');
  await ce.getByRole('button', { name: 'Cancel' }).click();

  // ---- a group of the two ----
  await side.getByRole('button', { name: 'New group' }).click();
  const ge = page.getByRole('dialog', { name: 'New group' });
  await ge.getByLabel('Group name').fill('Team');
  await ge.getByRole('checkbox', { name: /Ben Colleague/ }).check();
  await ge.getByRole('checkbox', { name: /Cat Colleague/ }).check();
  await ge.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Team' }).waitFor();
  const members = page.locator('.group-members');
  await members.getByRole('button', { name: 'Cat Colleague' }).waitFor();
  check(await members.getByRole('listitem').count() === 2 && await page.locator('.contact-detail').getByText('Group of 2').isVisible(), 'the group lists its two members');
  check(await list.getByRole('button', { name: /Team.*Group of 2/ }).isVisible(), 'the list marks the group');

  // ---- a new address book ----
  await side.getByRole('button', { name: 'New address book' }).click();
  const nb = page.getByRole('dialog', { name: 'New address book' });
  await nb.getByLabel('Name').fill('Suppliers');
  await nb.getByRole('button', { name: 'Create' }).click();
  await page.getByText('Created the address book “Suppliers”.').waitFor();
  check(await side.getByRole('button', { name: 'Suppliers' }).getAttribute('aria-current') === 'page', 'the new address book is listed and open');
  // Into it, a vCard file with a group and its two members (vCard 3, as
  // Apple's Contacts writes groups), imported with their UIDs; then
  // exported again.
  const vcf = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:imp-1', 'FN:Vera Vendor', 'N:Vendor;Vera;;;', 'EMAIL:vera@vendor.test',
    'ADR;TYPE=work:;;Marktplatz 5;Hamburg;;20095;Germany', 'BDAY:1975-12-24', 'END:VCARD',
    'BEGIN:VCARD', 'VERSION:4.0', 'UID:imp-2', 'FN:Walt Vendor', 'N:Vendor;Walt;;;', 'EMAIL:walt@vendor.test', 'END:VCARD',
    'BEGIN:VCARD', 'VERSION:3.0', 'UID:imp-g', 'FN:Vendors', 'N:Vendors;;;;', 'X-ADDRESSBOOKSERVER-KIND:group',
    'X-ADDRESSBOOKSERVER-MEMBER:imp-1', 'X-ADDRESSBOOKSERVER-MEMBER:imp-2', 'END:VCARD', ''].join('\r\n');
  await side.getByLabel('Import vCard').setInputFiles({ name: 'vendors.vcf', mimeType: 'text/vcard', buffer: Buffer.from(vcf) });
  await page.getByText('3 contacts imported.').waitFor();
  await list.getByRole('button', { name: /Vendors.*Group of 2/ }).click();
  await members.getByRole('button', { name: 'Walt Vendor' }).waitFor();
  check(await members.getByRole('button', { name: 'Vera Vendor' }).isVisible(), 'an imported group keeps its members');
  await members.getByRole('button', { name: 'Vera Vendor' }).click();
  await page.locator('.contact-detail').getByText('1975-12-24').waitFor();
  check(await page.locator('.contact-detail').getByText(/20095 Hamburg/).isVisible(), 'an imported address and birthday');
  await side.getByLabel('Import vCard').setInputFiles({ name: 'vendors.vcf', mimeType: 'text/vcard', buffer: Buffer.from(vcf) });
  await page.getByText('Imported 0 contacts; 3 were refused').waitFor();
  check(true, 'importing the same file again creates no duplicates');
  const [download] = await Promise.all([page.waitForEvent('download'), side.getByRole('button', { name: 'Export vCard' }).click()]);
  const exported = (await import('node:fs')).readFileSync(await download.path(), 'utf8');
  check(/KIND:group\r\n/.test(exported) && /MEMBER:imp-1\r\n/.test(exported) && /MEMBER:imp-2\r\n/.test(exported) && /BDAY:19751224\r\n/.test(exported) && /ADR:;;Marktplatz 5;Hamburg;;20095;Germany\r\n/.test(exported),
    'the export writes the group, the address and the birthday:\n' + exported);

  await side.getByRole('button', { name: 'Contacts', exact: true }).click();
  await list.getByRole('button', { name: /Team/ }).click();
  await page.getByRole('heading', { name: 'Team' }).waitFor();
  if (SHOTS) {
    await page.waitForFunction(() => !document.querySelector('.toast').textContent);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(SHOTS, 'contacts-group-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  }

  // ---- compose to the group: its name expands into the members ----
  await page.getByRole('link', { name: 'Mail' }).click();
  await page.getByRole('button', { name: 'New message' }).waitFor();
  await page.locator('body').press('c');
  const compose = page.getByRole('dialog', { name: 'New message' });
  await compose.getByLabel('To').pressSequentially('Norb', { delay: 50 });
  const nopt = compose.getByRole('listbox', { name: 'Address suggestions' }).getByRole('option').filter({ hasText: 'norbert@outside.test' });
  await nopt.waitFor();
  check(await nopt.getByText('directory').isVisible(), 'the composer offers a tenant contact from the directory');
  await compose.getByLabel('To').fill('');
  await compose.getByLabel('To').pressSequentially('Tea', { delay: 50 });
  const opt = compose.getByRole('listbox', { name: 'Address suggestions' }).getByRole('option').filter({ hasText: 'Team' });
  await opt.waitFor();
  check(await opt.getByText('Group of 2').isVisible(), 'the composer offers the group');
  await compose.getByLabel('To').press('Enter');
  const to = await compose.getByLabel('To').inputValue();
  check(to.includes('ben@example.org') && to.includes('cat@example.org') && !to.includes('Team'), 'the group expanded into its members: ' + to);
  await compose.getByLabel('Subject').fill('To the team');
  await compose.getByLabel('Message').fill('Sent to a contact group.');
  await compose.getByRole('button', { name: 'Send' }).click();
  await page.getByText('Message sent.').waitFor();
  check(true, 'sent to the group');

  // ---- a 360 px phone: the directory's list and an entry take the screen in turn ----
  const [pctx, pp] = await session({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
  await signIn(pp);
  await pp.getByRole('link', { name: 'Contacts' }).click();
  await pp.getByRole('combobox', { name: 'Address books' }).selectOption({ label: 'Directory' });
  await pp.getByRole('searchbox', { name: 'Search the directory' }).fill('ben');
  await pp.getByRole('region', { name: 'Directory' }).getByText('1 of 1').waitFor();
  await pp.getByRole('button', { name: /Ben Colleague/ }).click();
  await pp.getByRole('heading', { name: 'Ben Colleague' }).waitFor();
  check(await pp.getByRole('button', { name: 'Add to my contacts' }).isVisible() && !(await pp.getByRole('searchbox', { name: 'Search the directory' }).isVisible()), 'on a phone the entry takes the screen');
  const fits = await pp.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check(fits, 'and nothing is wider than the phone');
  if (SHOTS) await pp.screenshot({ path: join(SHOTS, 'phone-directory-dark.png') });
  await pp.getByRole('button', { name: 'Back' }).click();
  await pp.getByRole('searchbox', { name: 'Search the directory' }).waitFor();
  await pctx.close();

  // ---- accessibility: axe-core in a context that lets it past the CSP ----
  const actx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
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
  await ap.getByRole('link', { name: 'Contacts' }).click();
  const aside = ap.getByRole('complementary', { name: 'Address books' });
  for (const scheme of ['light', 'dark']) {
    await ap.emulateMedia({ colorScheme: scheme });
    await aside.getByRole('button', { name: 'Directory' }).click();
    await ap.getByRole('region', { name: 'Directory' }).getByRole('button', { name: /Cat Colleague/ }).click();
    await ap.getByRole('heading', { name: 'Cat Colleague' }).waitFor();
    await scan(`the directory (${scheme})`);
    await aside.getByRole('button', { name: 'Contacts', exact: true }).click();
    await ap.getByRole('region', { name: 'Contacts', exact: true }).getByRole('button', { name: /Team/ }).click();
    await ap.getByRole('heading', { name: 'Team' }).waitFor();
    await scan(`a group (${scheme})`);
    await ap.getByRole('button', { name: 'Edit' }).click();
    await ap.getByRole('dialog', { name: 'Edit group' }).waitFor();
    await scan(`the group editor (${scheme})`);
    await ap.getByRole('dialog', { name: 'Edit group' }).getByRole('button', { name: 'Cancel' }).click();
    await ap.getByRole('region', { name: 'Contacts', exact: true }).getByRole('button', { name: /Ben Colleague/ }).click();
    await ap.getByRole('button', { name: 'Edit' }).click();
    await ap.getByRole('dialog', { name: 'Edit contact' }).waitFor();
    await scan(`the contact editor with address and birthday (${scheme})`);
    await ap.getByRole('dialog', { name: 'Edit contact' }).getByRole('button', { name: 'Cancel' }).click();
    await aside.getByRole('button', { name: 'New address book' }).click();
    await scan(`the new address book form (${scheme})`);
    await ap.getByRole('dialog', { name: 'New address book' }).getByRole('button', { name: 'Cancel' }).click();
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
