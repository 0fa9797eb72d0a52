import { ensureFerretdbBinary } from './ferretdb-build';
import { projectRoot } from './embedded-ferretdb';

// `npm run db:build`: build the embedded FerretDB ahead of time.
const binary = ensureFerretdbBinary(projectRoot(), (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${binary}\n`);
