import { CadenceTracker, userAgentSignals } from './bot-detection';

const request = (headers: Record<string, string>) => ({ headers, path: '/' });

describe('bot signals from headers', () => {
  it.each([
    [{}, ['no-user-agent']],
    [{ 'user-agent': 'curl/8.5.0' }, ['automation-user-agent']],
    [{ 'user-agent': 'python-requests/2.32' }, ['automation-user-agent']],
    [{ 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)', 'accept-language': 'en' }, ['self-declared-bot']],
    [
      { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0' },
      ['automation-user-agent', 'browser-without-accept-language'],
    ],
  ])('flags %j', (headers, reasons) => {
    expect(userAgentSignals(request(headers))).toEqual(reasons);
  });

  it('leaves an ordinary browser and an app client alone', () => {
    expect(userAgentSignals(request({ 'user-agent': 'Mozilla/5.0 (Macintosh) Firefox/133.0', 'accept-language': 'en-GB' }))).toEqual([]);
    expect(userAgentSignals(request({ 'user-agent': 'traceo-ios/3.2' }))).toEqual([]);
  });
});

describe('bot signals from behaviour', () => {
  it('calls a metronomic stream of fast requests machine-like', () => {
    const tracker = new CadenceTracker();
    let verdict = false;
    for (let i = 0; i < 20; i += 1) verdict = tracker.observe('a', 1_000 + i * 200);
    expect(verdict).toBe(true);
  });

  it('does not flag irregular gaps, slow pollers, or too few requests', () => {
    const tracker = new CadenceTracker();
    const gaps = [120, 900, 40, 2_500, 300, 75, 1_600, 20, 700, 3_000, 150, 400, 60, 1_100];
    let time = 0;
    let irregular = false;
    for (const gap of gaps) irregular = tracker.observe('human', (time += gap));
    expect(irregular).toBe(false);
    let poller = false;
    for (let i = 0; i < 20; i += 1) poller = tracker.observe('poller', i * 60_000);
    expect(poller).toBe(false);
    let few = false;
    for (let i = 0; i < 5; i += 1) few = tracker.observe('few', i * 100);
    expect(few).toBe(false);
  });

  it('stays bounded', () => {
    const tracker = new CadenceTracker({ maxKeys: 2, minSamples: 2 });
    for (const key of ['a', 'b', 'c']) tracker.observe(key, 0);
    tracker.observe('a', 100);
    // 'a' was evicted when 'c' arrived, so this is its first sample again, not its second.
    expect(tracker.observe('a', 200)).toBe(false);
    expect(tracker.observe('a', 300)).toBe(true);
  });
});
