/**
 * Seconds spent in each step of a sequence, for one debug line (DESIGN.md: know where the
 * time goes before changing it).
 */
export class StepTimes {
  private last = performance.now();
  private readonly times: Record<string, string> = {};

  /** The step `name` ended now: its time is since the previous mark. */
  mark(name: string): void {
    const now = performance.now();
    this.times[name] = ((now - this.last) / 1000).toFixed(3);
    this.last = now;
  }

  fields(): Record<string, string> {
    return { ...this.times };
  }
}
