// A real OpenID Connect provider (panva/oidc-provider, OpenID Certified) standing in for the
// province's unified identity platform (统一身份认证) in zhifa's sign-in tests and the `make run`
// demo. NEVER deployed: production points zhifa at the province's own provider.
//
// Listens on 127.0.0.1 only. Configured by a JSON file (OIDC_CONFIG):
//   { "issuer": "http://127.0.0.1:9400", "port": 9400,
//     "clients": [{ "client_id", "client_secret", "redirect_uris": [...] }],
//     "accounts": { "<login>": { "password": "...", "claims": { "name", "zhifa_role", "zhifa_region",
//                                                               "zhifa_bodies": [...] } } } }
// Sign-in page: login + password checked against the accounts (no consent screen: zhifa is a
// first-party client). Authorization code flow with PKCE (S256) required; the ID token carries the
// zhifa claims (scope "zhifa").
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { URLSearchParams } from 'node:url';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.env.OIDC_CONFIG, 'utf8'));
const accounts = Object.fromEntries(Object.entries(settings.accounts).filter(([k]) => !k.startsWith('_')));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

const provider = new Provider(settings.issuer, {
  clients: settings.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris || [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'zhifa'],
  claims: { openid: ['sub'], profile: ['name'], zhifa: ['zhifa_role', 'zhifa_region', 'zhifa_bodies'] },
  conformIdTokenClaims: false,          // the zhifa claims in the ID token itself
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account.claims }; } };
  },
  async loadExistingGrant(ctx) {           // first-party client: every requested scope and claim granted
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile zhifa');
    grant.addOIDCClaims(['name', 'zhifa_role', 'zhifa_region', 'zhifa_bodies']);
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><meta charset="utf-8"><title>错误</title><p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`;
  },
});

function page(uid, message = '') {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>统一身份认证（测试）</title></head>
<body><h1>统一身份认证平台（测试用）</h1>${message ? `<p id="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label>用户名 <input id="username" name="login" required autofocus></label>
<label>密码 <input id="password" name="password" type="password" required></label>
<button id="sign-in" type="submit">登录</button></form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const oidc = provider.callback();
const server = createServer(async (req, res) => {
  const match = req.url.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) return oidc(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && !match[2]) {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      return res.end(page(details.uid));
    }
    if (req.method === 'POST' && match[2]) {
      const form = await readForm(req);
      const account = accounts[form.get('login')];
      if (!account || account.password !== form.get('password')) {
        res.statusCode = 401;
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        return res.end(page(details.uid, '用户名或密码错误'));
      }
      return await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
                                               { mergeWithLastSubmission: false });
    }
    res.statusCode = 405;
    return res.end();
  } catch (err) {
    res.statusCode = 400;
    return res.end(String(err.message || err));
  }
});
server.listen(settings.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${settings.issuer}`);
});
// close() alone waits for every idle keep-alive connection (a browser's, the gateway's HTTP pool) to time out:
// the tests waited 10 s for each provider to stop; drop them, then exit once the listener is closed
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => { server.closeAllConnections(); }, 1000).unref();
});
