/**
 * Runs an async task one run at a time: asking while a run is under way makes exactly one more run
 * after it (the asks in between fold into that one). A failed run is handed to `onError`; the
 * next ask runs the task again. The queue dispatchers (push, webhooks) run their cycles this way.
 */
export class SerialRuns {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  request(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  /** Asks for no more runs; resolves when the one under way (and the one it queued) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.again = false;
    await this.running;
  }
}
