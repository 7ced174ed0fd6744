import { EventRejectedError } from '@traceo/contracts';
import { errorCodeOf, isTransient } from './transient-error';

describe('transient failure classification', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['PostgreSQL admin shutdown (57P01)', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['PostgreSQL connection failure (08006)', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['serialization failure (40001)', Object.assign(new Error('could not serialize'), { code: '40001' })],
    ['pg pool terminated connection', new Error('Connection terminated unexpectedly')],
  ])('retries %s without dead-lettering', (_name, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a handler bug', new TypeError('cannot read properties of undefined')],
    ['a rejected event', new EventRejectedError('EVENT.SCHEMA_VIOLATION', 'bad data')],
  ])('treats %s as permanent', (_name, error) => {
    expect(isTransient(error)).toBe(false);
  });

  it('carries a coded error through to the dead-letter record and labels the rest', () => {
    expect(errorCodeOf(new EventRejectedError('EVENT.UNKNOWN_TYPE', 'nope'))).toBe('EVENT.UNKNOWN_TYPE');
    expect(errorCodeOf(new Error('boom'))).toBe('CONSUMER.HANDLER_FAILED');
  });
});
