import { describe, expect, it } from 'vitest';
import { isDependencyUnavailable, isRetryable } from './database.ts';
import { DomainError, DependencyUnavailableError } from './errors.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDependencyUnavailable', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset connection', withCode('ECONNRESET')],
    [
      'an administrator terminating the backend',
      withCode('57P01', 'terminating connection due to administrator command'),
    ],
    ['a server starting up', withCode('57P03', 'the database system is starting up')],
    ['a connection exception (class 08)', withCode('08006')],
    ['too many connections', withCode('53300')],
    ["pg's own broken connection", new Error('Connection terminated unexpectedly')],
    ['a client that lost its connection', new Error('Client has encountered a connection error and is not queryable')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
    ['every address refused', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')])],
    ['a wrapped cause', new Error('publish failed', { cause: withCode('ECONNREFUSED') })],
    ['our own unavailable error', new DependencyUnavailableError('bus')],
  ])('is true for %s', (_name, error) => {
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  it.each([
    ['a NUL PostgreSQL cannot store', withCode('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a unique violation', withCode('23505')],
    ['a serialization failure (retried, but not an outage)', withCode('40001')],
    ['a domain refusal', new DomainError('INSUFFICIENT_BUYING_POWER', 'no')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error at all', 'Connection terminated'],
    ['nothing', null],
  ])('is false for %s', (_name, error) => {
    expect(isDependencyUnavailable(error)).toBe(false);
  });

  it('leaves serialization failures and deadlocks to isRetryable', () => {
    expect(isRetryable(withCode('40001'))).toBe(true);
    expect(isRetryable(withCode('40P01'))).toBe(true);
    expect(isRetryable(withCode('57P01'))).toBe(false);
  });
});
