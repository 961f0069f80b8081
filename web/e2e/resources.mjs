// The web admin's rooms and equipment and tenant settings, in Debian's
// Chromium, started by internal/app's TestWebAdminResourcesE2E, which
// seeds a tenant administrator (TADMIN, tenant "default"), a system
// administrator (ROOT), and a room of another tenant (OTHER_ROOM, which
// TADMIN must not see), and afterwards checks the results through the
// admin API (the socket `roost admin` uses). Env: BASE, TADMIN,
// TADMIN_PW, ROOT, ROOT_PW, OTHER_ROOM, OTHER_TENANT, ARTIFACTS, SHOTS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, TADMIN, TADMIN_PW, ROOT, ROOT_PW, OTHER_ROOM, OTHER_TENANT, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const pageErrors = [];
const pages = [];
async function session() {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', colorScheme: 'light' });
  await ctx.tracing.start({ screenshots: true, snapshots: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => d.accept()); // the delete confirmations
  pages.push([ctx, page]);
  return page;
}
async function signIn(page, user, pass) {
  await page.goto(BASE + '/admin');
  await page.getByLabel('Address or login name').fill(user);
  await page.getByLabel('Password').fill(pass);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(page, name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}
async function axeBoth(page, name) {
  await axe(page, name);
  await page.emulateMedia({ colorScheme: 'dark' });
  await axe(page, name + ' (dark)');
  await page.emulateMedia({ colorScheme: 'light' });
}
const tab = (page, name) => page.getByRole('navigation', { name: 'Administration sections' }).getByRole('button', { name, exact: true }).click();

let failed = false;
try {
  // ---- the tenant administrator: rooms and equipment of their tenant ----
  const a = await session();
  await signIn(a, TADMIN, TADMIN_PW);
  await a.getByRole('region', { name: 'Users' }).waitFor();
  await tab(a, 'Rooms and equipment');
  const sec = a.getByRole('region', { name: 'Rooms and equipment' }).first();
  await sec.getByText('No rooms or equipment yet.').waitFor();
  check(await a.getByText(OTHER_ROOM).count() === 0, 'a tenant admin does not see another tenant\'s room');
  const nf = a.getByRole('form', { name: 'New room or equipment' });
  await nf.getByLabel('Login').fill('room7');
  await nf.getByLabel('Full name').fill('Room 7');
  await nf.getByLabel('Email address').fill('room7@example.org');
  await nf.getByLabel('Room', { exact: true }).check();
  await nf.getByLabel('Accept invitations automatically').check();
  await nf.getByLabel('Decline conflicting bookings').check();
  await nf.getByLabel('Decline recurring bookings').uncheck();
  await nf.getByRole('button', { name: 'Create' }).click();
  await a.getByText('Created room7.').waitFor();
  const row = a.getByRole('row').filter({ has: a.getByRole('rowheader', { name: 'room7', exact: true }) });
  await row.waitFor();
  const cells = await row.getByRole('cell').allTextContents();
  check(cells.join('|') === 'Room 7|room7@example.org|default|Room||yes|yes|no|Edit room7', 'the room is listed with its rules: ' + cells.join('|'));
  // Edit: decline recurring too.
  await row.getByRole('button', { name: 'Edit room7' }).click();
  const ef = a.getByRole('form', { name: 'Edit room7' });
  await ef.getByLabel('Decline recurring bookings').check();
  await ef.getByRole('button', { name: 'Save' }).click();
  await a.getByText('Saved room7.').waitFor();
  await row.getByRole('cell').nth(7).filter({ hasText: 'yes' }).waitFor();
  check(true, 'the room now declines recurring bookings');
  // Equipment with a capacity, then deleted.
  await nf.getByLabel('Login').fill('beamer');
  await nf.getByLabel('Full name').fill('Beamer');
  await nf.getByLabel('Email address').fill('beamer@example.org');
  await nf.getByLabel('Equipment').check();
  await nf.getByLabel('Capacity').fill('3');
  await nf.getByRole('button', { name: 'Create' }).click();
  await a.getByText('Created beamer.').waitFor();
  const brow = a.getByRole('row').filter({ has: a.getByRole('rowheader', { name: 'beamer', exact: true }) });
  await brow.waitFor();
  const bcells = await brow.getByRole('cell').allTextContents();
  check(bcells[3] === 'Equipment' && bcells[4] === '3', 'the equipment is listed with capacity 3: ' + bcells.join('|'));
  await axeBoth(a, 'rooms and equipment');
  if (SHOTS) await a.screenshot({ path: join(SHOTS, 'admin-resources.png'), fullPage: true });
  await brow.getByRole('button', { name: 'Edit beamer' }).click();
  await a.getByRole('form', { name: 'Edit beamer' }).getByRole('button', { name: 'Delete beamer' }).click();
  await a.getByText('Deleted beamer.').waitFor();
  await brow.waitFor({ state: 'detached' });
  check(true, 'the equipment is deleted');
  // Another tenant's room is not reachable by a direct request either.
  const direct = await a.evaluate(async (r) => (await fetch(`/web/admin/v1/users/${r}`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: '{"mr_accept":false}' })).status, OTHER_ROOM);
  check(direct === 404 || direct === 403, `the admin API refuses another tenant's room to a tenant admin (${direct})`);
  // The tenant: their own only, read-only.
  await tab(a, 'Tenants');
  const tl = a.getByRole('region', { name: 'Tenants' });
  await tl.getByRole('table').waitFor();
  const names = await tl.getByRole('rowheader').allTextContents();
  check(names.length === 1 && names[0] === 'default', 'a tenant admin sees only their tenant: ' + names.join(','));
  await tl.getByRole('button', { name: 'Edit default' }).click();
  const te = a.getByRole('region', { name: 'Settings of default' });
  await te.getByText('Only a system administrator changes these; you see them.').waitFor();
  check(await te.getByRole('button', { name: 'Save' }).count() === 0 && await te.getByLabel('Hard limit (MB)').isDisabled(), 'and the settings are read-only');
  const patch = await a.evaluate(async () => (await fetch('/web/admin/v1/tenants/default', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: '{"user_quota_hard_mb":1}' })).status);
  check(patch === 403, `the store refuses a tenant admin's change of the tenant's quota (${patch})`);
  await axeBoth(a, 'the tenant settings (tenant admin)');

  // ---- the system administrator: another tenant's quotas, viewers, admins ----
  const r = await session();
  await signIn(r, ROOT, ROOT_PW);
  await r.getByRole('region', { name: 'Users' }).waitFor();
  await tab(r, 'Tenants');
  const rl = r.getByRole('region', { name: 'Tenants' });
  await rl.getByRole('button', { name: 'Edit ' + OTHER_TENANT }).click();
  const oe = r.getByRole('region', { name: 'Settings of ' + OTHER_TENANT });
  await oe.getByLabel('Hard limit (MB)').fill('500');
  await oe.getByLabel('Warn at (MB)').fill('400');
  await oe.getByLabel('Warn when the tenant uses (MB)').fill('10000');
  await oe.getByRole('button', { name: 'Save' }).click();
  await r.getByText(`Saved ${OTHER_TENANT}.`).waitFor();
  await oe.getByLabel('Tenant to add as a viewer').fill('default');
  await oe.getByRole('group', { name: 'Tenants that see its address list (viewers)' }).getByRole('button', { name: 'Add' }).click();
  await oe.getByRole('group', { name: 'Tenants that see its address list (viewers)' }).getByRole('listitem').filter({ hasText: 'default' }).waitFor();
  await oe.getByLabel('Login to add as an administrator').fill(TADMIN);
  await oe.getByRole('group', { name: 'Administrators of this tenant' }).getByRole('button', { name: 'Add' }).click();
  const adm = oe.getByRole('group', { name: 'Administrators of this tenant' }).getByRole('listitem').filter({ hasText: TADMIN });
  await adm.waitFor();
  await adm.getByRole('button', { name: 'Remove ' + TADMIN }).click();
  await adm.waitFor({ state: 'detached' });
  check(true, 'a system administrator sets another tenant\'s quotas, adds a viewer, adds and removes an administrator');
  await axeBoth(r, 'the tenant settings (system admin)');
  if (SHOTS) await oe.screenshot({ path: join(SHOTS, 'admin-tenant.png') });
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
