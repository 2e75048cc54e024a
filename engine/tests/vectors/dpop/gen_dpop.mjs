// Generates DPoP (RFC 9449) test vectors for warrant-engine with an independent JOSE
// implementation: panva's `jose` for Node.js (not our Rust code, not the PyJWT of the token
// vectors), so the Rust tests check interoperability as well as every refusal.
//
//   cd engine/tests/vectors/dpop && npm ci && node gen_dpop.mjs
//
// Output: dpop.json next to this script (fresh keys on every run; only public keys are written,
// plus the proofs and tokens they signed). Read by engine/tests/dpop_vectors.rs.
//
// Each case: an access token (`token`: "bound" carries `cnf.jkt` of the client key, "unbound"
// has no `cnf`), a DPoP proof (or null), the request's method and URI, and what the verifier must
// answer: "bound" (verified, sender-constrained), "unbound" (verified bearer token) or a
// TokenError code. `replay: true`: the same proof presented again must be refused as
// `dpop_replay`.
import { writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, calculateJwkThumbprint } from "jose";

const HERE = dirname(fileURLToPath(import.meta.url));
const NOW = 1_800_000_000;
const ISSUER = "https://idp.dpop.test";
const AUDIENCE = "https://api.dpop.test";
const URI = "https://api.dpop.test/orders/42";
const METHOD = "GET";

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (text) => createHash("sha256").update(text).digest();
const publicJwk = async (key) => {
  const jwk = await exportJWK(key);
  delete jwk.d;
  for (const member of ["p", "q", "dp", "dq", "qi"]) delete jwk[member];
  return jwk;
};

const issuer = await generateKeyPair("ES256", { extractable: true });
const issuerJwk = { ...(await publicJwk(issuer.publicKey)), kid: "issuer-1", alg: "ES256", use: "sig" };

// The agent's DPoP keys, one per accepted algorithm family, and an attacker's.
const clients = {
  ES256: await generateKeyPair("ES256", { extractable: true }),
  ES384: await generateKeyPair("ES384", { extractable: true }),
  PS256: await generateKeyPair("PS256", { extractable: true, modulusLength: 2048 }),
  RS256: await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 }),
  EdDSA: await generateKeyPair("Ed25519", { extractable: true }),
};
const attacker = await generateKeyPair("ES256", { extractable: true });
const clientJwk = {};
for (const [alg, pair] of Object.entries(clients)) clientJwk[alg] = await publicJwk(pair.publicKey);
const attackerJwk = await publicJwk(attacker.publicKey);

async function accessToken(claims) {
  return new SignJWT({ sub: "user-1", act: { sub: "agent-1" }, scope: "orders:read", client_id: "agent-app", ...claims })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "issuer-1" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(NOW - 60)
    .setExpirationTime(NOW + 3600)
    .setJti(`at-${Math.random().toString(36).slice(2)}`)
    .sign(issuer.privateKey);
}

const tokens = { unbound: await accessToken({}) };
const jkt = {};
for (const alg of Object.keys(clients)) {
  jkt[alg] = await calculateJwkThumbprint(clientJwk[alg], "sha256");
  tokens[`bound_${alg}`] = await accessToken({ cnf: { jkt: jkt[alg] } });
}

let counter = 0;
// A proof for `token` (a key of `tokens`) as `alg`'s client would make it; `header`, `claims`
// and `signer` override the honest values.
async function proof(token, { alg = "ES256", header = {}, claims = {}, signer, omit = [] } = {}) {
  const body = {
    jti: `proof-${++counter}-${Math.random().toString(36).slice(2)}`,
    htm: METHOD,
    htu: URI,
    iat: NOW,
    ath: b64url(sha256(tokens[token])),
    ...claims,
  };
  for (const name of omit) delete body[name];
  const protectedHeader = { alg, typ: "dpop+jwt", jwk: clientJwk[alg], ...header };
  for (const name of omit) delete protectedHeader[name];
  return new SignJWT(body).setProtectedHeader(protectedHeader).sign(signer ?? clients[alg].privateKey);
}

const cases = [];
const add = (name, token, proofText, expect, extra = {}) =>
  cases.push({ name, token, proof: proofText, method: METHOD, uri: URI, now: NOW, expect, ...extra });

for (const alg of Object.keys(clients)) {
  add(`valid_${alg}`, `bound_${alg}`, await proof(`bound_${alg}`, { alg }), "bound");
}
add("valid_then_replayed", "bound_ES256", await proof("bound_ES256"), "bound", { replay: true });
add("valid_proof_30s_old", "bound_ES256", await proof("bound_ES256", { claims: { iat: NOW - 30 } }), "bound");
add("request_uri_has_query_and_fragment", "bound_ES256", await proof("bound_ES256"), "bound", {
  uri: `${URI}?page=2#top`,
});
add("htu_scheme_host_case_and_default_port", "bound_ES256",
  await proof("bound_ES256", { claims: { htu: "HTTPS://API.dpop.test:443/orders/42" } }), "bound");
