// Drives Roost's JMAP server with the unmodified jmap-jam client (npm).
// Usage: node jam.mjs SESSION_URL TOKEN MESSAGE_FILE RCPT
// TOKEN is a Roost bearer token (roost admin token create), which
// jmap-jam sends as "Authorization: Bearer". Prints one JSON object with
// what each step returned.
import { readFileSync } from "node:fs";
import JamClient from "jmap-jam";

const [sessionUrl, token, messageFile, rcpt] = process.argv.slice(2);

const out = {};
const jam = new JamClient({ sessionUrl, bearerToken: token });
const accountId = await jam.getPrimaryAccount();
out.accountId = accountId;

const [mailboxes] = await jam.api.Mailbox.get({ accountId });
const inbox = mailboxes.list.find((m) => m.role === "inbox");
const drafts = mailboxes.list.find((m) => m.role === "drafts");
const sent = mailboxes.list.find((m) => m.role === "sent");
out.inbox = inbox.id;
const [before] = await jam.api.Email.get({ accountId, ids: [] });

// upload → Email/import → Email/query + Email/get by back-reference →
// Email/changes
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

// Mailbox/set
const [set] = await jam.api.Mailbox.set({ accountId, create: { p: { name: "From Jam" } } });
out.mailboxCreated = set.created.p;

const dl = await jam.downloadBlob({ accountId, blobId: imported.created.m1.blobId, mimeType: "message/rfc822", fileName: "m.eml" });
out.downloadedBytes = (await dl.arrayBuffer()).byteLength;

// EmailSubmission/set: a draft sent to RCPT, then moved to Sent.
const [identities] = await jam.api.Identity.get({ accountId });
const identity = identities.list[0];
out.identity = identity.email;
const [sub] = await jam.requestMany((t) => {
  const draft = t.Email.set({
    accountId,
    create: {
      d: {
        mailboxIds: { [drafts.id]: true }, keywords: { $draft: true },
        from: [{ email: identity.email }], to: [{ email: rcpt }], subject: "Sent by jmap-jam",
        textBody: [{ partId: "t", type: "text/plain" }], bodyValues: { t: { value: "Hello over JMAP." } },
      },
    },
  });
  const submission = t.EmailSubmission.set({
    accountId,
    create: { s: { identityId: identity.id, emailId: "#d" } },
    onSuccessUpdateEmail: { "#s": { [`mailboxIds/${drafts.id}`]: null, [`mailboxIds/${sent.id}`]: true, "keywords/$draft": null } },
  });
  return { draft, submission };
});
// The implicit Email/set of onSuccessUpdateEmail answers with the same
// call id (RFC 8621 §7.5), so jmap-jam reports it in
// place of the EmailSubmission/set response: the draft's update is the
// sign the submission succeeded.
out.draft = sub.draft.created.d.id;
out.moved = Object.keys(sub.submission.updated || {});

console.log(JSON.stringify(out));
