// End-to-end test of the web admin (/admin) and the account settings
// (/settings) in Debian's Chromium, driven by playwright-core. Started by
// internal/app's TestWebAdminE2E, which runs the server, seeds tenants and
// users and checks the results through the admin API and IMAP. Env:
//   BASE              https://127.0.0.1:port of roost
//   IMAP              127.0.0.1:port of roost's IMAP listener
//   TADMIN, TADMIN_PW a tenant administrator (tenant "default")
//   ROOT, ROOT_PW     a system administrator
//   OTHER             a user of another tenant, which TADMIN must not see
//   USER, USER_PW     a plain user, for the settings
//   ARTIFACTS         where failures leave screenshots and a trace
//   SHOTS             if set, where the docs' screenshots go
// It prints "OK" and exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { connect } from 'node:net';

const { BASE, IMAP, TADMIN, TADMIN_PW, ROOT, ROOT_PW, OTHER, USER, USER_PW, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

// imapLogin answers whether IMAP LOGIN with these credentials succeeds.
function imapLogin(user, pw) {
  const [host, port] = IMAP.split(':');
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), host);
    let buf = '';
    let sent = false;
    s.setTimeout(30000, () => { s.destroy(); reject(new Error('IMAP timeout')); });
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d.toString();
      if (!sent && buf.includes('\r\n')) {
        sent = true;
        buf = '';
        s.write(`a LOGIN ${user} "${pw}"\r\n`);
        return;
      }
      const m = buf.match(/^a (OK|NO|BAD)/m);
      if (m) { s.end('b LOGOUT\r\n'); resolve(m[1] === 'OK'); }
    });
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const consoleErrors = [];
const consoleLog = [];
let page;
const contexts = [];
async function newPage(opts = {}) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', colorScheme: 'light', ...opts });
  contexts.push(ctx);
  const p = await ctx.newPage();
  p.on('console', (m) => {
    consoleLog.push(`${m.type()}: ${m.text()} @ ${m.location().url}`);
    if (m.type() === 'error' && (m.location().url || '').includes('/assets/') && !m.text().includes('status of 4')) consoleErrors.push(m.text());
  });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
  return p;
}

