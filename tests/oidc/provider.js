// The OpenID provider the sign-in tests start (tests/test_oidc.py): oidc-provider with one
// confidential client, PKCE required, and a sign-in form a browser fills in, standing in
// for Microsoft Entra ID. Its ID tokens carry what Entra's do for partnerdesk: `tid`,
// `oid`, `email`, `email_verified`.
//
// Configured by the environment:
//   PORT           where to listen (127.0.0.1)
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   the one client
//   ACCOUNTS       JSON {login: {email, email_verified, tid, oid, name}}
// Prints "listening <issuer>" once it serves.
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS);

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    },
  ],
  // Every authorization request must carry an S256 code challenge, as Entra accepts it.
  pkce: { required: () => true },
  claims: {
    openid: ['sub', 'tid', 'oid'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The claims go into the ID token itself, as Entra puts them, not only into userinfo.
  conformIdTokenClaims: false,
  cookies: { keys: ['partnerdesk-test-only'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: `sub-${id}`, ...account };
      },
    };
  },
  // A first-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

function signInForm(uid, message) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test provider: sign in</title></head>
<body><h1>Test provider: sign in</h1>${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Account</label><input id="login" name="login" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (action === 'login' && req.method === 'POST') {
    const login = (await readForm(req)).get('login') || '';
    if (!accounts[login]) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(signInForm(uid, `No account "${login}"`));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: login } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(signInForm(uid));
}

const handle = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
    if (match) {
      await interaction(req, res, match[1], match[2]);
      return;
    }
    // Entra's prompt=select_account shows the account picker; here, the sign-in form again.
    if (url.pathname === '/auth' && url.searchParams.get('prompt') === 'select_account') {
      url.searchParams.set('prompt', 'login');
      req.url = url.pathname + url.search;
    }
    handle(req, res);
  } catch (error) {
    console.error(error);
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(error));
  }
});

server.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
