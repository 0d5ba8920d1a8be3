/**
 * Following a run's events.jsonl while another process appends to it (re-attaching after a
 * window reload, and the live view of runs started here). `LineBuffer` is the pure part: bytes
 * in, complete lines out, a torn last line kept until its newline arrives. `EventTail` polls
 * the file's size (fs.watch is unreliable on network and container file systems) and reads what
 * was appended.
 */
import * as fs from 'fs';
import { isEvent, type WireEvent } from '../../../media/src/shared/validate';

export class LineBuffer {
  private rest = Buffer.alloc(0);

  /** Feed bytes; returns the complete lines (without newline, UTF-8 decoded). */
  push(chunk: Buffer): string[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      lines.push(buf.subarray(start, nl).toString('utf8').replace(/\r$/, ''));
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return lines;
  }

  /** Bytes of an incomplete last line. */
  get pending(): number {
    return this.rest.length;
  }
}

/** Parse event lines; blank, torn or malformed lines are skipped (and counted). */
export function parseEventLines(lines: string[]): { events: WireEvent[]; skipped: number } {
  const events: WireEvent[] = [];
  let skipped = 0;
  for (const line of lines) {
    const t = line.replace(/\0/g, '').trim();
    if (!t) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (isEvent(v)) events.push(v);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { events, skipped };
}

export class EventTail {
  private offset = 0;
  private readonly lines = new LineBuffer();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  readonly events: WireEvent[] = [];

  constructor(
    readonly file: string,
    private readonly onEvents: (events: WireEvent[], from: number) => void,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    if (this.timer) return;
    this.poll();
    this.timer = setInterval(() => this.poll(), this.everyMs);
  }

  /** Read whatever was appended since the last poll (synchronously). */
  poll(): void {
    if (this.reading) return;
    this.reading = true;
    let fd: number | undefined;
    try {
      const size = fs.statSync(this.file).size;
      if (size < this.offset) {
        // Truncated (a torn tail was cut by a resume): everything before is still valid.
        this.offset = size;
      }
      if (size === this.offset) return;
      fd = fs.openSync(this.file, 'r');
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const { events } = parseEventLines(this.lines.push(buf.subarray(0, n)));
      if (events.length) {
        const from = this.events.length;
        this.events.push(...events);
        this.onEvents(events, from);
      }
    } catch {
      // not there yet, or gone: try again at the next poll
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      this.reading = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
