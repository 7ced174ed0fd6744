/** Server-rendered pages: plain HTML, every interpolated value escaped, no scripts, no external resources. */
import { create as createQrCode } from 'qrcode';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (character) => ESCAPES[character]!);
}

/**
 * Content-Security-Policy of every page: no script at all, styles inline only, never framed
 * (clickjacking on the consent page). No `form-action`: browsers apply it to the redirect chain that
 * follows a form post, which ends at the client's redirect URI on another origin.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Traceo</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:1rem 0 .3rem}
input[type=text],input[type=password]{width:100%;padding:.55rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}.muted{color:#5b6475;font-size:.9rem}
ul{padding-left:1.2rem}
</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

export function loginPage(input: {
  action: string;
  csrf: string;
  clientName: string;
  username?: string;
  error?: string;
  /** Upstream IdPs of the tenant: one "Sign in with …" button each, posting `idp` to `action`. */
  federation?: { action: string; idps: readonly { id: string; name: string }[] };
}): string {
  const federation = input.federation?.idps.length
    ? `\n<form method="post" action="${escapeHtml(input.federation.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
${input.federation.idps.map((idp) => `<button type="submit" name="idp" value="${escapeHtml(idp.id)}">Sign in with ${escapeHtml(idp.name)}</button>`).join('\n')}
</form>`
    : '';
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p class="muted">to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="on">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="username">Username</label>
<input id="username" type="text" name="username" required maxlength="256" autocomplete="username" value="${escapeHtml(input.username ?? '')}" autofocus>
<label for="password">Password</label>
<input id="password" type="password" name="password" required maxlength="1024" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>${federation}`,
  );
}

export function consentPage(input: {
  action: string;
  abort: string;
  csrf: string;
  clientName: string;
  scopes: readonly string[];
  resources: readonly string[];
}): string {
  const items = [
    ...input.scopes.map((scope) => `scope <code>${escapeHtml(scope)}</code>`),
    ...input.resources.map((resource) => `access to <code>${escapeHtml(resource)}</code>`),
  ];
  return layout(
    'Allow access',
    `<h1>Allow access?</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks for:</p>
<ul>${items.map((item) => `<li>${item}</li>`).join('')}</ul>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="muted"><a href="${escapeHtml(input.abort)}">Cancel</a></p>`,
  );
}

export function errorPage(input: { title: string; message: string }): string {
  return layout(input.title, `<h1>${escapeHtml(input.title)}</h1><p>${escapeHtml(input.message)}</p>`);
}

export function logoutPage(input: { form: string; clientName?: string }): string {
  // `form` is oidc-provider's own form (hidden xsrf field, fixed action); it is inserted as given.
  return layout(
    'Sign out',
    `<h1>Sign out${input.clientName ? ` of ${escapeHtml(input.clientName)}` : ''}?</h1>
${input.form}
<button form="op.logoutForm" type="submit" name="logout" value="yes">Sign out</button>
<button form="op.logoutForm" type="submit">Stay signed in</button>`,
  );
}

export function totpPage(input: { action: string; csrf: string; clientName: string; error?: string }): string {
  return layout(
    'Verification code',
    `<h1>Enter your verification code</h1>
<p class="muted">from your authenticator app, to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="code">Code</label>
<input id="code" type="text" name="code" required inputmode="numeric" pattern="[0-9]{6,8}" maxlength="8" autocomplete="one-time-code" autofocus>
<button type="submit">Verify</button>
</form>
<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="recovery_code">No access to your app? A recovery code:</label>
<input id="recovery_code" type="text" name="recovery_code" required maxlength="64" autocomplete="off">
<button type="submit">Use recovery code</button>
</form>`,
  );
}

export function enrollPage(input: {
  action: string;
  csrf: string;
  clientName: string;
  secret: string;
  uri: string;
  error?: string;
}): string {
  // The secret groups of four are easier to type; apps accept them with or without spaces.
  const grouped = input.secret.replace(/(.{4})/g, '$1 ').trim();
  return layout(
    'Set up two-step verification',
    `<h1>Set up two-step verification</h1>
<p>Your role requires a second factor to sign in to <strong>${escapeHtml(input.clientName)}</strong>. Add this key to an authenticator app (TOTP, 6 digits, 30 seconds):</p>
<p><code>${escapeHtml(grouped)}</code></p>
<p class="muted">or scan this code with the app:</p>
${qrCodeSvg(input.uri, 'QR code of the key for an authenticator app')}
<p class="muted">or open this link on the device with the app: <a href="${escapeHtml(input.uri)}">${escapeHtml(input.uri)}</a></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="off">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="code">Then enter the code the app shows</label>
<input id="code" type="text" name="code" required inputmode="numeric" pattern="[0-9]{6,8}" maxlength="8" autocomplete="one-time-code" autofocus>
<button type="submit">Confirm</button>
</form>`,
  );
}

/**
 * A QR code as inline SVG, drawn on the server: no script, no image request, nothing for the CSP to
 * allow (inline `<svg>` is markup, not a resource). Error correction M (15 %), a 4-module quiet zone
 * (ISO/IEC 18004), one path of horizontal runs of dark modules; only numbers and the escaped label
 * are interpolated. The `otpauth://` URI with a 32-character key fits version 6 to 8.
 */
export function qrCodeSvg(text: string, label: string): string {
  const { size, data } = createQrCode(text, { errorCorrectionLevel: 'M' }).modules;
  const quiet = 4;
  const runs: string[] = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!data[y * size + x]) continue;
      const start = x;
      while (x + 1 < size && data[y * size + x + 1]) x++;
      runs.push(`M${start + quiet} ${y + quiet}h${x - start + 1}v1h-${x - start + 1}z`);
    }
  }
  const extent = size + 2 * quiet;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${extent} ${extent}" width="220" height="220" shape-rendering="crispEdges" role="img" aria-label="${escapeHtml(label)}"><rect width="${extent}" height="${extent}" fill="#fff"/><path fill="#000" d="${runs.join('')}"/></svg>`;
}

export function recoveryCodesPage(input: { action: string; csrf: string; codes: readonly string[] }): string {
  return layout(
    'Recovery codes',
    `<h1>Save your recovery codes</h1>
<p>Each code signs you in once if you lose your authenticator app. They are shown only now; keep them somewhere safe.</p>
<ul>${input.codes.map((code) => `<li><code>${escapeHtml(code)}</code></li>`).join('')}</ul>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">I have saved them, continue</button>
</form>`,
  );
}
