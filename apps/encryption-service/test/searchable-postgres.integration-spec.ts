import { randomBytes } from 'node:crypto';
import {
  openEncryptionTestApp,
  openEncryptionTestRuntime,
  type EncryptionTestApp,
  type EncryptionTestRuntime,
} from './encryption-test-runtime';

/**
 * Searchable encryption at table scale: 100,000 people sealed through the HTTP API (field, blind-index
 * and range keyrings on the real SoftHSM2 KEK), stored in a real PostgreSQL table with btree indexes on
 * the tokens, and searched with the tokens `query-tokens` answers. Every search must return exactly the
 * rows the same search on a plaintext copy returns, through the token index.
 */

const PEOPLE = 100_000;
/** The API's maximum fields per call. */
const BATCH = 1_000;
/** Rows whose blind index is rebuilt after the index key rotates. */
const REBUILT = 5_000;
const TOKEN_INDEX_SCANS = ['Index Scan', 'Index Only Scan', 'Bitmap Index Scan'];
/**
 * Sealing is CPU-bound in this process, mostly on the 200,000 range tokens (64 HMAC-SHA256 each):
 * about a minute on an idle 2-core machine, up to twice that while other suites share it.
 */
const SEALING_TIMEOUT_MS = 240_000;

interface Person {
  id: number;
  /** As the person typed it: a few carry capitals and surrounding spaces. */
  email: string;
  age: number;
  /** RFC 3339, millisecond precision. */
  signup: string;
}

interface Sealed {
  ok: boolean;
  ciphertext: string;
  keyVersion: number;
  equalityToken?: string;
  rangeToken?: string;
  rewrapped?: boolean;
  error?: { code: string };
}

interface RangeAnswer {
  ranges: { version: number; gte: string; lte: string }[];
  empty?: boolean;
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** mulberry32: a small seeded PRNG, so every run stores and searches the same people. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const FIRST = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'frances', 'ken', 'radia', 'leslie', 'margaret', 'tim'];
const LAST = ['lovelace', 'hopper', 'turing', 'dijkstra', 'liskov', 'knuth', 'allen', 'thompson', 'perlman', 'lamport', 'hamilton'];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.test', 'corp.test'];
const SIGNUP_FROM = Date.parse('2019-01-01T00:00:00Z');
const SIGNUP_TO = Date.parse('2026-01-01T00:00:00Z');
/** The month the timestamp search asks for, and people placed exactly on and next to its edges. */
const MONTH = { gte: '2022-03-01T00:00:00Z', lt: '2022-04-01T00:00:00Z' };
const EDGES = ['2022-02-28T23:59:59.999Z', '2022-03-01T00:00:00.000Z', '2022-03-31T23:59:59.999Z', '2022-04-01T00:00:00.000Z'];

function generatePeople(count: number, seed: number): Person[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const people: Person[] = [];
  for (let id = 1; id <= count; id++) {
    let email = `${pick(FIRST)}.${pick(LAST)}${Math.floor(random() * 1000)}@${pick(DOMAINS)}`;
    // Some people share an address with someone earlier; some typed theirs with capitals and spaces.
    if (people.length > 0 && random() < 0.02) email = people[Math.floor(random() * people.length)]!.email;
    else if (random() < 0.03) email = ` ${email.replace(/(^|[.@])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase())} `;
    const signupMs = id <= EDGES.length ? Date.parse(EDGES[id - 1]!) : SIGNUP_FROM + Math.floor(random() * (SIGNUP_TO - SIGNUP_FROM));
    people.push({ id, email, age: Math.floor(random() * 111), signup: new Date(signupMs).toISOString() });
  }
  return people;
}

/** The email normalisation the blind index documents: NFKC, trimmed, lower-cased. */
const normalizeEmail = (value: string): string => value.normalize('NFKC').trim().toLowerCase();

const sortedIds = (rows: { id: number }[]): number[] => rows.map((row) => row.id).sort((a, b) => a - b);

function indexNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(indexNodes)];
}

