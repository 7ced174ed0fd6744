import { baseConfigSchema, ConfigurationError, loadConfig } from './config';

const valid = {
  TRACEO_HTTP_PORT: '4103',
  TRACEO_DATABASE_URL: 'postgres://svc:s3cret-password@127.0.0.1:54329/traceo',
  TRACEO_KAFKA_BROKERS: '127.0.0.1:39092, 127.0.0.1:39094',
  TRACEO_API_KEYS: 'platform:0123456789abcdef0123456789abcdef,ops:fedcba9876543210fedcba9876543210',
};

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(baseConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('service configuration', () => {
  it('parses a complete environment and applies defaults', () => {
    const config = loadConfig(baseConfigSchema, valid);
    expect(config).toMatchObject({
      TRACEO_HTTP_PORT: 4103,
      TRACEO_HTTP_HOST: '127.0.0.1',
      TRACEO_LOG_LEVEL: 'info',
      TRACEO_KAFKA_BROKERS: ['127.0.0.1:39092', '127.0.0.1:39094'],
    });
  });

  it('names a missing variable', () => {
    const { TRACEO_DATABASE_URL: _omitted, ...env } = valid;
    expect(problemsOf(env)).toEqual(['TRACEO_DATABASE_URL is required']);
  });

  it.each([
    ['TRACEO_HTTP_PORT', 'eighty'],
    ['TRACEO_HTTP_PORT', '70000'],
    ['TRACEO_KAFKA_BROKERS', 'localhost'],
    ['TRACEO_DATABASE_URL', 'mysql://x@y/z'],
    ['TRACEO_LOG_LEVEL', 'loud'],
    ['TRACEO_API_KEYS', 'platform:too-short'],
    ['TRACEO_API_KEYS', 'no-secret-at-all'],
  ])('names malformed %s', (variable, value) => {
    const problems = problemsOf({ ...valid, [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable} `));
  });

  it('never repeats the value of a variable in its message', () => {
    const problems = problemsOf({ ...valid, TRACEO_DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(problems.join(' ')).not.toContain('hunter2');
  });
});
