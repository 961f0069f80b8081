// Drives Roost's JMAP server with the unmodified jmap-jam client (npm).
// Usage: node jam.mjs SESSION_URL LOGIN PASSWORD MESSAGE_FILE
// Prints one JSON object with what each step returned.
//
// jmap-jam authenticates only with bearer tokens. Roost has no tokens yet
// (issue 11, "Auth"), so fetch is wrapped to send the same credentials as
// HTTP Basic: the client itself is not changed.
import { readFileSync } from "node:fs";
import JamClient from "jmap-jam";

const [sessionUrl, login, password, messageFile] = process.argv.slice(2);
const basic = Buffer.from(`${login}:${password}`).toString("base64");
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) => {
  const headers = new Headers(init.headers || {});
  if (headers.get("Authorization") === `Bearer ${basic}`) {
    headers.set("Authorization", `Basic ${basic}`);
  }
  return realFetch(url, { ...init, headers });
};

const out = {};
const jam = new JamClient({ sessionUrl, bearerToken: basic });
const accountId = await jam.getPrimaryAccount();
out.accountId = accountId;

const [mailboxes] = await jam.api.Mailbox.get({ accountId });
const inbox = mailboxes.list.find((m) => m.role === "inbox");
out.inbox = inbox.id;
const [before] = await jam.api.Email.get({ accountId, ids: [] });

const blob = await jam.uploadBlob(accountId, new Blob([readFileSync(messageFile)], { type: "message/rfc822" }));
out.upload = blob;

const [imported] = await jam.api.Email.import({
  accountId,
  emails: { m1: { blobId: blob.blobId, mailboxIds: { [inbox.id]: true }, keywords: { $seen: true } } },
});
out.imported = imported.created.m1;

const [res] = await jam.requestMany((t) => {
  const query = t.Email.query({ accountId, filter: { inMailbox: inbox.id }, sort: [{ property: "receivedAt", isAscending: false }] });
  const emails = t.Email.get({ accountId, ids: query.$ref("/ids"), properties: ["id", "subject", "from", "keywords"] });
  return { query, emails };
});
out.query = res.query.ids;
out.emails = res.emails.list;

const [changes] = await jam.api.Email.changes({ accountId, sinceState: before.state });
out.changes = changes;

const [set] = await jam.api.Mailbox.set({ accountId, create: { p: { name: "From Jam" } } });
out.mailboxCreated = set.created.p;

const dl = await jam.downloadBlob({ accountId, blobId: imported.created.m1.blobId, mimeType: "message/rfc822", fileName: "m.eml" });
out.downloadedBytes = (await dl.arrayBuffer()).byteLength;

console.log(JSON.stringify(out));
