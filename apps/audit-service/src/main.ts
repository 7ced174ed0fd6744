import 'reflect-metadata';
import { runService } from '@traceo/service-kit';
import { auditServiceDefinition } from './audit-service.definition';

runService(auditServiceDefinition);
