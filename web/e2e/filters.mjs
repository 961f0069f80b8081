// Filter rules (Settings), in Debian's Chromium, started by internal/app's
// TestWebFiltersE2E, which made the folder "Reports" and afterwards
// delivers by LMTP and checks over IMAP where the mail landed. Here: the
// rules <-> Sieve round trip of web/src/settings/sieverules.js (in node);
// a script the form cannot show opens in the raw editor; the user clears
// it, builds "subject contains [report] → move to Reports, stop" in the
// form and saves; after a reload the form shows the rule again (read back
// from the script); the raw editor shows the Sieve, and a syntax error is
// reported at its line (the line marked, the caret put there) and not
// saved. Axe scans the form and the raw editor, light and dark.
// Env: BASE, USER, PASS, ARTIFACTS, SHOTS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { toSieve, fromSieve } from '../src/settings/sieverules.js';

const { BASE, USER, PASS, ARTIFACTS, SHOTS } = process.env;
mkdirSync(ARTIFACTS, { recursive: true });
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok:', what);
}

// ---- the round trip, without a browser ----
const every = [
  { name: 'Reports', match: 'allof', conds: [{ field: 'subject', op: 'contains', value: '[report]' }], actions: [{ type: 'fileinto', folder: 'Reports' }, { type: 'stop' }] },
  { name: 'Big "ones" \\ back', match: 'anyof', conds: [{ field: 'size', op: 'over', value: '500' }, { field: 'header', header: 'X-Spam', op: 'is', value: 'a\\b"c' },
    { field: 'from', op: 'is', value: 'x@example.net' }, { field: 'to', op: 'contains', value: 'me' }],
  actions: [{ type: 'read' }, { type: 'flag' }, { type: 'redirect', to: 'a@example.net' }, { type: 'copy', to: 'c@example.net' }, { type: 'discard' }] },
  { name: '', match: 'allof', conds: [], actions: [{ type: 'stop' }] },
];
check(JSON.stringify(fromSieve(toSieve(every))) === JSON.stringify(every), 'every condition and action survives rules → Sieve → rules');
check(fromSieve('require "fileinto";\nif header :matches "subject" "*x*" { fileinto "Reports"; }\n') === null, 'a script outside the form\'s shape is not read as rules');
check(fromSieve(toSieve(every).replace('discard;', 'keep;')) === null, 'an action the form lacks makes the script raw-only');
check(fromSieve(toSieve(every) + '# a note\n') === null, 'a comment the form would drop makes the script raw-only');

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
await context.tracing.start({ screenshots: true, snapshots: true });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
async function axe(name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.addScriptTag({ path: axePath });
    const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    check(bad.length === 0, `axe finds nothing serious on ${name} (${scheme}): ` + JSON.stringify(bad.map((v) => ({ id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target) }))));
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

