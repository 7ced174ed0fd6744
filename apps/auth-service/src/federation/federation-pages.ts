import type { Response } from 'express';
import { errorPage, PAGE_CSP } from '../interactions/pages';
import { FederationError } from './federation.errors';

/** A refused federated sign-in as an HTML page: the code and a plain message, never a stack. Anything else is rethrown. */
export function sendFederationError(res: Response, error: unknown): void {
  if (!(error instanceof FederationError) || res.headersSent) throw error;
  res.status(error.status);
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-security-policy', PAGE_CSP);
  res.setHeader('x-frame-options', 'DENY');
  res.send(errorPage({ title: 'Sign-in refused', message: `${error.message} (${error.code})` }));
}