describe('searchable encryption on a 100,000-row PostgreSQL table', () => {
  let test: EncryptionTestRuntime;
  let api: EncryptionTestApp;
  let keyrings: string;
  let keyAdmin: string;
  const tenant = `tenant-${randomBytes(4).toString('hex')}`;
  const fieldKeyring = `people-${randomBytes(4).toString('hex')}`;
  const equalityKeyringId = `${fieldKeyring}-bi`;
  const rangeKeyringId = `${fieldKeyring}-rt`;
  const people = generatePeople(PEOPLE, 20_240_601);
  const planTypes = new Set<string>();

  async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    return test.dataSource.query<T[]>(text, params);
  }

  async function seal(path: 'encrypt' | 'rewrap', fields: Record<string, unknown>[]): Promise<Sealed[]> {
    const response = await api.call('POST', `${keyrings}/${fieldKeyring}/${path}`, { fields, equalityKeyringId, rangeKeyringId });
    const results = (response.body as { results?: Sealed[] }).results;
    const failed = results?.find((result) => !result.ok);
    if (response.status !== 200 || !results || failed)
      throw new Error(`${path} failed: ${response.status} ${JSON.stringify(failed ?? response.body)}`);
    return results;
  }

  async function sealPeople(chunk: Person[]): Promise<[Sealed[], Sealed[], Sealed[]]> {
    const recordId = (p: Person) => String(p.id);
    return Promise.all([
      seal(
        'encrypt',
        chunk.map((p) => ({ field: 'email', recordId: recordId(p), plaintext: p.email, equality: 'email' })),
      ),
      seal(
        'encrypt',
        chunk.map((p) => ({ field: 'age', recordId: recordId(p), plaintext: String(p.age), range: 'integer' })),
      ),
      seal(
        'encrypt',
        chunk.map((p) => ({ field: 'signup', recordId: recordId(p), plaintext: p.signup, range: 'timestamp' })),
      ),
    ]);
  }

  async function storeSealed(chunk: Person[], [emails, ages, signups]: [Sealed[], Sealed[], Sealed[]]): Promise<void> {
    await sql(
      `INSERT INTO people (id, email_ct, email_bi, age_ct, age_rt, signup_ct, signup_rt)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
      [
        chunk.map((p) => p.id),
        emails.map((r) => r.ciphertext),
        emails.map((r) => r.equalityToken),
        ages.map((r) => r.ciphertext),
        ages.map((r) => r.rangeToken),
        signups.map((r) => r.ciphertext),
        signups.map((r) => r.rangeToken),
      ],
    );
  }

  beforeAll(async () => {
    test = await openEncryptionTestRuntime('enc_search');
    api = await openEncryptionTestApp(test);
    keyrings = api.keyrings(tenant);
    // Keyrings are created and rotated by a key custodian; the data calls use the service API key.
    keyAdmin = await api.token(['key-admin'], tenant);
    for (const body of [
      { keyringId: fieldKeyring },
      { keyringId: equalityKeyringId, purpose: 'blind-index' },
      { keyringId: rangeKeyringId, purpose: 'range' },
    ]) {
      expect((await api.call('POST', keyrings, body, keyAdmin)).status).toBe(201);
    }

    await sql(`CREATE TABLE people_plain (id int PRIMARY KEY, email text NOT NULL, age int NOT NULL, signup timestamptz NOT NULL)`);
    await sql(`CREATE TABLE people (
      id int PRIMARY KEY,
      email_ct text NOT NULL, email_bi text NOT NULL,
      age_ct text NOT NULL, age_rt text COLLATE "C" NOT NULL,
      signup_ct text NOT NULL, signup_rt text COLLATE "C" NOT NULL)`);
    for (let start = 0; start < PEOPLE; start += 10_000) {
      const chunk = people.slice(start, start + 10_000);
      await sql(`INSERT INTO people_plain SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::timestamptz[])`, [
        chunk.map((p) => p.id),
        chunk.map((p) => p.email),
        chunk.map((p) => p.age),
        chunk.map((p) => p.signup),
      ]);
    }

    // The previous chunk is stored while the next one is sealed.
    const started = performance.now();
    let storing: Promise<void> = Promise.resolve();
    for (let start = 0; start < PEOPLE; start += BATCH) {
      const chunk = people.slice(start, start + BATCH);
      const [sealed] = await Promise.all([sealPeople(chunk), storing]);
      storing = storeSealed(chunk, sealed);
    }
    await storing;
    const sealedIn = (performance.now() - started) / 1000;
    console.log(
      `sealed ${PEOPLE} people (${3 * PEOPLE} fields, ${PEOPLE} equality + ${2 * PEOPLE} range tokens) through the API and stored them in ` +
        `${sealedIn.toFixed(1)} s: ${Math.round(PEOPLE / sealedIn)} rows/s, ${Math.round((3 * PEOPLE) / sealedIn)} fields/s`,
    );

    const indexing = performance.now();
    await sql('CREATE INDEX people_email_bi_idx ON people (email_bi)');
    await sql('CREATE INDEX people_age_rt_idx ON people (age_rt)');
    await sql('CREATE INDEX people_signup_rt_idx ON people (signup_rt)');
    await sql('ANALYZE people');
    await sql('ANALYZE people_plain');
    console.log(`btree indexes on the three token columns + ANALYZE: ${Math.round(performance.now() - indexing)} ms`);
  }, SEALING_TIMEOUT_MS);

  afterAll(async () => {
    await api?.close();
    await test?.close();
    console.log(`EXPLAIN node types seen on the token indexes: ${[...planTypes].sort().join(', ')}`);
  });

  async function equalityTokens(value: string): Promise<string[]> {
    const response = await api.call('POST', `${keyrings}/${equalityKeyringId}/query-tokens`, {
      field: 'email',
      equals: value,
      kind: 'email',
    });
    expect(response.status).toBe(200);
    return (response.body as { equalityTokens: string[] }).equalityTokens;
  }

  async function rangeWhere(column: 'age_rt' | 'signup_rt', query: Record<string, string>): Promise<{ where: string; params: string[] }> {
    const field = column === 'age_rt' ? 'age' : 'signup';
    const response = await api.call('POST', `${keyrings}/${rangeKeyringId}/query-tokens`, { field, ...query });
    expect(response.status).toBe(200);
    const { ranges, empty } = response.body as RangeAnswer;
    expect(empty).toBeUndefined();
    return {
      where: ranges.map((_range, i) => `${column} BETWEEN $${2 * i + 1} AND $${2 * i + 2}`).join(' OR '),
      params: ranges.flatMap((range) => [range.gte, range.lte]),
    };
  }

  /** The ids a token search returns, having checked that PostgreSQL answers it through `index`. */
  async function tokenSearch(label: string, where: string, params: unknown[], index: string): Promise<number[]> {
    const query = `SELECT id FROM people WHERE ${where}`;
    const started = performance.now();
    const rows = await sql<{ id: number }>(query, params);
    const took = performance.now() - started;
    const [explained] = await sql<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${query}`, params);
    const nodes = indexNodes(explained!['QUERY PLAN'][0]!.Plan);
    const onIndex = nodes.filter((node) => node['Index Name'] === index);
    expect(onIndex.length).toBeGreaterThan(0);
    for (const node of onIndex) expect(TOKEN_INDEX_SCANS).toContain(node['Node Type']);
    expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    for (const node of onIndex) planTypes.add(node['Node Type']);
    console.log(
      `${label}: ${rows.length} rows in ${took.toFixed(1)} ms via ${nodes.map((n) => n['Node Type'] + (n['Index Name'] ? ` ${n['Index Name']}` : '')).join(' > ')}`,
    );
    return sortedIds(rows);
  }

  async function plainSearch(where: string, params: unknown[]): Promise<number[]> {
    return sortedIds(await sql<{ id: number }>(`SELECT id FROM people_plain WHERE ${where}`, params));
  }

  async function equalitySearch(label: string, value: string, tokens?: string[]): Promise<number[]> {
    const started = performance.now();
    const asked = tokens ?? (await equalityTokens(value));
    console.log(`${label}: query-tokens ${(performance.now() - started).toFixed(1)} ms, ${asked.length} token(s)`);
    return tokenSearch(label, 'email_bi = ANY($1::text[])', [asked], 'people_email_bi_idx');
  }

  const plainEmail = (value: string) => plainSearch('lower(btrim(email)) = $1', [normalizeEmail(value)]);

  /** Opens the rows' three ciphertexts through the API and compares them with the plaintext copy. */
  async function expectDecryptsToPlaintext(ids: number[]): Promise<void> {
    const sample = ids.filter((_id, i) => i % Math.max(1, Math.floor(ids.length / 20)) === 0).slice(0, 20);
    expect(sample.length).toBeGreaterThan(0);
    const rows = await sql<{ id: number; email_ct: string; age_ct: string; signup_ct: string }>(
      'SELECT id, email_ct, age_ct, signup_ct FROM people WHERE id = ANY($1::int[]) ORDER BY id',
      [sample],
    );
    const fields = rows.flatMap((row) => [
      { field: 'email', recordId: String(row.id), ciphertext: row.email_ct },
      { field: 'age', recordId: String(row.id), ciphertext: row.age_ct },
      { field: 'signup', recordId: String(row.id), ciphertext: row.signup_ct },
    ]);
    const response = await api.call('POST', `${keyrings}/${fieldKeyring}/decrypt`, { fields });
    expect(response.status).toBe(200);
    const opened = (response.body as { results: { plaintext: string }[] }).results.map((result) => result.plaintext);
    const plain = await sql<{ email: string; age: number; signup: Date }>(
      'SELECT email, age, signup FROM people_plain WHERE id = ANY($1::int[]) ORDER BY id',
      [sample],
    );
    expect(opened).toEqual(plain.flatMap((row) => [row.email, String(row.age), row.signup.toISOString()]));
  }

  /** One email per person: its normalised form and every id that carries it. */
  function idsByEmail(): Map<string, number[]> {
    const byEmail = new Map<string, number[]>();
    for (const person of people) {
      const key = normalizeEmail(person.email);
      byEmail.set(key, [...(byEmail.get(key) ?? []), person.id]);
    }
    return byEmail;
  }

  it('finds every row with an email, through the blind index, whatever its case and surrounding spaces', async () => {
    const byEmail = idsByEmail();
    const shared = [...byEmail].sort(([, a], [, b]) => b.length - a.length)[0]!;
    const unique = people.find((p) => p.email === normalizeEmail(p.email) && byEmail.get(p.email)!.length === 1)!;
    const typedWithCapitals = people.find((p) => p.email !== normalizeEmail(p.email))!;
    const lookups: [string, string][] = [
      ['email shared by several people', shared[0]],
      ['unique email', unique.email],
      ['unique email asked with capitals and spaces', `  ${unique.email.toUpperCase()}\t`],
      ['email stored with capitals and spaces, asked plainly', normalizeEmail(typedWithCapitals.email)],
      ['email nobody has', 'nobody.here@example.com'],
    ];
    for (const [label, value] of lookups) {
      const expected = await plainEmail(value);
      expect(await equalitySearch(label, value)).toEqual(expected);
      if (label !== 'email nobody has') await expectDecryptsToPlaintext(expected);
    }
    expect((await plainEmail(shared[0])).length).toBeGreaterThan(2);
    expect(await plainEmail(unique.email)).toEqual([unique.id]);
    expect(await plainEmail(`  ${unique.email.toUpperCase()}\t`)).toEqual([unique.id]);
    expect(await plainEmail('nobody.here@example.com')).toEqual([]);
  });

  const ageRanges: [string, Record<string, string>, string][] = [
    ['age from 30 to under 32', { type: 'integer', gte: '30', lt: '32' }, 'age >= 30 AND age < 32'],
    ['age over 108', { type: 'integer', gt: '108' }, 'age > 108'],
    ['age up to 1', { type: 'integer', lte: '1' }, 'age <= 1'],
  ];
  it.each(ageRanges)('answers the age range "%s" through the range-token index with the plaintext rows', async (label, query, plain) => {
    const started = performance.now();
    const { where, params } = await rangeWhere('age_rt', query);
    console.log(`${label}: query-tokens ${(performance.now() - started).toFixed(1)} ms`);
    const expected = await plainSearch(plain, []);
    expect(expected.length).toBeGreaterThan(500);
    expect(await tokenSearch(label, where, params, 'people_age_rt_idx')).toEqual(expected);
    await expectDecryptsToPlaintext(expected);
  });

  it('answers a one-month signup window through the range-token index, edges included and excluded exactly', async () => {
    const started = performance.now();
    const { where, params } = await rangeWhere('signup_rt', { type: 'timestamp', ...MONTH });
    console.log(`signup in March 2022: query-tokens ${(performance.now() - started).toFixed(1)} ms`);
    const expected = await plainSearch('signup >= $1 AND signup < $2', [MONTH.gte, MONTH.lt]);
    expect(expected.length).toBeGreaterThan(500);
    // People 1..4 signed up on and next to the window's edges (see EDGES): 2 and 3 are inside.
    expect(expected.filter((id) => id <= EDGES.length)).toEqual([2, 3]);
    expect(await tokenSearch('signup in March 2022', where, params, 'people_signup_rt_idx')).toEqual(expected);
    await expectDecryptsToPlaintext(expected);
  });

  it('still finds every row while the blind index is rebuilt under a rotated key, and after', async () => {
    const byEmail = idsByEmail();
    // An address carried both by rows that will be rebuilt and by rows that will not.
    const [straddling, straddlingIds] = [...byEmail].find(([, ids]) => ids[0]! <= REBUILT && ids.at(-1)! > REBUILT)!;
    const untouched = people.find((p) => p.id > REBUILT && byEmail.get(normalizeEmail(p.email))!.length === 1)!;
    const expected = await plainEmail(straddling);
    expect(expected).toEqual(straddlingIds);

    const rotated = await api.call('POST', `${keyrings}/${equalityKeyringId}/rotate`, undefined, keyAdmin);
    expect(rotated.body).toMatchObject({ activeVersion: 2 });
    const [v2, v1] = await equalityTokens(straddling);
    expect([v2?.slice(0, 3), v1?.slice(0, 3)]).toEqual(['v2:', 'v1:']);
    expect(await equalitySearch('after rotation, before rebuild (v2 + v1 tokens)', straddling)).toEqual(expected);

    const started = performance.now();
    for (let start = 0; start < REBUILT; start += BATCH) {
      const rows = await sql<{ id: number; email_ct: string }>('SELECT id, email_ct FROM people WHERE id > $1 AND id <= $2 ORDER BY id', [
        start,
        start + BATCH,
      ]);
      const rebuilt = await seal(
        'rewrap',
        rows.map((row) => ({ field: 'email', recordId: String(row.id), ciphertext: row.email_ct, equality: 'email' })),
      );
      // The field keyring did not rotate: the ciphertexts stay, only the index tokens are new.
      expect(rebuilt.map((r, i) => [r.rewrapped, r.ciphertext === rows[i]!.email_ct])).toEqual(rows.map(() => [false, true]));
      await sql('UPDATE people SET email_bi = u.bi FROM unnest($1::int[], $2::text[]) AS u(id, bi) WHERE people.id = u.id', [
        rows.map((row) => row.id),
        rebuilt.map((r) => r.equalityToken),
      ]);
    }
    const rebuiltIn = (performance.now() - started) / 1000;
    console.log(`rebuilt the blind index of ${REBUILT} rows through rewrap: ${Math.round(REBUILT / rebuiltIn)} rows/s`);
    const rebuiltRows = await sql<{ count: number }>(`SELECT count(*)::int AS count FROM people WHERE email_bi LIKE 'v2:%'`);
    expect(rebuiltRows).toEqual([{ count: REBUILT }]);

    expect(await equalitySearch('half rebuilt (v2 + v1 tokens)', straddling)).toEqual(expected);
    // Each version's token alone finds only its own rows: both are needed until the rebuild is done.
    expect(await equalitySearch('half rebuilt, v2 token only', straddling, [v2!])).toEqual(expected.filter((id) => id <= REBUILT));
    expect(await equalitySearch('half rebuilt, v1 token only', straddling, [v1!])).toEqual(expected.filter((id) => id > REBUILT));
    expect(await equalitySearch('not rebuilt row (v2 + v1 tokens)', untouched.email)).toEqual([untouched.id]);
    await expectDecryptsToPlaintext(expected);
  });
});
