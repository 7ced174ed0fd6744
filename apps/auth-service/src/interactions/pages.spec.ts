import jsQR from 'jsqr';
import { buildOtpauthUri } from '../mfa';
import { consentPage, enrollPage, errorPage, escapeHtml, loginPage, PAGE_CSP } from './pages';

/** Draws the page's SVG QR code (a viewBox and one path of `M x y h w v1 h-w z` runs) as RGBA pixels and decodes it with jsQR. */
function decodeSvgQrCode(page: string): string | undefined {
  const svg = /<svg [^>]*viewBox="0 0 (\d+) \1"[^>]*>.*?<\/svg>/s.exec(page);
  if (!svg) return undefined;
  const extent = Number(svg[1]);
  const scale = 6;
  const width = extent * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  const path = /<path fill="#000" d="([^"]*)"/.exec(svg[0])?.[1] ?? '';
  for (const [, x, y, w] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let row = Number(y) * scale; row < (Number(y) + 1) * scale; row++)
      for (let column = Number(x) * scale; column < (Number(x) + Number(w)) * scale; column++)
        pixels.fill(0, (row * width + column) * 4, (row * width + column) * 4 + 3);
  }
  return jsQR(pixels, width, width)?.data;
}

describe('server-rendered pages', () => {
  it('escapes every interpolated value', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'\``)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;');
    const login = loginPage({
      action: '/interaction/a"b/login',
      csrf: 'c<',
      clientName: '<img src=x onerror=alert(1)>',
      username: '"><b>',
      error: '<i>',
    });
    expect(login).not.toMatch(/<img|<b>|<i>|a"b/);
    expect(login).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const consent = consentPage({ action: '/x', abort: '/y', csrf: 'z', clientName: 'App', scopes: ['<openid>'], resources: ['urn:x"'] });
    expect(consent).toContain('&lt;openid&gt;');
    expect(consent).toContain('urn:x&quot;');
    expect(errorPage({ title: '<t>', message: '<m>' })).not.toMatch(/<t>|<m>/);
  });

  it('shows a QR code on the enrollment page that decodes to exactly the otpauth URI, as inline SVG without script', () => {
    const uri = buildOtpauthUri({
      secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
      issuer: 'Traceo <Acme> & "Co"',
      accountName: "o'brien@acme.test",
    });
    const page = enrollPage({
      action: '/interaction/x/enroll',
      csrf: 'c',
      clientName: 'App',
      secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
      uri,
    });
    expect(decodeSvgQrCode(page)).toBe(uri);
    const svg = /<svg[\s\S]*?<\/svg>/.exec(page)![0];
    expect(svg).not.toMatch(/script|on\w+=|href|<image|<foreignObject/i);
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+" [^<]*><rect [^<]*\/><path fill="#000" d="[Mhvz0-9 -]+"\/><\/svg>$/,
    );
    expect(page).not.toMatch(/<script|data:/i);
    // The SVG is inline markup, not a resource: the strict page policy needs no img-src for it.
    expect(PAGE_CSP).not.toMatch(/img-src/);
  });

  it('escapes the URI and label around the QR code', () => {
    const page = enrollPage({
      action: '/a',
      csrf: 'c',
      clientName: 'App',
      secret: 'AAAA',
      uri: 'otpauth://totp/x"><script>alert(1)</script>',
    });
    expect(page).not.toContain('<script>');
    expect(page).toContain('otpauth://totp/x&quot;&gt;&lt;script&gt;');
    expect(decodeSvgQrCode(page)).toBe('otpauth://totp/x"><script>alert(1)</script>');
  });
});
