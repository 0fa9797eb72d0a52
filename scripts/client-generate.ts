/**
 * `npm run client:generate`: writes the client types of clients/typescript/
 * from the document the app serves (built from the route definitions, no
 * database). Other uses:
 * - `--document <file>`: writes the document itself (for `npm run lint:openapi`);
 * - `--types-of <document.json>`: prints the types made of a document (the
 *   test that compares them with the committed ones: openapi-typescript is an
 *   ES module jest cannot load, tsx can).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CLIENT_TYPES_FILE, clientTypesSource } from './client-types';
import { servedOpenApiDocument } from './openapi-document';

function argument(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (!value) throw new Error(`${name} needs a file name`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const typesOf = argument(argv, '--types-of');
  if (typesOf) {
    process.stdout.write(await clientTypesSource(JSON.parse(readFileSync(typesOf, 'utf8'))));
    return;
  }
  const document = await servedOpenApiDocument();
  const documentFile = argument(argv, '--document');
  if (documentFile) {
    mkdirSync(dirname(documentFile), { recursive: true });
    writeFileSync(documentFile, JSON.stringify(document, null, 2) + '\n');
    console.log(`wrote ${documentFile}`);
    return;
  }
  writeFileSync(CLIENT_TYPES_FILE, await clientTypesSource(document));
  console.log(`wrote ${CLIENT_TYPES_FILE}`);
}

// Exits explicitly (the unconnected connection would keep the process alive), but only once
// stdout has drained: a pipe is written asynchronously, and exit would cut the types short.
main(process.argv.slice(2)).then(
  () => process.stdout.write('', () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
