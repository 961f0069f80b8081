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
  },
};

for (const l of Object.keys(strings)) Object.assign(catalogue[l], strings[l]);
