import { followTheme } from './theme.js';

// Loaded by index.html as a classic, blocking script in <head>, before the style sheet applies and
// before the app's module script: the first paint is already in the right theme (no flash), and a
// file of our own origin needs no 'unsafe-inline' in the Content-Security-Policy.
followTheme();
