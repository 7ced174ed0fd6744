import { Module } from '@nestjs/common';
import { ServiceInfoHttpController } from './service-info.http.controller';

@Module({ controllers: [ServiceInfoHttpController] })
export class ServiceInfoModule {}
