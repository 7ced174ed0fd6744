import 'reflect-metadata';
import { runService } from '@traceo/service-kit';
import { authServiceDefinition } from './auth-service.definition';

runService(authServiceDefinition);