add("htu_with_query_ignored", "bound_ES256", await proof("bound_ES256", { claims: { htu: `${URI}?x=1` } }), "bound");
add("wrong_htm", "bound_ES256", await proof("bound_ES256", { claims: { htm: "POST" } }), "dpop_wrong_method");
add("lowercase_htm", "bound_ES256", await proof("bound_ES256", { claims: { htm: "get" } }), "dpop_wrong_method");
add("wrong_htu_path", "bound_ES256",
  await proof("bound_ES256", { claims: { htu: "https://api.dpop.test/orders/43" } }), "dpop_wrong_uri");
add("wrong_htu_path_case", "bound_ES256",
  await proof("bound_ES256", { claims: { htu: "https://api.dpop.test/Orders/42" } }), "dpop_wrong_uri");
add("wrong_htu_host", "bound_ES256",
  await proof("bound_ES256", { claims: { htu: "https://evil.test/orders/42" } }), "dpop_wrong_uri");
add("wrong_htu_scheme", "bound_ES256",
  await proof("bound_ES256", { claims: { htu: "http://api.dpop.test/orders/42" } }), "dpop_wrong_uri");
add("wrong_ath", "bound_ES256", await proof("bound_ES256", { claims: { ath: b64url(sha256("another token")) } }),
  "dpop_wrong_token_hash");
add("missing_ath", "bound_ES256", await proof("bound_ES256", { omit: ["ath"] }), "dpop_invalid_proof");
add("missing_jti", "bound_ES256", await proof("bound_ES256", { omit: ["jti"] }), "dpop_invalid_proof");
add("missing_iat", "bound_ES256", await proof("bound_ES256", { omit: ["iat"] }), "dpop_invalid_proof");
add("stale_iat", "bound_ES256", await proof("bound_ES256", { claims: { iat: NOW - 300 } }), "dpop_stale_proof");
add("future_iat", "bound_ES256", await proof("bound_ES256", { claims: { iat: NOW + 300 } }), "dpop_stale_proof");
add("signed_by_another_key", "bound_ES256",
  await proof("bound_ES256", { signer: attacker.privateKey }), "dpop_bad_signature");
add("attacker_key_and_jwk", "bound_ES256",
  await proof("bound_ES256", { header: { jwk: attackerJwk }, signer: attacker.privateKey }), "dpop_key_mismatch");
add("private_key_in_header", "bound_ES256",
  await proof("bound_ES256", { header: { jwk: await exportJWK(clients.ES256.privateKey) } }), "dpop_invalid_proof");
add("wrong_typ", "bound_ES256", await proof("bound_ES256", { header: { typ: "JWT" } }), "dpop_invalid_proof");
add("missing_jwk", "bound_ES256", await proof("bound_ES256", { omit: ["jwk"] }), "dpop_invalid_proof");
add("alg_contradicts_jwk", "bound_ES256",
  await proof("bound_ES256", { alg: "ES384", header: { jwk: clientJwk.ES256 }, signer: clients.ES384.privateKey }),
  "dpop_invalid_proof");
{
  const none = new UnsecuredJWT({ jti: "none-1", htm: METHOD, htu: URI, iat: NOW, ath: b64url(sha256(tokens.bound_ES256)) })
    .encode();
  // UnsecuredJWT writes {"alg":"none"}; add the DPoP header members an attacker would send.
  const [, payload] = none.split(".");
  const header = b64url(JSON.stringify({ alg: "none", typ: "dpop+jwt", jwk: clientJwk.ES256 }));
  add("alg_none", "bound_ES256", `${header}.${payload}.`, "dpop_algorithm_not_allowed");
}
{
  const secret = new TextEncoder().encode("a-32-byte-shared-secret-for-hmac!!");
  const hmacProof = await new SignJWT({ jti: "hs-1", htm: METHOD, htu: URI, iat: NOW, ath: b64url(sha256(tokens.bound_ES256)) })
    .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: b64url(secret) } })
    .sign(secret);
  add("hmac_proof", "bound_ES256", hmacProof, "dpop_algorithm_not_allowed");
}
add("bound_token_without_proof", "bound_ES256", null, "dpop_proof_required");
add("proof_for_unbound_token", "unbound", await proof("unbound"), "unbound");
add("unbound_token_without_proof", "unbound", null, "unbound");
add("malformed_proof", "bound_ES256", "not.a-jwt", "dpop_invalid_proof");

const output = {
  generator: "engine/tests/vectors/dpop/gen_dpop.mjs (jose " + JSON.parse(
    (await import("node:fs")).readFileSync(join(HERE, "node_modules/jose/package.json"), "utf8")).version + ")",
  now: NOW,
  issuer: ISSUER,
  audience: AUDIENCE,
  issuer_jwks: { keys: [issuerJwk] },
  tokens,
  cases,
};
writeFileSync(join(HERE, "dpop.json"), JSON.stringify(output, null, 1) + "\n");
console.log(`wrote ${cases.length} cases to dpop.json`);
