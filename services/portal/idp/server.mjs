// The platform's local OpenID Connect provider, for development and tests only.
//
// A standard, certified provider (oidc-provider) with the demo logins of users.json, one
// confidential client (the portal: authorization code flow, PKCE S256 required), our own small
// Vietnamese login page instead of oidc-provider's devInteractions, no consent screen for the
// portal (a first-party client), and RP-initiated logout. It says who a person is, never what
// they may do: the platform keeps the role grants itself.
//
// State (sessions, codes, tokens) lives in memory and the signing key is made at start, unless
// IDP_JWKS_FILE names one: a restart logs everybody out. Configuration: see README.md.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;

const list = (value, fallback) => (value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);

const PORT = Number.parseInt(env.IDP_PORT || '9400', 10);
const HOST = env.IDP_HOST || '127.0.0.1';
const ISSUER = (env.IDP_ISSUER || `http://127.0.0.1:${PORT}`).replace(/\/+$/, '');
const CLIENT_ID = env.PORTAL_CLIENT_ID || 'portal';
const CLIENT_SECRET = env.PORTAL_CLIENT_SECRET || 'portal-dev-secret';
const REDIRECT_URIS = list(env.PORTAL_REDIRECT_URIS, 'http://127.0.0.1:8080/auth/callback');
const POST_LOGOUT_REDIRECT_URIS = list(env.PORTAL_POST_LOGOUT_REDIRECT_URIS, 'http://127.0.0.1:8080/');
const USERS_FILE = path.resolve(env.IDP_USERS_FILE || path.join(here, 'users.json'));
// Optional: {"keys": [private JWKs]} to keep ID tokens verifiable across restarts.
const JWKS_FILE = env.IDP_JWKS_FILE || '';
// Optional: comma list of cookie signing keys (otherwise random per start).
const COOKIE_KEYS = list(env.IDP_COOKIE_KEYS, '');

if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  throw new Error(`IDP_PORT must be a port number, not ${JSON.stringify(env.IDP_PORT)}`);
}

// ---------------------------------------------------------------------------------------------
// Accounts: users.json. Only login and password matter here; "note" is for humans.

function loadUsers(file) {
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  const users = Array.isArray(data) ? data : data.users;
  if (!Array.isArray(users) || users.length === 0) throw new Error(`${file}: no "users"`);
  const byLogin = new Map();
  const bySub = new Map();
  for (const user of users) {
    for (const field of ['login', 'password', 'sub', 'name']) {
      if (typeof user[field] !== 'string' || !user[field]) {
        throw new Error(`${file}: every user needs a non-empty "${field}" (${JSON.stringify(user.login)})`);
      }
    }
    const login = user.login.toLowerCase();
    if (byLogin.has(login)) throw new Error(`${file}: login ${user.login} twice`);
    if (bySub.has(user.sub)) throw new Error(`${file}: sub ${user.sub} twice`);
    byLogin.set(login, user);
    bySub.set(user.sub, user);
  }
  return { byLogin, bySub };
}

const USERS = loadUsers(USERS_FILE);

const digest = (text) => crypto.createHash('sha256').update(String(text), 'utf8').digest();

/** The user whose login (or e-mail) and password match, or null; same work either way. */
function authenticate(login, password) {
  const key = String(login || '').trim().toLowerCase();
  const user = USERS.byLogin.get(key)
    || [...USERS.bySub.values()].find((u) => typeof u.email === 'string' && u.email.toLowerCase() === key);
  const ok = crypto.timingSafeEqual(digest(user ? user.password : '\u0000no such user'), digest(password));
  return user && ok ? user : null;
}

