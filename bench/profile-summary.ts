/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile>`: where a V8 CPU profile
 * spent its samples, by area of the service (database driver, crypto,
 * validation, HTTP, logging, access log, ...) and by function.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins: package or file path -> area. */
const AREAS: [RegExp, string][] = [
  [
    /node_modules\/(mongodb|bson|mongoose|mquery|kareem)\//,
    'database driver (mongodb, bson, mongoose)',
  ],
  [
    /node_modules\/autocannon\/|node_modules\/hdr-histogram|bench\//,
    'load generator (autocannon) and bench',
  ],
  [/node_modules\/(joi|@hapi|@sideway)\//, 'validation (joi)'],
  [
    /node_modules\/pino|node_modules\/sonic-boom|src\/http\/request-logger|src\/logger/,
    'logging (pino)',
  ],
  [/node_modules\/(canonicalize)\/|src\/audit\//, 'access log (canonical JSON, chain, writer)'],
  [
    /node:internal\/crypto|node_modules\/node-forge\/|src\/crypto\//,
    'crypto (node:crypto, field cipher)',
  ],
  [
    /node_modules\/(express|router|body-parser|raw-body|type-is|helmet|express-rate-limit|finalhandler|send|qs|iconv-lite)\/|node:_http|node:http|src\/http\//,
    'HTTP (express, body parsing, headers)',
  ],
  [/node_modules\/prom-client\//, 'metrics (prom-client)'],
  [/src\/quota\//, 'checkout and quota rules'],
  [/src\/identities\//, 'identities'],
  [/src\//, 'other service code'],
  [/node:|^$/, 'node core, native, GC'],
];

function areaOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle (waiting on I/O)';
  if (functionName === '(garbage collector)') return 'garbage collector';
  for (const [pattern, area] of AREAS) if (pattern.test(url)) return area;
  return 'other packages';
}

function main(file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const node = nodes.get(id)!;
    const delta = profile.timeDeltas[index] ?? 0;
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + delta);
    if (area === 'idle (waiting on I/O)') return;
    busy += delta;
    const where = node.callFrame.url.replace(/^.*\/(node_modules|src|bench)\//, '$1/');
    const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
  });
  const rows = (map: Map<string, number>, total: number, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, micros]) => `  ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
      .join('\n');
  const all = [...byArea.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`samples: ${(all / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s\n`);
  process.stdout.write(`by area (share of all samples):\n${rows(byArea, all, 20)}\n`);
  process.stdout.write(`top functions (share of busy samples):\n${rows(byFunction, busy, 25)}\n`);
}

main(process.argv[2] ?? '');
