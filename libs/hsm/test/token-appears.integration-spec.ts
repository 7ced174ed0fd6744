// openTokenSession while another process writes the token: SoftHSM2 may leave a token out of the slot
// list while its files are rewritten (several services starting together). Here the token does not
// exist when the opening process starts and is created about 150 ms later, in a token directory of
// this test's own: the opener must find it on a later attempt (it loads the module again to re-read
// the slots), and must still fail, naming the label, when the token never comes.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadInfraEnv, startTsProcess, waitFor } from '@traceo/testing';

const FIXTURE = join(__dirname, 'fixtures', 'open-token.ts');
const INIT_SLOWLY = join(__dirname, 'fixtures', 'init-token-slowly.ts');

describe('opening a token that another process is still writing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softhsm-appears-'));
  const conf = join(dir, 'softhsm2.conf');
  const modulePath = loadInfraEnv().raw.TRACEO_PKCS11_MODULE!;
  const pin = '246813';

  beforeAll(() => {
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a token that appears in the slot list while it retries', async () => {
    const label = `appears-${randomBytes(3).toString('hex')}`;
    const opener = startTsProcess(FIXTURE, { SOFTHSM2_CONF: conf }, [modulePath, label, pin]);
    await opener.ready;
    await sleep(150);
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '13572468', '--pin', pin], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'ignore',
    });
    const exit = await opener.exited;
    expect({ code: exit.code, output: opener.output() }).toEqual({ code: 0, output: expect.stringMatching(/opened after \d+ ms/) });
  });

  it('waits for a token that is listed before its user PIN is set', async () => {
    const label = `pinless-${randomBytes(3).toString('hex')}`;
    const trigger = join(dir, `${label}.go`);
    // The opener tries as soon as the token is initialised; its user PIN comes 300 ms later.
    const opener = startTsProcess(FIXTURE, { SOFTHSM2_CONF: conf }, [modulePath, label, pin, trigger]);
    await opener.ready;
    const creator = startTsProcess(INIT_SLOWLY, { SOFTHSM2_CONF: conf }, [modulePath, label, '13572468', pin, '300']);
    await waitFor(() => Promise.resolve(creator.output().includes('initialised') || undefined), 'the token to be initialised', 10_000, 2);
    writeFileSync(trigger, '');
    const [created, exit] = await Promise.all([creator.exited, opener.exited]);
    expect(created.code).toBe(0);
    // Without the retry on CKR_USER_PIN_NOT_INITIALIZED: "failed after … C_Login returned 0x102".
    expect({ code: exit.code, output: opener.output() }).toEqual({ code: 0, output: expect.stringMatching(/opened after \d+ ms/) });
  });

  it('still fails with CRYPTO.HSM_UNAVAILABLE naming the label when the token never comes', async () => {
    const opener = startTsProcess(FIXTURE, { SOFTHSM2_CONF: conf }, [modulePath, 'never-there', pin]);
    const exit = await opener.exited;
    expect(exit.code).toBe(1);
    expect(opener.output()).toMatch(/failed after \d+ ms: no PKCS#11 token labelled never-there/);
  });
});
