// Drives Roost's JMAP server with the unmodified jmap-client-ts client
// (npm), authenticated with HTTP Basic.
// Usage: JMAP_PASSWORD=... node jmapclientts.mjs SESSION_URL LOGIN
// jmap-client-ts always builds "Authorization: Bearer <accessToken>", but
// its constructor's httpHeaders are merged over its defaults, so passing
// an Authorization header there is the client's own way to use Basic.
// The transport is its own FetchTransport over Node's fetch. Prints one
// JSON object with what each step returned.
import clientPkg from "jmap-client-ts";
import transportPkg from "jmap-client-ts/lib/utils/fetch-transport.js";

const { Client } = clientPkg;
const { FetchTransport } = transportPkg;
const [sessionUrl, login] = process.argv.slice(2);
const basic = "Basic " + Buffer.from(login + ":" + process.env.JMAP_PASSWORD).toString("base64");

const out = {};
const client = new Client({
  sessionUrl,
  accessToken: "",
  transport: new FetchTransport(fetch),
  httpHeaders: { Authorization: basic },
});
await client.fetchSession();
const session = client.getSession();
out.username = session.username;
out.apiUrl = session.apiUrl;
const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"];
out.accountId = accountId;
out.firstAccountId = client.getFirstAccountId();

const mailboxes = await client.mailbox_get({ accountId, ids: null });
const inbox = mailboxes.list.find((m) => m.role === "inbox");
out.inbox = inbox.id;
out.inboxTotal = inbox.totalEmails;

const query = await client.email_query({
  accountId,
  filter: { inMailbox: inbox.id },
  sort: [{ property: "receivedAt", isAscending: false }],
  calculateTotal: true,
});
out.query = query.ids;
out.total = query.total;

const emails = await client.email_get({ accountId, ids: query.ids, properties: ["id", "subject", "from", "receivedAt"] });
out.emails = emails.list;
out.notFound = emails.notFound;

// An error response is thrown as the method's error object.
try {
  await client.email_get({ accountId: "Anobody", ids: [] });
  out.error = null;
} catch (err) {
  out.error = err.type;
}
console.log(JSON.stringify(out));
