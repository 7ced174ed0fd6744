import { consentPage, errorPage, escapeHtml, loginPage } from './pages';

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
});
