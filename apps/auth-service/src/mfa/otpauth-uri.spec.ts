import { InvalidMfaParametersError, InvalidOtpauthLabelError } from './mfa.errors';
import { buildOtpauthUri } from './otpauth-uri';

const secret = 'JBSWY3DPEHPK3PXP';

describe('buildOtpauthUri', () => {
  it('builds the Key URI with issuer prefix, issuer parameter and default parameters', () => {
    expect(buildOtpauthUri({ secret, issuer: 'Traceo', accountName: 'alice@example.com' })).toBe(
      'otpauth://totp/Traceo:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Traceo&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('encodes spaces as %20, never "+", in both the label and the issuer parameter', () => {
    const uri = buildOtpauthUri({ secret, issuer: 'Traceo (Acme Corp)', accountName: 'Alice Smith' });
    expect(uri).toBe(
      'otpauth://totp/Traceo%20%28Acme%20Corp%29:Alice%20Smith?secret=JBSWY3DPEHPK3PXP&issuer=Traceo%20%28Acme%20Corp%29&algorithm=SHA1&digits=6&period=30',
    );
    expect(uri).not.toContain('+');
  });

  it('percent-encodes reserved and non-ASCII characters as UTF-8', () => {
    const uri = buildOtpauthUri({ secret, issuer: 'Träceo & Co/EU?#', accountName: 'jürgen+test@example.com' });
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname.slice(1))).toBe('Träceo & Co/EU?#:jürgen+test@example.com');
    expect(uri).toContain('/Tr%C3%A4ceo%20%26%20Co%2FEU%3F%23:j%C3%BCrgen%2Btest%40example.com?');
    expect(url.searchParams.get('issuer')).toBe('Träceo & Co/EU?#');
    expect(url.searchParams.get('secret')).toBe(secret);
  });

  it('writes non-default algorithm, digits and period', () => {
    const url = new URL(
      buildOtpauthUri({ secret, issuer: 'Traceo', accountName: 'bob', parameters: { algorithm: 'SHA512', digits: 8, period: 60 } }),
    );
    expect(url.searchParams.get('algorithm')).toBe('SHA512');
    expect(url.searchParams.get('digits')).toBe('8');
    expect(url.searchParams.get('period')).toBe('60');
  });

  it.each([
    ['a colon in the issuer', { issuer: 'Trace:o', accountName: 'alice' }],
    ['a colon in the account', { issuer: 'Traceo', accountName: 'ali:ce' }],
    ['a blank issuer', { issuer: '  ', accountName: 'alice' }],
    ['a newline in the account', { issuer: 'Traceo', accountName: 'alice\nbob' }],
  ])('refuses %s', (_label, names) => {
    expect(() => buildOtpauthUri({ secret, ...names })).toThrow(InvalidOtpauthLabelError);
  });

  it('refuses unsupported parameters', () => {
    expect(() =>
      buildOtpauthUri({ secret, issuer: 'Traceo', accountName: 'a', parameters: { algorithm: 'SHA1', digits: 4, period: 30 } }),
    ).toThrow(InvalidMfaParametersError);
  });
});