let failed = false;
try {
  await page.goto(BASE + '/settings');
  await page.getByLabel('Address or login name').fill(USER);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const sec = page.getByRole('region', { name: 'Filter rules' });
  await sec.getByText('No rules.').waitFor();
  check(true, 'no script yet: the form, with no rules');

  // A script the form cannot show, saved raw, opens in the raw editor.
  await sec.getByRole('button', { name: 'Edit as Sieve' }).click();
  const editor = sec.getByRole('textbox', { name: 'Sieve script' });
  await editor.fill('require "fileinto";\nif header :matches "subject" "*weekly*" {\n  fileinto "Reports";\n}\n');
  await sec.getByRole('button', { name: 'Save script' }).click();
  await sec.getByText('Filter rules saved.').waitFor();
  await page.reload();
  await editor.waitFor();
  check((await editor.inputValue()).includes(':matches'), 'a script outside the form\'s shape opens in the raw editor');
  await sec.getByText('This script uses Sieve the rule editor cannot show').first().waitFor();
  await sec.getByRole('button', { name: 'Edit as rules' }).click();
  check(await editor.count() === 1, 'and stays there when asked for the form');

  // Cleared, it is an empty rule list: build the rule in the form.
  await editor.fill('');
  await sec.getByRole('button', { name: 'Edit as rules' }).click();
  await sec.getByText('No rules.').waitFor();
  await sec.getByRole('button', { name: 'Add rule' }).click();
  const rule = sec.getByRole('group', { name: /^Rule 1/ });
  await rule.getByLabel('Rule name').fill('Reports');
  const cond = rule.getByRole('group', { name: 'Condition 1' });
  await cond.getByRole('combobox', { name: 'Field' }).selectOption('subject');
  await cond.getByRole('combobox', { name: 'Comparison' }).selectOption('contains');
  await cond.getByRole('textbox', { name: 'Value' }).fill('[report]');
  const act = rule.getByRole('group', { name: 'Action 1' });
  await act.getByRole('combobox', { name: 'Action' }).selectOption('fileinto');
  await act.getByRole('combobox', { name: 'Folder' }).selectOption('Reports');
  await rule.getByRole('button', { name: 'Add action' }).click();
  await rule.getByRole('group', { name: 'Action 2' }).getByRole('combobox', { name: 'Action' }).selectOption('stop');
  await axe('the filter form');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-filters.png') });
  await sec.getByRole('button', { name: 'Save rules' }).click();
  await sec.getByText('Filter rules saved.').waitFor();

  // Read back from the server's script after a reload.
  await page.reload();
  const again = sec.getByRole('group', { name: /^Rule 1/ });
  await again.waitFor();
  check(await again.getByLabel('Rule name').inputValue() === 'Reports', 'after a reload the form shows the rule\'s name');
  check(await again.getByRole('group', { name: 'Condition 1' }).getByRole('textbox', { name: 'Value' }).inputValue() === '[report]', 'and its condition');
  check(await again.getByRole('group', { name: 'Action 1' }).getByRole('combobox', { name: 'Folder' }).inputValue() === 'Reports', 'and its folder');
  check(await again.getByRole('group', { name: 'Action 2' }).getByRole('combobox', { name: 'Action' }).inputValue() === 'stop', 'and its stop');

  // The raw editor: the same rule as Sieve; a syntax error at its line.
  await sec.getByRole('button', { name: 'Edit as Sieve' }).click();
  const src = await editor.inputValue();
  check(src.includes('if allof (header :contains "subject" "[report]") {') && src.includes('fileinto "Reports";'), 'the raw editor shows the Sieve: ' + JSON.stringify(src));
  await editor.fill('require ["fileinto"];\nif header :contains "subject" "x" {\n  fileinto "Reports"\n}\n');
  await sec.getByRole('button', { name: 'Check' }).click();
  const alert = sec.getByRole('alert');
  await alert.waitFor();
  const msg = await alert.textContent();
  check(/^Line 4: /.test(msg), 'the missing semicolon is reported at line 4 (where the parser finds "}"): ' + msg);
  check(await sec.locator('.sieve-gutter [data-line="4"]').getAttribute('class') === 'err', 'the gutter marks line 4');
  check(await editor.getAttribute('aria-invalid') === 'true', 'the editor is marked invalid for screen readers');
  const caret = await editor.evaluate((el) => el.value.slice(0, el.selectionStart).split('\n').length);
  check(caret === 4, 'the caret is put on line 4: ' + caret);
  await axe('the raw editor with an error');
  if (SHOTS) await sec.screenshot({ path: join(SHOTS, 'settings-sieve-error.png') });
  await sec.getByRole('button', { name: 'Save script' }).click();
  await page.waitForTimeout(500);
  check(!(await sec.getByRole('status').textContent()).includes('saved'), 'the broken script is not saved');
  await page.reload();
  await sec.getByRole('group', { name: /^Rule 1/ }).waitFor();
  check(true, 'after a reload the saved rule (not the broken script) is there');
  check(pageErrors.length === 0, 'no page errors: ' + pageErrors.join(' | '));
  console.log('OK');
} catch (e) {
  failed = true;
  console.error(e);
  await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await context.tracing.stop({ path: join(ARTIFACTS, 'trace.zip') }).catch(() => {});
  await browser.close();
}
process.exit(failed ? 1 : 0);
