import { createRoot } from 'react-dom/client';
import { App } from './components/app.js';

createRoot(document.getElementById('root')!).render(<App />);

if ('serviceWorker' in navigator) {
  // The app shell works offline; the queued messages come from IndexedDB.
  void navigator.serviceWorker.register('/sw.js').catch(() => {});
}
