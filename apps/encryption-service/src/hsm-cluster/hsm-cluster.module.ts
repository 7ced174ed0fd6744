import { Module } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { EncryptionConfig } from '../encryption-service.config';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '@traceo/hsm';
import { AwsCloudHsmControlPlane } from './aws-cloudhsm-control-plane';
import { HsmClusterHttpController } from './hsm-cluster.http.controller';
import { HSM_CONTROL_PLANE, type HsmControlPlane } from './hsm-control-plane.port';
import { LocalSoftHsmControlPlane } from './local-softhsm-control-plane';

/** Picks the control plane named by TRACEO_HSM_CONTROL_PLANE; the configuration schema has checked its settings. */
export function createHsmControlPlane(config: EncryptionConfig, kek: KeyEncryptionKey): HsmControlPlane {
  switch (config.TRACEO_HSM_CONTROL_PLANE) {
    case 'local-softhsm':
      return new LocalSoftHsmControlPlane(kek);
    case 'aws-cloudhsm': {
      const { TRACEO_CLOUDHSM_CLUSTER_ID: clusterId, AWS_REGION: region } = config;
      if (!clusterId || !region) throw new Error('aws-cloudhsm needs TRACEO_CLOUDHSM_CLUSTER_ID and AWS_REGION');
      return AwsCloudHsmControlPlane.forCluster({ clusterId, region, kek });
    }
  }
}

/** `GET /v1/encryption/hsm`: cluster state, HSMs and last backup for compliance officers. Reads only. */
@Module({
  controllers: [HsmClusterHttpController],
  providers: [
    {
      provide: HSM_CONTROL_PLANE,
      inject: [SERVICE_RUNTIME, KEY_ENCRYPTION_KEY],
      useFactory: ({ config }: ServiceRuntime<EncryptionConfig>, kek: KeyEncryptionKey): HsmControlPlane =>
        createHsmControlPlane(config, kek),
    },
  ],
})
export class HsmClusterModule {}
