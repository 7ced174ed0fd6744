import 'reflect-metadata';
import { runService } from '@traceo/service-kit';
import { complianceServiceDefinition } from './compliance-service.definition';

runService(complianceServiceDefinition);
