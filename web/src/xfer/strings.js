// The catalogue's entries for copying and moving messages between
// accounts (Email/copy) and managing folders in shared and public
// folders (merged into i18n.js's catalogue; build.mjs checks this file
// as it checks i18n.js).
import { catalogue } from '../i18n.js';

export const strings = {
  en: {
    xferCopyTo: 'Copy to…',
    xferCopyMine: 'Copy to my folders',
    xferMyFolders: 'My folders',
    xferCopied: 'Copied to {folder}.',
    xferCopiedN: '{n} messages copied to {folder}.',
    xferNoAdd: 'You may not add messages to that folder.',
    xferNoCreate: 'You may not create folders in “{name}”.',
    xferNoRename: 'You may not rename or delete “{name}”.',
    xferPublicCalendars: 'Public calendars',
  },
  de: {
    xferCopyTo: 'Kopieren nach…',
    xferCopyMine: 'In meine Ordner kopieren',
    xferMyFolders: 'Meine Ordner',
    xferCopied: 'Nach {folder} kopiert.',
    xferCopiedN: '{n} Nachrichten nach {folder} kopiert.',
    xferNoAdd: 'Sie dürfen diesem Ordner keine Nachrichten hinzufügen.',
    xferNoCreate: 'Sie dürfen in „{name}“ keine Ordner anlegen.',
    xferNoRename: 'Sie dürfen „{name}“ nicht umbenennen oder löschen.',
    xferPublicCalendars: 'Öffentliche Kalender',
  },
};

for (const l of Object.keys(strings)) Object.assign(catalogue[l], strings[l]);