async function signIn(p, path, user, pw) {
  await p.goto(BASE + path);
  await p.getByLabel('Address or login name').fill(user);
  await p.getByLabel('Password').fill(pw);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// scan runs axe-core on p (its context must bypass the CSP, which
// refuses the injected script): no serious or critical violation.
async function scan(p, name) {
  await p.addScriptTag({ path: axePath });
  const r = await p.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  console.log(`axe ${name}: ${r.violations.length} violations (${r.violations.map((v) => v.id + ' ' + v.impact).join(', ')}), ${bad.length} serious or critical`);
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}

let failed = false;
try {
  // ---- a tenant administrator: users and contacts of their tenant only ----
  page = await newPage();
  await signIn(page, '/admin', TADMIN, TADMIN_PW);
  const users = page.getByRole('region', { name: 'Users' });
  await users.getByRole('table').waitFor();
  await page.getByRole('rowheader', { name: USER, exact: true }).waitFor();
  check(await page.getByRole('rowheader', { name: OTHER, exact: true }).count() === 0, 'a tenant admin does not see a user of another tenant');
  // Create a user.
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Login').fill('newbie');
  await form.getByLabel('Full name').fill('New Bie');
  await form.getByLabel('Password').fill('newbie-pw-123');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.getByText('Created newbie.').waitFor();
  check(true, 'a tenant admin creates a user');
  // Set a quota.
  const edit = page.getByRole('form', { name: 'Edit newbie' });
  await edit.waitFor();
  await edit.getByLabel("Own limits instead of those of the tenant").check();
  await edit.getByLabel('Hard limit (MB)').fill('100');
  await edit.getByLabel('Warn at (MB)').fill('80');
  await edit.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved newbie.').waitFor();
  await page.getByRole('meter', { name: /Storage of newbie/ }).first().waitFor();
  check(true, 'a tenant admin sets a quota, and the usage bar shows it');
  // Tenants: only their own.
  await page.getByRole('button', { name: 'Tenants' }).click();
  await page.getByRole('region', { name: 'Tenants' }).getByRole('table').waitFor();
  const tenants = await page.getByRole('region', { name: 'Tenants' }).getByRole('rowheader').allTextContents();
  check(tenants.length === 1 && tenants[0] === 'default', 'a tenant admin sees only their tenant: ' + tenants.join(','));
  // Their tenant's contacts: add two, edit one, delete the other.
  await page.getByRole('button', { name: 'Edit default' }).click();
  const contacts = page.getByRole('region', { name: 'Contacts', exact: true });
  await contacts.getByText('No contacts yet.').waitFor();
  for (const [email, name] of [['supplies@vendor.example', 'Vendor Supplies'], ['gone@vendor.example', 'Gone Soon']]) {
    const add = page.getByRole('form', { name: 'New contact' });
    await add.getByLabel('Email address').fill(email);
    await add.getByLabel('Full name').fill(name);
    await add.getByRole('button', { name: 'Add contact' }).click();
    await page.getByText(`Created ${email}.`).waitFor();
    await contacts.getByRole('rowheader', { name: email, exact: true }).waitFor();
  }
  check(true, 'a tenant admin adds contacts to their tenant');
  await contacts.getByRole('button', { name: 'Edit supplies@vendor.example' }).click();
  const cedit = page.getByRole('form', { name: 'Edit supplies@vendor.example' });
  await cedit.getByLabel('Full name').fill('Vendor Supplies Ltd');
  await cedit.getByLabel('Hidden from the address book').check();
  await cedit.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved supplies@vendor.example.').waitFor();
  await contacts.getByRole('cell', { name: 'Vendor Supplies Ltd', exact: true }).waitFor();
  check(true, 'a tenant admin edits a contact (name, hidden)');
  page.once('dialog', (d) => d.accept());
  await contacts.getByRole('button', { name: 'Delete gone@vendor.example' }).click();
  await page.getByText('Deleted gone@vendor.example.').waitFor();
  await contacts.getByRole('rowheader', { name: 'gone@vendor.example', exact: true }).waitFor({ state: 'detached' });
  check(true, 'a tenant admin deletes a contact');
  // A group of their tenant whose member is the contact (its mail goes
  // out to the contact too).
  await page.getByRole('navigation', { name: 'Administration sections' }).getByRole('button', { name: 'Groups' }).click();
  const groups = page.getByRole('region', { name: 'Groups' });
  await groups.getByRole('table').waitFor();
  await groups.getByLabel('Name', { exact: true }).fill('Partners');
  await groups.getByLabel('Email address', { exact: true }).fill('partners@example.org');
  await groups.getByRole('button', { name: 'Create' }).click();
  await groups.getByRole('rowheader', { name: 'Partners', exact: true }).waitFor();
  const contactOf = groups.getByLabel('Contact address to add to or remove from Partners');
  await contactOf.fill('supplies@vendor.example');
  await contactOf.locator('xpath=..').getByRole('button', { name: 'Add' }).click();
  await groups.getByText('Contacts: supplies@vendor.example').waitFor();
  const partners = await page.evaluate(async () => (await fetch('/web/admin/v1/groups/Partners')).json());
  check(JSON.stringify(partners.contacts) === '["supplies@vendor.example"]', 'a tenant admin makes a contact a member of a group: ' + JSON.stringify(partners));
  await contactOf.fill('supplies@vendor.example');
  await contactOf.locator('xpath=..').getByRole('button', { name: 'Remove' }).click();
  await groups.getByText('Contacts: supplies@vendor.example').waitFor({ state: 'detached' });
  check(true, 'and removes it');
  const otherContacts = await page.evaluate(async () => (await fetch('/web/admin/v1/contacts?tenant=globex')).status);
  check(otherContacts === 404, `the admin API hides another tenant's contacts from a tenant admin (${otherContacts})`);
  // The API itself refuses (not only the pages): a request from the
  // page's own origin for the other tenant's user.
  const direct = await page.evaluate(async (other) => (await fetch(`/web/admin/v1/users/${other}`)).status, OTHER);
  check(direct === 404 || direct === 403, `the admin API refuses another tenant's user to a tenant admin (${direct})`);
  // A cross-site request with the cookie is refused (CSRF); Playwright's
  // request API sends the browser's cookies.
  const csrf = await page.request.post(BASE + '/web/admin/v1/users', {
    headers: { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' },
    data: { login: 'csrf', password: 'csrf-pw-12345' },
  });
  check(csrf.status() === 403, `a cross-site admin request is refused (${csrf.status()})`);

  // ---- a system administrator: the DNS records of a domain ----
  const root = await newPage();
  await signIn(root, '/admin', ROOT, ROOT_PW);
  await root.getByRole('navigation', { name: 'Administration sections' }).getByRole('button', { name: 'Domains' }).click();
  await root.getByRole('button', { name: 'DNS records example.org' }).click();
  await root.getByRole('heading', { name: 'DNS records to publish for example.org' }).waitFor();
  const types = await root.locator('.dns-table tbody tr td:nth-child(2)').allTextContents();
  check(types.includes('MX') && types.includes('TXT'), 'a system admin sees the DNS table (MX, TXT, …): ' + types.join(' '));
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await root.locator('#dns').scrollIntoViewIfNeeded();
    await root.screenshot({ path: join(SHOTS, 'admin-dns.png'), fullPage: true });
  }

  // ---- settings: out-of-office, app passwords ----
  const u = await newPage();
  await signIn(u, '/settings', USER, USER_PW);
  const oof = u.getByRole('form', { name: 'Out of office' });
  await oof.getByLabel('Send automatic replies').check();
  await oof.getByLabel('Subject').fill('Away this week');
  await oof.getByLabel('Message').fill('I am away until Monday.');
  await oof.getByRole('button', { name: 'Save' }).click();
  await u.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  check(true, 'out-of-office set in the settings');
  // The same state through JMAP's VacationResponse (RFC 8621 §8).
  const vac = await u.evaluate(async () => {
    const sess = await (await fetch('/jmap/session')).json();
    const cap = 'urn:ietf:params:jmap:vacationresponse';
    const accountId = sess.primaryAccounts[cap] || sess.primaryAccounts['urn:ietf:params:jmap:mail'];
    const r = await fetch(sess.apiUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', cap], methodCalls: [['VacationResponse/get', { accountId, ids: ['singleton'] }, '0']] }) });
    return (await r.json()).methodResponses[0][1].list[0];
  });
  check(vac && vac.isEnabled === true && vac.subject === 'Away this week' && vac.textBody === 'I am away until Monday.',
    'JMAP VacationResponse shows the out-of-office set in the settings: ' + JSON.stringify(vac));
  const csrfOOF = await u.request.fetch(BASE + '/web/self/oof', {
    method: 'PATCH', headers: { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' }, data: { enabled: false },
  });
  check(csrfOOF.status() === 403, `a cross-site settings request is refused (${csrfOOF.status()})`);
  const apw = u.getByRole('region', { name: 'App passwords' });
  await apw.getByLabel('Name').fill('phone');
  await apw.getByRole('button', { name: 'Create' }).click();
  const secret = (await apw.locator('.secret-value').textContent()).trim();
  check(secret.length >= 16, 'the new app password is shown once');
  check(await imapLogin(USER, secret), 'IMAP login with the new app password succeeds');
  console.log('APPPW=' + secret);
  await apw.getByRole('button', { name: 'Done, hide it' }).click();
  await apw.getByRole('button', { name: 'Revoke phone' }).click();
  await u.getByText('Revoked phone.').waitFor();
  check(!(await imapLogin(USER, secret)), 'IMAP login with the revoked app password fails');
  const href = await u.getByRole('link', { name: 'Download the Apple configuration profile' }).getAttribute('href');
  const prof = await u.request.get(BASE + href);
  check(prof.status() === 200 && prof.headers()['content-type'] === 'application/x-apple-aspen-config', `the settings' profile link downloads an Apple profile (${prof.status()} ${prof.headers()['content-type']})`);
  if (SHOTS) await u.screenshot({ path: join(SHOTS, 'settings.png'), fullPage: true });
  // Password change: a wrong current password refused, then changed;
  // IMAP takes the new one.
  const pwf = u.getByRole('form', { name: 'Password' });
  await pwf.getByLabel('Current password').fill('not-the-password');
  await pwf.getByLabel('New password', { exact: true }).fill('olly-new-pw-2026');
  await pwf.getByLabel('New password again').fill('olly-new-pw-2026');
  await pwf.getByRole('button', { name: 'Change password' }).click();
  await u.getByText('The current password is wrong.').waitFor();
  await pwf.getByLabel('Current password').fill(USER_PW);
  await pwf.getByRole('button', { name: 'Change password' }).click();
  await u.getByText('Your password was changed.').waitFor();
  check(await imapLogin(USER, 'olly-new-pw-2026') && !(await imapLogin(USER, USER_PW)), 'the password changed in the settings is the one IMAP takes');

  // ---- accessibility of the new views ----
  const a = await newPage({ bypassCSP: true });
  await signIn(a, '/admin', ROOT, ROOT_PW);
  await a.getByRole('region', { name: 'Users' }).getByRole('table').waitFor();
  await a.getByRole('button', { name: 'Edit newbie' }).click();
  await a.getByRole('form', { name: 'Edit newbie' }).waitFor();
  await scan(a, 'the users view');
  const nav = a.getByRole('navigation', { name: 'Administration sections' });
  for (const [tab, what] of [['Domains', null], ['Tenants', 'table'], ['Groups', 'table'], ['Orphaned stores', null], ['Outbound queue', null], ['System status', null]]) {
    await nav.getByRole('button', { name: tab }).click();
    await a.getByRole('region', { name: tab }).waitFor();
    if (what) await a.getByRole('region', { name: tab }).getByRole('table').waitFor();
    if (tab === 'Tenants') {
      await a.getByRole('button', { name: 'Edit default' }).click();
      await a.getByRole('form', { name: 'New contact' }).waitFor();
    }
    if (tab === 'Domains') {
      await a.getByRole('button', { name: 'DNS records example.org' }).click();
      await a.locator('.dns-table').waitFor();
    }
    await scan(a, `the ${tab} view`);
  }
  await a.goto(BASE + '/settings');
  await a.getByRole('form', { name: 'Out of office' }).waitFor();
  await a.getByRole('region', { name: 'App passwords' }).waitFor();
  await scan(a, 'the settings');
  await a.emulateMedia({ colorScheme: 'dark' });
  await scan(a, 'the settings (dark)');
  await a.setViewportSize({ width: 360, height: 740 });
  await a.goto(BASE + '/admin');
  await a.getByRole('region', { name: 'Users' }).getByRole('table').waitFor();
  await scan(a, 'the users view on a 360 px phone (dark)');
  if (SHOTS) await a.screenshot({ path: join(SHOTS, 'admin-phone-dark.png') });

  check(consoleErrors.length === 0, 'no errors from the app: ' + consoleErrors.join(' | '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  for (const [i, c] of contexts.entries()) {
    for (const p of c.pages()) {
      await p.screenshot({ path: join(ARTIFACTS, `failure-${i}.png`), fullPage: true }).catch(() => {});
      writeFileSync(join(ARTIFACTS, `failure-${i}.html`), await p.content().catch(() => ''));
    }
  }
  writeFileSync(join(ARTIFACTS, 'console.txt'), consoleLog.join('\n'));
}
await browser.close();
process.exit(failed ? 1 : 0);
