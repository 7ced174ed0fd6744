import { TraceoError } from '@traceo/contracts';

export class AuditLogNotFoundError extends TraceoError {
  readonly code = 'AUDIT.LOG_NOT_FOUND';
  readonly status = 404;
}

export class CheckpointNotFoundError extends TraceoError {
  readonly code = 'AUDIT.CHECKPOINT_NOT_FOUND';
  readonly status = 404;
}

export class AuditRecordNotFoundError extends TraceoError {
  readonly code = 'AUDIT.RECORD_NOT_FOUND';
  readonly status = 404;
}

export class InvalidProofRequestError extends TraceoError {
  readonly code = 'AUDIT.INVALID_PROOF_REQUEST';
  readonly status = 400;
}
