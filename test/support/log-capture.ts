/** Collects what the code under test writes to stdout/stderr, so tests can assert on logs (and on what they must never hold). */

const captured: string[] = [];
const originals: Array<() => void> = [];

export function installLogCapture(): void {
  if (originals.length > 0) return;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    originals.push(() => {
      stream.write = original;
    });
    const capture = (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (typeof done === 'function') (done as () => void)();
      return true;
    };
    stream.write = capture as typeof stream.write;
  }
}

/** Give the streams back (Jest's own reporter may share this process). */
export function restoreLogCapture(): void {
  originals.splice(0).forEach((restore) => restore());
}

/** Every captured line so far. */
export function capturedLogLines(): string[] {
  return captured
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Captured JSON log records (Powertools lines). */
export function capturedLogRecords(): Record<string, unknown>[] {
  return capturedLogLines().flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}
