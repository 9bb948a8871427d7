// Diagnostics: what grew between two V8 heap snapshots (e.g. the soak's, SOAK_HEAP_SNAPSHOTS=<dir>).
//   npx tsx scripts/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [rows]
// Prints, per object kind (V8 node type and constructor or name), the change in count and in bytes held directly
// (self size), largest growth first. Growth that tracks the number of requests served is a leak; a fixed step
// (compiled code, a pool filled once) is not.
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: string[]; readonly node_types: [string[], ...unknown[]] };
  };
  readonly nodes: number[];
  readonly strings: string[];
}

interface KindTotals {
  count: number;
  bytes: number;
}

/** Count and self size per kind: `type:name`, with strings, numbers and code grouped by type alone. */
function totalsByKind(snapshot: HeapSnapshot): Map<string, KindTotals> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const totals = new Map<string, KindTotals>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt] ?? 0] ?? 'unknown';
    const name = snapshot.strings[snapshot.nodes[i + nameAt] ?? 0] ?? '';
    const grouped = ['string', 'concatenated string', 'sliced string', 'number', 'code', 'hidden'].includes(type);
    const kind = grouped ? type : `${type}:${name.slice(0, 80)}`;
    const entry = totals.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt] ?? 0;
    totals.set(kind, entry);
  }
  return totals;
}

function main(): void {
  const [beforeFile, afterFile, rowsArg] = process.argv.slice(2);
  if (!beforeFile || !afterFile) {
    process.stderr.write('usage: tsx scripts/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [rows]\n');
    process.exit(2);
  }
  const load = (file: string) => totalsByKind(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot);
  const before = load(beforeFile);
  const after = load(afterFile);
  const kinds = new Set([...before.keys(), ...after.keys()]);
  const rows = [...kinds]
    .map((kind) => {
      const b = before.get(kind) ?? { count: 0, bytes: 0 };
      const a = after.get(kind) ?? { count: 0, bytes: 0 };
      return { kind, count: a.count - b.count, bytes: a.bytes - b.bytes, countAfter: a.count };
    })
    .sort((x, y) => y.bytes - x.bytes);
  const sum = (map: Map<string, KindTotals>) => [...map.values()].reduce((total, t) => total + t.bytes, 0);
  process.stdout.write(
    `self size: before ${sum(before)} B, after ${sum(after)} B, change ${sum(after) - sum(before)} B\n`,
  );
  for (const row of rows.slice(0, Number(rowsArg ?? 40)))
    process.stdout.write(
      `${String(row.bytes).padStart(10)} B ${String(row.count).padStart(7)} objects (now ${row.countAfter})  ${row.kind}\n`,
    );
}

main();
