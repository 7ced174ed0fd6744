import 'reflect-metadata';
import { runService } from '@traceo/service-kit';
import { riskServiceDefinition } from './risk-service.definition';

runService(riskServiceDefinition);
