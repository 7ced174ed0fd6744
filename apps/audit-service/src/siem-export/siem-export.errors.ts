import { TraceoError } from '@traceo/contracts';

/** The export window ends before it starts. */
export class InvalidExportWindowError extends TraceoError {
  readonly code = 'SIEM.INVALID_WINDOW';
  readonly status = 400;
}
