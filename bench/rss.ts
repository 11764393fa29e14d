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

const TICKS_PER_SECOND = 100; // USER_HZ: `getconf CLK_TCK` is 100 on Linux

/** User + system CPU seconds used so far by `pid` (its threads included), or null when it is gone. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * CPU seconds that each of several processes uses from construction on, plus `machine` (all
 * busy CPU) and `other` (machine minus the named processes: whatever else ran).
 */
export class CpuMeter {
  private readonly pids: Map<string, number>;
  private readonly started = new Map<string, number>();
  private readonly machineStarted = readMachineBusySeconds();
  private readonly wallStarted = performance.now();

  constructor(pids: Record<string, number>) {
    this.pids = new Map(Object.entries(pids));
    for (const [name, pid] of this.pids) this.started.set(name, readCpuSeconds(pid) ?? 0);
  }

  /** Seconds used since construction, per process name, `machine`, `other` and `wall`. */
  read(): Record<string, number> {
    const used: Record<string, number> = {};
    let named = 0;
    for (const [name, pid] of this.pids) {
      used[name] = (readCpuSeconds(pid) ?? 0) - (this.started.get(name) ?? 0);
      named += used[name];
    }
    used.machine = readMachineBusySeconds() - this.machineStarted;
    used.other = Math.max(0, used.machine - named);
    used.wall = (performance.now() - this.wallStarted) / 1000;
    return used;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores: /proc/stat minus idle and iowait). */
export function readMachineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    TICKS_PER_SECOND
  );
}
