// The CLI's view of its process: output streams, terminal and environment, injected so tests run in-process.

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Colour and progress lines only on a terminal. */
  readonly isTTY: boolean;
  readonly env: Record<string, string | undefined>;
}

/** Exit codes, as documented in the README and `tvm --help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, invalid: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface Colours {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
}

/** ANSI colours on a terminal, unless `NO_COLOR` is set. */
export function colour(io: Io): Colours {
  const enabled = io.isTTY && !io.env.NO_COLOR;
  const wrap = (code: number) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2) };
}

/** A progress line on stderr for anything that takes longer than a second; nothing when not a terminal. */
export async function withProgress<T>(io: Io, label: string, work: () => Promise<T>): Promise<T> {
  if (!io.isTTY) return work();
  const frames = ['|', '/', '-', '\\'];
  let frame = 0;
  let shown = false;
  const timer = setInterval(() => {
    shown = true;
    io.stderr(`\r${frames[frame++ % frames.length]} ${label}`);
  }, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    if (shown) io.stderr(`\r${' '.repeat(label.length + 2)}\r`);
  }
}