async function findAccount(ctx, sub) {
  const user = USERS.bySub.get(sub);
  if (!user) return undefined;
  return {
    accountId: sub,
    async claims() {
      // No roles here, on purpose: the platform keeps its own grants.
      const claims = { sub, name: user.name, preferred_username: user.login };
      if (user.email) {
        claims.email = user.email;
        claims.email_verified = user.email_verified !== false;
      }
      return claims;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Keys.

function signingKeys() {
  if (JWKS_FILE) {
    const jwks = JSON.parse(fs.readFileSync(JWKS_FILE, 'utf8'));
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error(`${JWKS_FILE}: no "keys"`);
    return jwks.keys;
  }
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const thumbprint = crypto.createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url');
  return [{ ...jwk, kid: thumbprint, use: 'sig', alg: 'RS256' }];
}

// ---------------------------------------------------------------------------------------------
// Pages: server-rendered, Vietnamese first (English with ?lang=en), no script, no external
// resource, one inline stylesheet allowed by its hash.

const esc = (value) => String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);

const TEXT = {
  vi: {
    signIn: 'Đăng nhập',
    lead: 'Đăng nhập để vào Cổng sáng kiến Công đoàn Việt Nam.',
    login: 'Tên đăng nhập',
    loginHint: 'Tên đăng nhập hoặc địa chỉ email.',
    password: 'Mật khẩu',
    errorTitle: 'Có lỗi',
    errorPrefix: 'Lỗi:',
    wrong: 'Sai tên đăng nhập hoặc mật khẩu',
    noLogin: 'Nhập tên đăng nhập',
    noPassword: 'Nhập mật khẩu',
    cancel: 'Huỷ và quay lại cổng',
    other: 'English',
    devNote: 'Máy chủ đăng nhập dùng cho phát triển và kiểm thử.',
    expiredTitle: 'Phiên đăng nhập đã hết hạn',
    expired: 'Phiên đăng nhập này đã hết hạn hoặc không còn hợp lệ. Hãy quay lại cổng và đăng nhập lại.',
    back: 'Quay lại cổng',
    errorPage: 'Đã có lỗi xảy ra',
    errorCode: 'Mã lỗi',
    logoutTitle: 'Đăng xuất',
    logoutQuestion: 'Bạn có muốn đăng xuất khỏi Cổng sáng kiến không?',
    logoutYes: 'Đăng xuất',
    logoutNo: 'Không, giữ đăng nhập',
    loggedOut: 'Bạn đã đăng xuất.',
  },
  en: {
    signIn: 'Sign in',
    lead: 'Sign in to the Vietnam Trade Union initiatives portal.',
    login: 'Username',
    loginHint: 'Your username or e-mail address.',
    password: 'Password',
    errorTitle: 'There is a problem',
    errorPrefix: 'Error:',
    wrong: 'Wrong username or password',
    noLogin: 'Enter your username',
    noPassword: 'Enter your password',
    cancel: 'Cancel and go back to the portal',
    other: 'Tiếng Việt',
    devNote: 'Sign-in server for development and tests.',
    expiredTitle: 'Your sign-in has expired',
    expired: 'This sign-in has expired or is no longer valid. Go back to the portal and sign in again.',
    back: 'Back to the portal',
    errorPage: 'Something went wrong',
    errorCode: 'Error code',
    logoutTitle: 'Sign out',
    logoutQuestion: 'Do you want to sign out of the initiatives portal?',
    logoutYes: 'Sign out',
    logoutNo: 'No, stay signed in',
    loggedOut: 'You have signed out.',
  },
};

// Vietnamese unless asked otherwise: ?lang=en on our pages, or ui_locales=en at /auth (the
// browser's Accept-Language is not enough: the programme's words are Vietnamese).
const pickLang = (...candidates) => {
  for (const candidate of candidates) {
    for (const tag of String(candidate || '').toLowerCase().split(/[\s,]+/)) {
      if (tag.startsWith('vi')) return 'vi';
      if (tag.startsWith('en')) return 'en';
    }
  }
  return 'vi';
};

const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;font-size:1.125rem;line-height:1.5;color:#0b0c0c;background:#f3f2f1}
header{background:#0b3d91;color:#fff;padding:.75rem 0}
header p{margin:0 auto;font-weight:700;max-width:30rem;padding-inline:1rem}
main{display:block;max-width:30rem;margin:0 auto;padding:1.5rem 1rem 2rem;background:#fff;min-height:60vh}
h1{font-size:1.75rem;line-height:1.2;margin:0 0 1rem}
p{margin:0 0 1rem}
.field{margin:0 0 1.5rem}
label{display:block;font-weight:700;margin-bottom:.25rem}
.hint{display:block;color:#505a5f;margin-bottom:.25rem}
input[type=text],input[type=password]{display:block;width:100%;font:inherit;padding:.5rem;min-height:2.75rem;border:2px solid #0b0c0c;border-radius:0;background:#fff;color:#0b0c0c}
.field-error input{border-color:#d4351c;border-width:3px}
.error-message{display:block;font-weight:700;color:#d4351c;margin-bottom:.25rem}
.error-summary{border:4px solid #d4351c;padding:1rem;margin:0 0 1.5rem}
.error-summary h2{font-size:1.25rem;margin:0 0 .5rem}
.error-summary ul{margin:0;padding-left:1.25rem}
a{color:#1d4ed8;text-decoration:underline;text-underline-offset:.15em}
a:visited{color:#4c2c92}
.error-summary a{color:#d4351c;font-weight:700}
button{font:inherit;font-weight:700;min-height:2.75rem;padding:.5rem 1.25rem;border:0;border-radius:0;background:#00703c;color:#fff;box-shadow:0 2px 0 #002d18;cursor:pointer;margin:0 .75rem .75rem 0}
button:hover{background:#005a30}
button.secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px 0 #929191}
button.secondary:hover{background:#dbdad9}
input:focus,button:focus,a:focus,[tabindex]:focus{outline:3px solid #fd0;outline-offset:0;box-shadow:0 0 0 6px #0b0c0c}
a:focus{background:#fd0;color:#0b0c0c;text-decoration:none}
input:focus{box-shadow:inset 0 0 0 2px #0b0c0c}
button:focus{background:#fd0;color:#0b0c0c}
.small{font-size:1rem;color:#505a5f}
.visually-hidden{position:absolute!important;width:1px!important;height:1px!important;margin:0!important;padding:0!important;overflow:hidden!important;clip:rect(0 0 0 0)!important;clip-path:inset(50%)!important;border:0!important;white-space:nowrap!important}
footer{max-width:30rem;margin:0 auto;padding:1rem;font-size:1rem;color:#505a5f}
@media (min-width:40em){main{margin-top:2rem;padding:2rem}header p,footer{padding-inline:2rem}}
`;

const CSS_HASH = `'sha256-${crypto.createHash('sha256').update(CSS, 'utf8').digest('base64')}'`;

const origins = (urls) => [...new Set(urls.map((u) => {
  try { return new URL(u).origin; } catch { return null; }
}).filter(Boolean))];

// Form submissions here end, after the provider's redirects, at the portal: allow its origins.
const CSP = [
  "default-src 'none'",
  `style-src ${CSS_HASH}`,
  "img-src 'self'",
  `form-action 'self' ${origins([...REDIRECT_URIS, ...POST_LOGOUT_REDIRECT_URIS]).join(' ')}`,
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const PORTAL_HOME = POST_LOGOUT_REDIRECT_URIS[0] || (REDIRECT_URIS[0] ? `${new URL(REDIRECT_URIS[0]).origin}/` : '/');

function page({ lang, title, body, error = false }) {
  const t = TEXT[lang];
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(error ? `${t.errorPrefix} ${title}` : title)} – Công đoàn Việt Nam</title>
<style>${CSS}</style>
</head>
<body>
<header><p>Công đoàn Việt Nam · Sáng kiến</p></header>
<main id="main">
${body}
</main>
<footer><p>${esc(t.devNote)}</p></footer>
</body>
</html>
`;
}

function securityHeaders(set) {
  set('Content-Security-Policy', CSP);
  set('Cache-Control', 'no-store');
  set('X-Content-Type-Options', 'nosniff');
  set('X-Frame-Options', 'DENY');
  set('Referrer-Policy', 'no-referrer');
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  securityHeaders((k, v) => res.setHeader(k, v));
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}

function loginPage({ uid, lang, login = '', errors: problems = {} }) {
  const t = TEXT[lang];
  const other = lang === 'vi' ? 'en' : 'vi';
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  const items = Object.entries(problems);
  const summary = items.length ? `
<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1">
<h2 id="error-summary-title">${esc(t.errorTitle)}</h2>
<ul>${items.map(([field, message]) => `<li><a href="#${esc(field)}">${esc(message)}</a></li>`).join('')}</ul>
</div>` : '';
  const field = (name, type, label, extra, hint = '') => {
    const problem = problems[name];
    const described = [hint && `${name}-hint`, problem && `${name}-error`].filter(Boolean).join(' ');
    return `<div class="field${problem ? ' field-error' : ''}">
<label for="${name}">${esc(label)}</label>
${hint ? `<span class="hint" id="${name}-hint">${esc(hint)}</span>` : ''}
${problem ? `<span class="error-message" id="${name}-error"><span class="visually-hidden">${esc(t.errorPrefix)}</span> ${esc(problem)}</span>` : ''}
<input type="${type}" id="${name}" name="${name}"${described ? ` aria-describedby="${described}"` : ''}${problem ? ' aria-invalid="true"' : ''} ${extra}>
</div>`;
  };
  const body = `${summary}
<h1>${esc(t.signIn)}</h1>
<p>${esc(t.lead)}</p>
<form method="post" action="${esc(action)}" novalidate>
<input type="hidden" name="lang" value="${esc(lang)}">
${field('login', 'text', t.login, `value="${esc(login)}" autocomplete="username" autocapitalize="none" spellcheck="false"`, t.loginHint)}
${field('password', 'password', t.password, 'autocomplete="current-password"')}
<button type="submit">${esc(t.signIn)}</button>
</form>
<p><a href="/interaction/${esc(encodeURIComponent(uid))}/abort">${esc(t.cancel)}</a></p>
<p class="small"><a href="/interaction/${esc(encodeURIComponent(uid))}?lang=${other}" lang="${other}" hreflang="${other}">${esc(TEXT[lang].other)}</a></p>`;
  return page({ lang, title: t.signIn, body, error: items.length > 0 });
}

function messagePage({ lang, title, message, code }) {
  const t = TEXT[lang];
  const body = `<h1>${esc(title)}</h1>
<p>${esc(message)}</p>
${code ? `<p class="small">${esc(t.errorCode)}: <code>${esc(code)}</code></p>` : ''}
<p><a href="${esc(PORTAL_HOME)}">${esc(t.back)}</a></p>`;
  return page({ lang, title, body });
}

// The provider's own pages (errors, logout), in the same look and language.

async function renderError(ctx, out) {
  const lang = pickLang(ctx.oidc?.params?.ui_locales);
  const t = TEXT[lang];
  ctx.type = 'html';
  securityHeaders((k, v) => ctx.set(k, v));
  ctx.body = messagePage({
    lang,
    title: t.errorPage,
    message: out.error_description || out.error,
    code: out.error,
  });
}

async function logoutSource(ctx, form) {
  // `form` is the provider's hidden form (id op.logoutForm) with its xsrf token.
  const lang = pickLang(ctx.oidc?.params?.ui_locales);
  const t = TEXT[lang];
  securityHeaders((k, v) => ctx.set(k, v));
  ctx.body = page({
    lang,
    title: t.logoutTitle,
    body: `<h1>${esc(t.logoutTitle)}</h1>
<p>${esc(t.logoutQuestion)}</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">${esc(t.logoutYes)}</button>
<button type="submit" form="op.logoutForm" class="secondary">${esc(t.logoutNo)}</button>`,
  });
}

async function postLogoutSuccessSource(ctx) {
  const lang = pickLang(ctx.oidc?.params?.ui_locales);
  const t = TEXT[lang];
  securityHeaders((k, v) => ctx.set(k, v));
  ctx.body = page({
    lang,
    title: t.logoutTitle,
    body: `<h1>${esc(t.loggedOut)}</h1>
<p><a href="${esc(PORTAL_HOME)}">${esc(t.back)}</a></p>`,
  });
}

// ---------------------------------------------------------------------------------------------
// The provider.

const FIRST_PARTY = new Set([CLIENT_ID]);

/** Completes (or creates) the person's grant for a first-party client: no consent screen. */
async function grantFor(provider, { client, accountId, grantId, scopes, claims }) {
  let grant = grantId ? await provider.Grant.find(grantId) : undefined;
  if (!grant) grant = new provider.Grant({ clientId: client.clientId, accountId });
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'Cổng sáng kiến',
    redirect_uris: REDIRECT_URIS,
    post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', // client_secret_post is accepted as well
    id_token_signed_response_alg: 'RS256',
  }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 knows
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // Put name and email in the ID token too, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  findAccount,
  async loadExistingGrant(ctx) {
    const { client, session, result } = ctx.oidc;
    const grantId = result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (!FIRST_PARTY.has(client.clientId)) {
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    }
    return grantFor(ctx.oidc.provider, {
      client,
      accountId: session.accountId,
      grantId,
      scopes: [...ctx.oidc.requestParamOIDCScopes],
      claims: [...ctx.oidc.requestParamClaims],
    });
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  clientBasedCORS: () => false, // the portal talks to us from its server, not from a browser
  renderError,
  cookies: {
    keys: COOKIE_KEYS.length ? COOKIE_KEYS : [crypto.randomBytes(32).toString('base64url')],
  },
  jwks: { keys: signingKeys() },
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 10 * 60,
    IdToken: 10 * 60,
    RefreshToken: 8 * 60 * 60,
    Interaction: 15 * 60,
    Session: 8 * 60 * 60,
    Grant: 8 * 60 * 60,
  },
};

const provider = new Provider(ISSUER, configuration);

provider.on('server_error', (ctx, err) => console.error('server_error', ctx.method, ctx.path, err));
for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
  provider.on(event, (ctx, err) => console.warn(event, err.error || err.name, err.error_description || err.message));
}

// ---------------------------------------------------------------------------------------------
// Interaction routes (our login page) in front of the provider's own.

const MAX_BODY = 16 * 1024;

function readForm(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('form too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

async function interaction(req, res, url, match) {
  const [, uid, action] = match;
  const queryLang = url.searchParams.get('lang');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      const lang = pickLang(queryLang);
      const t = TEXT[lang];
      send(res, 400, messagePage({ lang, title: t.expiredTitle, message: t.expired }));
      return;
    }
    throw err;
  }
  if (details.uid !== uid) {
    const lang = pickLang(queryLang);
    const t = TEXT[lang];
    send(res, 400, messagePage({ lang, title: t.expiredTitle, message: t.expired }));
    return;
  }
  const { prompt, params, session } = details;
  let lang = pickLang(queryLang, params.ui_locales);

  if (action === 'abort' && req.method === 'GET') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'consent' && !action && req.method === 'GET') {
    // Only when the client asked for prompt=consent: first-party, so granted without a screen.
    const client = await provider.Client.find(params.client_id);
    if (!client || !FIRST_PARTY.has(client.clientId)) {
      send(res, 403, messagePage({ lang, title: TEXT[lang].errorPage, message: 'consent required', code: 'consent_required' }));
      return;
    }
    const { details: missing } = prompt;
    const grant = await grantFor(provider, {
      client,
      accountId: session.accountId,
      grantId: details.grantId,
      scopes: missing.missingOIDCScope || [],
      claims: missing.missingOIDCClaims || [],
    });
    const consent = details.grantId ? {} : { grantId: grant.jti };
    await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
    return;
  }

  if (prompt.name !== 'login') {
    send(res, 400, messagePage({ lang, title: TEXT[lang].errorPage, message: `unexpected prompt ${prompt.name}`, code: prompt.name }));
    return;
  }

  if (!action && req.method === 'GET') {
    send(res, 200, loginPage({ uid, lang, login: params.login_hint || '' }));
    return;
  }

  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    lang = pickLang(form.get('lang'), lang);
    const t = TEXT[lang];
    const login = (form.get('login') || '').trim();
    const password = form.get('password') || '';
    const problems = {};
    if (!login) problems.login = t.noLogin;
    if (!password) problems.password = t.noPassword;
    const user = Object.keys(problems).length ? null : authenticate(login, password);
    if (!user) {
      if (!Object.keys(problems).length) problems.password = t.wrong;
      console.warn('login refused', JSON.stringify(login.slice(0, 100)));
      send(res, 200, loginPage({ uid, lang, login, errors: problems }));
      return;
    }
    console.log('login', user.sub);
    await provider.interactionFinished(req, res, {
      login: { accountId: user.sub, amr: ['pwd'] },
    }, { mergeWithLastSubmission: false });
    return;
  }

  res.statusCode = 405;
  res.setHeader('Allow', action === 'login' ? 'POST' : 'GET');
  res.end();
}

const providerCallback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|abort))?\/?$/;

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, ISSUER);
  const match = INTERACTION.exec(url.pathname);
  if (!match) {
    providerCallback(req, res);
    return;
  }
  try {
    await interaction(req, res, url, match);
  } catch (err) {
    console.error('interaction error', err);
    if (!res.headersSent) {
      const lang = pickLang();
      send(res, err.status || 500, messagePage({ lang, title: TEXT[lang].errorPage, message: TEXT[lang].errorPage, code: 'server_error' }));
    } else {
      res.destroy();
    }
  }
});

server.on('error', (err) => {
  console.error(`oidc provider cannot listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  console.log(`oidc provider listening on ${ISSUER}`);
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
