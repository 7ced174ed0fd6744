import { RequirePermissions } from '@traceo/security';
import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HSM_CONTROL_PLANE, type HsmClusterFacts, type HsmControlPlane } from './hsm-control-plane.port';

@ApiTags('encryption')
@Controller('v1/encryption/hsm')
export class HsmClusterHttpController {
  constructor(@Inject(HSM_CONTROL_PLANE) private readonly controlPlane: HsmControlPlane) {}

  @RequirePermissions('crypto:keys:read')
  @Get()
  @ApiOkResponse({
    description:
      'HSM facts for compliance: provider (aws-cloudhsm or local-softhsm), cluster state, HSMs (id, availability zone, state), ' +
      'last backup, PKCS#11 token, notes and checkedAt (answers are cached up to 30 s)',
  })
  @ApiServiceUnavailableResponse({
    description: 'CRYPTO.HSM_CONTROL_PLANE_UNAVAILABLE: the AWS CloudHSM API could not be asked (retryable)',
  })
  describe(): Promise<HsmClusterFacts> {
    return this.controlPlane.describe();
  }
}
