import { baseConfigSchema, type ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';

export const riskServiceDefinition: ServiceDefinition<typeof baseConfigSchema> = {
  name: 'risk-service',
  description: 'Continuous zero-trust risk scores, detection rules, alerts and automated response.',
  configSchema: baseConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
};
