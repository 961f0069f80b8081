// End-to-end test of the settings' ActiveSync device list in Debian's
// Chromium, driven by playwright-core. Started by internal/app's
// TestWebDevicesE2E, which registers the devices through real ActiveSync
// requests and afterwards checks that each wiped device's next Provision
// carries the wipe. Env:
//   BASE              https://127.0.0.1:port of roost
//   USER, USER_PW     the user whose devices these are
//   FULL              a 14.1 device to wipe entirely
//   ACCOUNT           a 16.1 device to wipe the account from
//   REMOVE            a device to remove
//   ARTIFACTS         where failures leave screenshots
//   SHOTS             if set, where the docs' screenshots go
// It prints "OK" and exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const { BASE, USER, USER_PW, FULL, ACCOUNT, REMOVE, ARTIFACTS, SHOTS } = process.env;
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
// bypassCSP: axe-core is injected into the page.
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', bypassCSP: true });
const p = await ctx.newPage();
const errors = [];
p.on('pageerror', (e) => errors.push(String(e)));
p.on('console', (m) => { if (m.type() === 'error' && (m.location().url || '').includes('/assets/')) errors.push(m.text()); });

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function scan(name) {
  await p.addScriptTag({ path: axePath });
  const r = await p.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe finds nothing serious on ${name}: ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
}

let failed = false;
try {
  await p.goto(BASE + '/settings');
  await p.getByLabel('Address or login name').fill(USER);
  await p.getByLabel('Password').fill(USER_PW);
  await p.getByRole('button', { name: 'Sign in' }).click();
  const list = p.getByRole('region', { name: 'Phones and tablets (ActiveSync)' });
  const row = (id) => list.getByRole('row').filter({ has: p.getByRole('rowheader', { name: id, exact: true }) });
  for (const id of [FULL, ACCOUNT, REMOVE]) await row(id).waitFor();
  check(true, 'the three devices registered over ActiveSync are listed');
  const full = await row(FULL).textContent();
  check(full.includes('iPhone15,2') && full.includes('iOS 17.4') && full.includes('14.1') && full.includes('Provisioned'),
    'the row shows model, OS, protocol and policy state: ' + full);
  check(await list.getByRole('button', { name: `Wipe account data ${FULL}` }).count() === 0, 'no account-only wipe for a 14.1 device');
  check(await list.getByRole('button', { name: `Wipe account data ${ACCOUNT}` }).count() === 1, 'account-only wipe offered for a 16.1 device');
  await scan('the device list');

  // Wipe: the dialog asks first; Cancel changes nothing.
  await list.getByRole('button', { name: `Wipe ${FULL}`, exact: true }).click();
  const dlg = p.getByRole('dialog', { name: `Wipe ${FULL}?` });
  await dlg.waitFor();
  check((await dlg.textContent()).includes('factory settings'), 'the wipe dialog says the whole device is erased');
  if (SHOTS) await p.screenshot({ path: join(SHOTS, 'settings-devices.png') });
  await scan('the wipe dialog');
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await dlg.waitFor({ state: 'detached' });
  check((await row(FULL).textContent()).includes('Provisioned'), 'cancelling the dialog wipes nothing');
  await list.getByRole('button', { name: `Wipe ${FULL}`, exact: true }).click();
  await dlg.getByRole('button', { name: 'Wipe the whole device' }).click();
  await p.getByRole('status').filter({ hasText: `Wipe of ${FULL} requested.` }).waitFor();
  await row(FULL).filter({ hasText: 'Wipe pending' }).waitFor();
  check(await list.getByRole('button', { name: `Wipe ${FULL}`, exact: true }).count() === 0, 'a pending wipe is not offered again');

  // Account-only wipe of the 16.1 device.
  await list.getByRole('button', { name: `Wipe account data ${ACCOUNT}` }).click();
  const adlg = p.getByRole('dialog', { name: `Wipe this account from ${ACCOUNT}?` });
  await adlg.getByRole('button', { name: 'Wipe the account data' }).click();
  await row(ACCOUNT).filter({ hasText: 'Account wipe pending' }).waitFor();
  check(true, 'the account-only wipe is pending');

  // Remove.
  await list.getByRole('button', { name: `Remove ${REMOVE}` }).click();
  await p.getByRole('dialog', { name: `Remove ${REMOVE}?` }).getByRole('button', { name: 'Remove the device' }).click();
  await p.getByRole('status').filter({ hasText: `Removed ${REMOVE}.` }).waitFor();
  await row(REMOVE).waitFor({ state: 'detached' });
  check(true, 'the removed device is gone from the list');

  // A cross-site wipe is refused.
  const csrf = await p.request.fetch(BASE + `/web/self/devices/${ACCOUNT}/wipe`, {
    method: 'POST', headers: { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' }, data: {},
  });
  check(csrf.status() === 403, `a cross-site wipe is refused (${csrf.status()})`);

  check(errors.length === 0, 'no errors from the app: ' + errors.join(' | '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  await p.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  writeFileSync(join(ARTIFACTS, 'failure.html'), await p.content().catch(() => ''));
}
await browser.close();
process.exit(failed ? 1 : 0);
