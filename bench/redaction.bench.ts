// Redacting 20,000 log lines with 50 secret values and a PEM key, against the floor of one
// single-pass regex replace of the same forms (what Capstan did before it merged overlapping
// matches), in the same process. Run: node --import tsx bench/redaction.bench.ts
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { median } from './harness.js';
import { Redactor } from '../src/secrets/index.js';

const runs = Number(process.env.RUNS ?? 7);
const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const values = [...Array.from({ length: 50 }, () => randomBytes(12).toString('hex')), pem];
const lines = Array.from({ length: 20_000 }, (_, i) => {
  const line = `2026-12-01T00:00:00Z worker ${i}: processed job ${i * 7} in ${i % 97} ms`;
  return i % 10 === 0 ? `${line} token=${values[i % values.length].split('\n')[1] ?? values[0]}` : line;
});

const redactor = new Redactor(values);
const forms = new Set<string>();
for (const v of values) {
  forms.add(v).add(Buffer.from(v).toString('base64')).add(JSON.stringify(v).slice(1, -1));
  for (const l of v.split('\n')) if (l.trim().length >= 4) forms.add(l.trim());
}
const floor = new RegExp(
  [...forms]
    .sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'g',
);

function time(fn: (line: string) => string): number {
  const start = process.hrtime.bigint();
  for (const line of lines) fn(line);
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const measured = { redactor: [] as number[], floor: [] as number[] };
for (let i = 0; i < runs; i++) {
  measured.redactor.push(time(redactor.text));
  measured.floor.push(time((line) => line.replace(floor, '[redacted]')));
}
const [a, b] = [median(measured.redactor), median(measured.floor)];
console.log(`redaction of ${lines.length} lines, ${forms.size} forms, median of ${runs} runs`);
console.log(`  Redactor.text          ${a.toFixed(1)} ms`);
console.log(`  single-pass replace    ${b.toFixed(1)} ms (floor)`);
console.log(`  ratio                  ${(a / b).toFixed(2)}x`);
