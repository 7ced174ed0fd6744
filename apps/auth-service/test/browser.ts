/**
 * A minimal browser for the sign-in pages: a cookie jar (no path scoping: every cookie oidc-provider
 * sets has a distinct name) and manual redirects, stopping at the client's redirect URI.
 */
export class TestBrowser {
  private readonly cookies = new Map<string, string>();

  /** `headers` go with every request (e.g. a user agent, or the gateway's country header). */
  constructor(private readonly headers: Record<string, string> = {}) {}

  /** A cookie's current value, if set. */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {
      ...this.headers,
      cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    };
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, ...rest] = pair!.split('=');
      const value = rest.join('=');
      const expired = attributes.some((attribute) => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute)) || value === '';
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
    return response;
  }

  /** Follows redirects from `url` until a page answers (returned) or a Location starts with `stopAt`. */
  async follow(url: string, stopAt: string, init: { form?: Record<string, string> } = {}): Promise<{ response: Response; url: string }> {
    let current = url;
    let response = await this.request(current, init);
    for (let hops = 0; hops < 10; hops += 1) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response, url: current };
      current = new URL(location, current).href;
      if (current.startsWith(stopAt)) return { response, url: current };
      response = await this.request(current);
    }
    throw new Error('too many redirects');
  }
}

/** The hidden CSRF field of a sign-in or consent page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no csrf field in page: ${html.slice(0, 300)}`);
  return match[1]!;
}

export function formActionOf(html: string, origin: string): string {
  const match = /<form method="post" action="([^"]+)"/.exec(html);
  if (!match) throw new Error('no form in page');
  return new URL(match[1]!.replace(/&amp;/g, '&'), origin).href;
}
