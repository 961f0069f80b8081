// The catalogue's entries for the mail additions of issue 12 item 2:
// advanced search, remote content per sender, attachment preview and
// keywords (merged into i18n.js's catalogue; build.mjs checks this file
// like i18n.js).
import { catalogue } from '../i18n.js';

export const strings = {
  en: {
    m2Advanced: 'Advanced search',
    m2SearchText: 'Words',
    m2From: 'From',
    m2To: 'To',
    m2Subject: 'Subject',
    m2After: 'Received on or after',
    m2Before: 'Received before',
    m2HasAttachment: 'Has an attachment',
    m2Tag: 'Tag',
    m2Where: 'Where',
    m2ThisFolder: 'This folder',
    m2AllFolders: 'All folders',
    m2Search: 'Search',
    m2Clear: 'Clear',
    m2SearchBad: 'Not understood: {terms}. Dates are written YYYY-MM-DD.',
    m2InFolders: 'In {folders}',
    m2AlwaysShow: 'Always show from {addr}',
    m2TrustedShown: 'Remote content is shown: you trust {addr}.',
    m2BlockAgain: 'Stop trusting this sender',
    m2RemoteTitle: 'Remote content',
    m2RemoteHelp: 'Mail from these senders shows its remote images and styles without asking. Anyone can forge a sender address; trust only senders whose mail you read anyway.',
    m2RemoteNone: 'No sender is trusted: remote content is blocked until you allow it for a message.',
    m2RemoteRemoved: 'Remote content from {addr} is blocked again.',
    m2RemoteRemove: 'Stop trusting {addr}',
    m2Remove: 'Remove',
  },
  de: {
    m2Advanced: 'Erweiterte Suche',
    m2SearchText: 'Wörter',
    m2From: 'Von',
    m2To: 'An',
    m2Subject: 'Betreff',
    m2After: 'Empfangen am oder nach',
    m2Before: 'Empfangen vor',
    m2HasAttachment: 'Mit Anhang',
    m2Tag: 'Schlagwort',
    m2Where: 'Wo',
    m2ThisFolder: 'Dieser Ordner',
    m2AllFolders: 'Alle Ordner',
    m2Search: 'Suchen',
    m2Clear: 'Leeren',
    m2SearchBad: 'Nicht verstanden: {terms}. Datumsangaben als JJJJ-MM-TT.',
    m2InFolders: 'In {folders}',
    m2AlwaysShow: 'Immer anzeigen von {addr}',
    m2TrustedShown: 'Externe Inhalte werden angezeigt: Sie vertrauen {addr}.',
    m2BlockAgain: 'Diesem Absender nicht mehr vertrauen',
    m2RemoteTitle: 'Externe Inhalte',
    m2RemoteHelp: 'Mails dieser Absender zeigen externe Bilder und Stile ohne Nachfrage. Absenderadressen lassen sich fälschen; vertrauen Sie nur Absendern, deren Mails Sie ohnehin lesen.',
    m2RemoteNone: 'Keinem Absender wird vertraut: externe Inhalte bleiben blockiert, bis Sie sie für eine Nachricht erlauben.',
    m2RemoteRemoved: 'Externe Inhalte von {addr} werden wieder blockiert.',
    m2RemoteRemove: '{addr} nicht mehr vertrauen',
    m2Remove: 'Entfernen',
  },
};

for (const l of Object.keys(strings)) Object.assign(catalogue[l], strings[l]);
