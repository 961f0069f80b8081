// The catalogue's entries for the date and time preferences (merged into
// i18n.js's catalogue; build.mjs checks this file as it checks i18n.js).
import { catalogue } from '../i18n.js';

export const strings = {
  en: {
    prefsTitle: 'Time zone and date format',
    prefsHelp: 'Kept on the server: they apply in every browser you sign in from. New events are created in this time zone.',
    prefsZone: 'Time zone',
    prefsZoneBrowser: 'This browser’s ({zone})',
    prefsDateFormat: 'Date format',
    prefsDateAuto: 'The language’s ({example})',
    prefsTimeFormat: 'Time format',
    prefsTime24: '24 hours ({example})',
    prefsTime12: '12 hours ({example})',
    prefsWeekStart: 'First day of the week',
    prefsMonday: 'Monday',
    prefsSunday: 'Sunday',
    prefsSaturday: 'Saturday',
    prefsSaved: 'Time zone and date format saved.',
  },
  de: {
    prefsTitle: 'Zeitzone und Datumsformat',
    prefsHelp: 'Auf dem Server gespeichert: Sie gelten in jedem Browser, in dem Sie sich anmelden. Neue Termine werden in dieser Zeitzone angelegt.',
    prefsZone: 'Zeitzone',
    prefsZoneBrowser: 'Die dieses Browsers ({zone})',
    prefsDateFormat: 'Datumsformat',
    prefsDateAuto: 'Das der Sprache ({example})',
    prefsTimeFormat: 'Zeitformat',
    prefsTime24: '24 Stunden ({example})',
    prefsTime12: '12 Stunden ({example})',
    prefsWeekStart: 'Erster Tag der Woche',
    prefsMonday: 'Montag',
    prefsSunday: 'Sonntag',
    prefsSaturday: 'Samstag',
    prefsSaved: 'Zeitzone und Datumsformat gespeichert.',
  },
};

for (const l of Object.keys(strings)) Object.assign(catalogue[l], strings[l]);
