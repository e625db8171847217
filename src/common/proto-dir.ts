import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** protos/ beside src/ (development) or beside dist/ (built image). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'protos');
