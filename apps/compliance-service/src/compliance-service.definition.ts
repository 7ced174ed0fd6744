import { baseConfigSchema, type ServiceDefinition } from '@traceo/service-kit';
import { AppModule } from './app.module';

export const complianceServiceDefinition: ServiceDefinition<typeof baseConfigSchema> = {
  name: 'compliance-service',
  description: 'Continuous SOC 2 / ISO 27001 / GDPR / NIST CSF evidence, gap analysis and data-subject requests.',
  configSchema: baseConfigSchema,
  rootModule: (runtime) => AppModule.forRoot(runtime),
};
