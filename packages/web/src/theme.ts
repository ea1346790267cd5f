/**
 * The colour theme: the system's (prefers-color-scheme) unless the person picked Light or Dark in
 * settings, which this browser remembers (localStorage, shared by its tabs). The choice is applied
 * as `data-theme="light|dark"` on <html>, which app.css keys its dark palette on. theme-boot.ts
 * applies it before the first paint; settings change it through `setThemeChoice`.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';

export const THEME_CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark'];

const KEY = 'natter.theme';
const DARK_QUERY = '(prefers-color-scheme: dark)';

export function themeChoice(): ThemeChoice {
  try {
    const stored = localStorage.getItem(KEY);
    return stored === 'light' || stored === 'dark' ? stored : 'system';
  } catch {
    return 'system';
  }
}

export function setThemeChoice(choice: ThemeChoice): void {
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // Storage disabled: the choice holds for this page only.
  }
  applyTheme(choice);
}

/** Puts the theme on <html>; with 'system', the one the system prefers now. */
export function applyTheme(choice: ThemeChoice = themeChoice()): void {
  const dark = choice === 'dark' || (choice === 'system' && matchMedia(DARK_QUERY).matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

/** Keeps the page's theme current as the system's changes and as other tabs change the choice. */
export function followTheme(): void {
  applyTheme();
  matchMedia(DARK_QUERY).addEventListener('change', () => applyTheme());
  addEventListener('storage', (event: StorageEvent) => {
    if (event.key === KEY || event.key === null) applyTheme();
  });
}
