import { TraceoError } from '@traceo/contracts';

/** The HSM control plane (the AWS CloudHSM API) could not be asked; retrying may succeed. */
export class HsmControlPlaneUnavailableError extends TraceoError {
  readonly code = 'CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE';
  readonly status = 503;
  override readonly retryable = true;
}
