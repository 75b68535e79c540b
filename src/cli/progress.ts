/** Progress output: a redrawn bar on a TTY, plain lines (every 10 %) otherwise. */
export class ProgressReporter {
  private lastLine = '';
  private lastDecile = -1;
  constructor(private readonly out: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr) {}

  private get tty(): boolean {
    return Boolean((this.out as NodeJS.WriteStream).isTTY);
  }

  update(label: string, fraction: number): void {
    const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    if (this.tty) {
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      const line = `${label.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}%`;
      if (line !== this.lastLine) this.out.write(`\r${line}`);
      this.lastLine = line;
      return;
    }
    const key = `${label}:${Math.floor(pct / 10)}`;
    if (key !== this.lastLine || this.lastDecile === -1) {
      this.out.write(`${label} ${pct}%\n`);
      this.lastLine = key;
      this.lastDecile = pct;
    }
  }

  done(): void {
    if (this.tty && this.lastLine) this.out.write('\n');
    this.lastLine = '';
  }
}
