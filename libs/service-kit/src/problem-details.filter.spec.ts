import { Controller, Get, Module, NotFoundException, Post, Body, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { TraceoError } from '@traceo/contracts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ProblemDetailsFilter } from './problem-details.filter';
import { ZodValidationPipe } from './zod-validation.pipe';

class KeyNotFoundError extends TraceoError {
  readonly code = 'CRYPTO.KEY_NOT_FOUND';
  readonly status = 404;
}

@Controller('things')
class ThingsController {
  @Get('domain-error')
  domainError(): never {
    throw new KeyNotFoundError('keyring does not exist');
  }

  @Get('crash')
  crash(): never {
    throw new Error('connection string postgres://admin:hunter2@db failed at /srv/app.js:12');
  }

  @Get('nest-404')
  nest404(): never {
    throw new NotFoundException('internal detail');
  }

  @Post()
  create(@Body(new ZodValidationPipe(z.strictObject({ name: z.string().min(1) }))) body: { name: string }): { name: string } {
    return body;
  }
}

@Module({ controllers: [ThingsController], providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }] })
class TestModule {}

describe('problem+json errors', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });

  afterAll(() => app.close());

  async function problem(path: string, init?: RequestInit) {
    const response = await fetch(base + path, init);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('maps a domain error to its status and stable code', async () => {
    const { status, body } = await problem('/things/domain-error');
    expect(status).toBe(404);
    expect(body).toMatchObject({
      status: 404,
      code: 'CRYPTO.KEY_NOT_FOUND',
      detail: 'keyring does not exist',
      instance: '/things/domain-error',
    });
  });

  it('answers an unexpected error with a generic 500 that leaks nothing', async () => {
    const { status, body } = await problem('/things/crash');
    expect(status).toBe(500);
    expect(body.code).toBe('INTERNAL.UNEXPECTED');
    expect(JSON.stringify(body)).not.toMatch(/hunter2|app\.js|stack/);
  });

  it('gives unknown routes a REQUEST.NOT_FOUND problem', async () => {
    expect((await problem('/nowhere')).body.code).toBe('REQUEST.NOT_FOUND');
    expect((await problem('/things/nest-404')).body.detail).not.toContain('internal detail');
  });

  it('rejects malformed JSON with 400 REQUEST.MALFORMED_JSON', async () => {
    const { status, body } = await problem('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(status).toBe(400);
    expect(body.code).toBe('REQUEST.MALFORMED_JSON');
  });

  it('rejects unknown fields with 400 REQUEST.VALIDATION_FAILED and says which', async () => {
    const { status, body } = await problem('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a', admin: true }),
    });
    expect(status).toBe(400);
    expect(body.code).toBe('REQUEST.VALIDATION_FAILED');
    expect(String(body.errors)).toContain('admin');
  });
});
