import { canonicalJson } from './canonical-json';

describe('RFC 8785 canonical JSON', () => {
  it('sorts members by UTF-16 code units, recursively, without whitespace', () => {
    // Key order example from RFC 8785 section 3.2.3 (sorted by UTF-16 code units, not code points).
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // (JSON.parse would reorder the integer-like key, so read the values off the text.)
    expect([...canonicalJson(input).matchAll(/":"([^"]+)"/g)].map((match) => match[1])).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(canonicalJson({ b: [1, { d: true, c: null }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":null,"d":true}]}');
  });

  it('serializes numbers the ECMAScript way (RFC 8785 section 3.2.2.3)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [0.000001, '0.000001'],
      [333333333.3333333, '333333333.3333333'],
      [9007199254740991, '9007199254740991'],
      [-1.5, '-1.5'],
    ];
    for (const [value, expected] of cases) expect(canonicalJson(value)).toBe(expected);
  });

  it('escapes strings minimally and keeps non-ASCII as is', () => {
    expect(canonicalJson('\u20ac$\u000f\nA\'B"\\\\"/')).toBe('"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"');
  });

  it('drops undefined members and refuses values JSON cannot carry', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });
});

describe('canonical JSON through JSON.stringify (members already in order)', () => {
  /** An independent reference: members sorted at every level, primitives as JSON.stringify writes them. */
  function reference(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map((item: unknown) => reference(item === undefined ? null : item)).join(',')}]`;
    if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      const members = Object.keys(object)
        .sort()
        .filter((key) => object[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${reference(object[key])}`);
      return `{${members.join(',')}}`;
    }
    return JSON.stringify(value);
  }

  it('writes what the member-sorting path writes, for sorted, unsorted and mixed values', () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const keys = ['a', 'b', 'ab', 'B', '1', '10', '9', 'é', '\u20ac', 'toJSON', '__proto__x', ''];
    const build = (depth: number): unknown => {
      switch (random(depth > 2 ? 5 : 8)) {
        case 0:
          return null;
        case 1:
          return random(2) === 0;
        case 2:
          return [0, -0, 1.5, 1e21, 1e-7, -42][random(6)];
        case 3:
          return ['x', '\n"\\', '\u0000', '\ud800', '€'][random(5)];
        case 4:
          return undefined;
        case 5:
          return Array.from({ length: random(4) }, () => build(depth + 1));
        default: {
          const chosen = [...new Set(Array.from({ length: random(5) }, () => keys[random(keys.length)]!))];
          if (random(2) === 0) chosen.sort();
          const object: Record<string, unknown> = random(4) === 0 ? (Object.create(null) as Record<string, unknown>) : {};
          for (const key of chosen) object[key] = key === 'toJSON' ? 'a string, not a method' : build(depth + 1);
          return object;
        }
      }
    };
    for (let i = 0; i < 2000; i += 1) {
      const value = build(0);
      if (value === undefined) continue;
      expect(canonicalJson(value)).toBe(reference(value));
    }
  });

  it('never lets JSON.stringify decide what it would write differently', () => {
    // toJSON methods, class instances and non-finite numbers take the member-sorting path.
    expect(() => canonicalJson({ a: { toJSON: () => 'x' } })).toThrow(TypeError);
    expect(canonicalJson({ a: new Date(0) })).toBe('{"a":{}}');
    expect(() => canonicalJson({ a: 1, b: [Number.POSITIVE_INFINITY] })).toThrow(TypeError);
    expect(() => canonicalJson({ a: [() => 1] })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
    // Sorted members, nested unsorted ones.
    expect(canonicalJson({ a: { z: 1, y: [undefined, 2] }, b: 'x' })).toBe('{"a":{"y":[null,2],"z":1},"b":"x"}');
  });
});
