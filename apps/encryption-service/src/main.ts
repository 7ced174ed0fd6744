import 'reflect-metadata';
import { runService } from '@traceo/service-kit';
import { encryptionServiceDefinition } from './encryption-service.definition';

runService(encryptionServiceDefinition);
