import { Module } from '@nestjs/common';
import { GatewayEventsHttpController } from './gateway-events.http.controller';
import { GatewayEventsUseCase } from './gateway-events.usecase';

@Module({ controllers: [GatewayEventsHttpController], providers: [GatewayEventsUseCase] })
export class GatewayEventsModule {}
