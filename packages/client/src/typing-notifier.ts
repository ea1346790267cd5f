/**
 * Debounces typing for one conversation: the first keystroke sends `start`, further keystrokes
 * send another `start` at most every `repeatMs` (the server expires a start after ~6 s), and `stop`
 * goes out after `idleMs` without a keystroke, or at once when the message is sent.
 */
export class TypingNotifier {
  private lastStart = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private typing = false;

  constructor(
    private readonly signal: (state: 'start' | 'stop') => void,
    private readonly repeatMs = 3000,
    private readonly idleMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  keystroke(): void {
    const now = this.now();
    if (!this.typing || now - this.lastStart >= this.repeatMs) {
      this.typing = true;
      this.lastStart = now;
      this.signal('start');
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.idleMs);
  }

  /** The message was sent or the input cleared. */
  stop(): void {
    clearTimeout(this.idleTimer);
    if (!this.typing) return;
    this.typing = false;
    this.signal('stop');
  }
}
