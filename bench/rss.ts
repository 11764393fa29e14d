// Samples a process's resident set size (VmRSS in /proc/<pid>/status) every ~50 ms and keeps the
// peak of each named phase.
import { readFileSync } from 'node:fs';

export function readRss(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export class RssSampler {
  private readonly pid: number;
  private readonly timer: NodeJS.Timeout;
  private phase: string | null = null;
  readonly peaks = new Map<string, number>();
  samples = 0;

  constructor(pid: number, intervalMs = 50) {
    this.pid = pid;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    if (this.phase === null) return;
    const rss = readRss(this.pid);
    if (rss === null) return;
    this.samples++;
    this.peaks.set(this.phase, Math.max(this.peaks.get(this.phase) ?? 0, rss));
  }

  /** Starts attributing samples to `phase` (null: stop sampling); samples once right away. */
  enter(phase: string | null): void {
    this.phase = phase;
    this.sample();
  }

  peak(phase: string): number {
    const value = this.peaks.get(phase);
    if (value === undefined) throw new Error(`no RSS sample in phase ${phase}`);
    return value;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
