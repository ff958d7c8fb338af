// The OpenID Provider the vault's sign-in tests start: npm's oidc-provider
// (the engine ProConnect and FranceConnect run), configured like one or the
// other, on 127.0.0.1 and a port the system picks.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json:
//   profile      "proconnect" | "franceconnect"
//   clients      [{client_id, client_secret, redirect_uris, post_logout_redirect_uris}]
//   accounts     {"<login>": {claims: {...}, acr: "eidas1", amr: ["pwd"]}}
//   alg          "ES256" (default) or "RS256": how id_tokens and userinfo are signed
//   forged_jwks  true: publish other keys under the same key ids (every
//                signature then fails to verify at the relying party)
//   token_clock_skew_s  seconds added to the provider's clock while it
//                answers the token endpoint (negative: expired id_tokens)
//
// Once listening it prints one JSON line: {"issuer": "...", "port": N}.
//
// ProConnect-like: client_secret_post only, PKCE accepted, id_token and
// userinfo signed (the userinfo a JWT), ProConnect's claims and acr values.
// FranceConnect-like: the same, plus a strict whitelist of /authorize
// parameters (anything else, PKCE included, is refused as FranceConnect
// refuses it), acr_values and a nonce of at least 22 characters required,
// a pairwise sub, and access tokens that live 60 seconds.
//
// The login page is ours (no consent step): a field for the test account's
// login, "Se connecter", and "Annuler" (error=access_denied).

import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const profile = config.profile;
if (profile !== 'proconnect' && profile !== 'franceconnect') {
  throw new Error(`profile must be proconnect or franceconnect, not ${profile}`);
}
const alg = config.alg ?? 'ES256';
const MOUNT = '/api/v2';

const FC_AUTHORIZE_PARAMETERS = new Set([
  'client_id', 'acr_values', 'claims', 'response_type', 'nonce', 'state',
  'redirect_uri', 'scope', 'prompt', 'idp_hint', 'ui_locales',
]);

const CLAIMS = profile === 'proconnect'
  ? {
    openid: ['sub'],
    amr: null,
    email: ['email'],
    given_name: ['given_name'],
    usual_name: ['usual_name'],
    uid: ['uid'],
    siret: ['siret'],
    idp_id: ['idp_id'],
    organization_label: ['organization_label'],
    roles: ['roles'],
  }
  : {
    openid: ['sub'],
    given_name: ['given_name'],
    family_name: ['family_name'],
    birthdate: ['birthdate'],
    gender: ['gender'],
    email: ['email'],
  };

function privateJwk(kind, kid) {
  const { privateKey } = kind === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: kind, use: 'sig' };
}

const keys = [privateJwk('ES256', 'es-1'), privateJwk('RS256', 'rs-1')];
const publicOf = ({ d, p, q, dp, dq, qi, ...pub }) => pub;
const forgedJwks = { keys: [privateJwk('ES256', 'es-1'), privateJwk('RS256', 'rs-1')].map(publicOf) };

function page(title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><main><h1>${title}</h1>${body}</main></body></html>`;
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}${MOUNT}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: alg,
    userinfo_signed_response_alg: alg,
    ...(profile === 'franceconnect' ? { subject_type: 'pairwise' } : {}),
    ...c,
  })),
  jwks: { keys },
  claims: CLAIMS,
  scopes: Object.keys(CLAIMS).filter((k) => CLAIMS[k] !== null),
  acrValues: ['eidas0', 'eidas0-mfa', 'eidas1', 'eidas1-mfa', 'eidas2', 'eidas3'],
  clientAuthMethods: ['client_secret_post'],
  pkce: { required: () => false },
  enabledJWA: {
    idTokenSigningAlgValues: ['ES256', 'RS256'],
    userinfoSigningAlgValues: ['ES256', 'RS256'],
  },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Déconnexion', `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Se déconnecter</button>`);
      },
      postLogoutSuccessSource: async (ctx) => { ctx.body = page('Déconnecté', ''); },
    },
  },
  subjectTypes: profile === 'franceconnect' ? ['public', 'pairwise'] : ['public'],
  pairwiseIdentifier: async (ctx, accountId, client) => `fc-${client.clientId.length}-${accountId}`,
  ttl: {
    AccessToken: profile === 'franceconnect' ? 60 : 600,
    AuthorizationCode: 60,
    IdToken: 300,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const account = config.accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  // No consent step: every client here is first-party; the grant covers
  // what the request asked for.
  loadExistingGrant: async (ctx) => {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    if (grantId) {
      const found = await oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...oidc.requestParamClaims]);
    await grant.save();
    return grant;
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Erreur du fournisseur', Object.entries(out).map(([k, v]) => `<p>${escape(k)} : ${escape(v)}</p>`).join(''));
  },
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
}

function loginPage(uid, error) {
  return page('Connexion au fournisseur d\'identité de test',
    `${error ? `<p role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/interaction/${uid}/login">
      <label for="login">Compte</label> <input id="login" name="login" autofocus>
      <button type="submit">Se connecter</button>
    </form>
    <form method="post" action="/interaction/${uid}/abort"><button type="submit">Annuler</button></form>`);
}

async function interaction(req, res, path) {
  const [, , uid, step] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Interaction inconnue', ''));
  if (req.method === 'GET' && !step) return send(res, 200, loginPage(uid));
  if (req.method === 'POST' && step === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'cancelled by the user' });
  }
  if (req.method === 'POST' && step === 'login') {
    const login = (await readForm(req)).get('login') ?? '';
    const account = config.accounts[login];
    if (!account) return send(res, 200, loginPage(uid, `Compte inconnu : ${login}`));
    return provider.interactionFinished(req, res, {
      login: { accountId: login, acr: account.acr, amr: account.amr },
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, page('Introuvable', ''));
}

function refuseParameters(url) {
  if (profile !== 'franceconnect' || !url.pathname.endsWith('/auth')) return null;
  const stray = [...url.searchParams.keys()].filter((k) => !FC_AUTHORIZE_PARAMETERS.has(k));
  if (stray.length) return `paramètres refusés : ${stray.join(', ')}`;
  if (!url.searchParams.get('acr_values')) return 'acr_values manquant';
  if ((url.searchParams.get('nonce') ?? '').length < 22) return 'nonce absent ou trop court (22 caractères au moins)';
  return null;
}

const handle = provider.callback();
const realNow = Date.now;

server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/interaction/')) return await interaction(req, res, url.pathname);
    if (!url.pathname.startsWith(MOUNT)) return send(res, 404, page('Introuvable', ''));
    const refused = refuseParameters(url);
    if (refused) return send(res, 400, page('Requête refusée', `<p>${escape(refused)}</p>`));
    if (config.forged_jwks && url.pathname === `${MOUNT}/jwks`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(forgedJwks));
    }
    if (config.token_clock_skew_s && url.pathname === `${MOUNT}/token`) {
      Date.now = () => realNow() + config.token_clock_skew_s * 1000;
      res.on('finish', () => { Date.now = realNow; });
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(MOUNT.length) || '/';
    return handle(req, res);
  } catch (e) {
    process.stderr.write(`provider: ${e.stack ?? e}\n`);
    if (!res.headersSent) send(res, 500, page('Erreur', ''));
  }
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
