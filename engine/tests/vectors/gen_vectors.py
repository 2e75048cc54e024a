#!/usr/bin/env python3
"""Generates independent JWT test vectors for warrant-engine's token verifier.

The tokens are made by PyJWT + cryptography (not by our Rust code), so the Rust tests check
interoperability as well as every rejection class. Regenerate with:

    pip install pyjwt cryptography && python3 engine/tests/vectors/gen_vectors.py

Outputs (next to this script): keys/*.pem, keys/*.jwks.json and tokens.json. Keys are freshly
generated on every run; only public keys (and the test HMAC secret) are written.

The "claims" group (required claims, subjects, time ranges, verifier options) is signed with
the test HMAC secret only, so it can be regenerated alone, keeping every other vector and key:

    python3 engine/tests/vectors/gen_vectors.py --claims-only

A case may carry "options": VerifyOptions fields (require_iat, require_jti, require_client_id,
require_access_token_type) that differ from the defaults for that case.
"""
import base64
import hashlib
import hmac
import json
import os
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")
NOW = 1_800_000_000
LEEWAY = 60
AUD = "https://api.example"
MIXED = "https://mixed.example"
TOKENS = os.path.join(HERE, "tokens.json")
I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1
# The RFC 8693 example is a token-exchange token, not an RFC 9068 access token: it has no `iat`.
RFC8693_OPTIONS = {"require_iat": False}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwk_of(algorithm, private_key, kid: str, alg: str) -> dict:
    jwk = json.loads(algorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def write(name: str, data) -> str:
    path = os.path.join(KEYS, name)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as out:
        out.write(data)
    return "keys/" + name


def hs256_raw(header: dict, claims: dict, secret: bytes) -> str:
    """Signs by hand, for tokens PyJWT rightly refuses to make (e.g. a PEM as HMAC secret)."""
    signing_input = b64url_json(header) + "." + b64url_json(claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def nested_act(subjects):
    """RFC 8693: the last subject is the current actor (outermost `act`)."""
    act = None
    for index, sub in enumerate(subjects):
        level = {"sub": sub, "client_id": "client-" + sub, "instance_id": "inst-%d" % index}
        if act is not None:
            level["act"] = act
        act = level
    return act


def claims(iss="https://rsa.example", **extra):
    """A compliant RFC 9068 claim set; `name=None` drops a claim."""
    base = {"iss": iss, "sub": "user-1", "aud": AUD, "exp": NOW + 600, "iat": NOW - 10,
            "jti": "jti-1", "client_id": "gateway", "scope": "read write"}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


class Cases(list):
    def ok(self, name, token, chain=(), sub="user-1", scope=("read", "write"), now=NOW, options=None, group=None):
        case = {"name": name, "token": token, "now": now, "expect": "ok",
                "sub": sub, "scope": None if scope is None else list(scope), "chain": list(chain)}
        self.append(with_extras(case, options, group))

    def bad(self, name, token, error, now=NOW, options=None, group=None):
        self.append(with_extras({"name": name, "token": token, "now": now, "expect": error}, options, group))


def with_extras(case, options, group):
    if options:
        case["options"] = options
    if group:
        case["group"] = group
    return case


def claims_group(hmac_secret: bytes):
    """Required claims, subjects at every `act` level, time ranges and verifier options: all
    signed with the test HMAC secret (issuer https://mixed.example, kid hmac-m)."""
    cases = Cases()

    def sign(c, typ=None):
        headers = {"kid": "hmac-m"} if typ is None else {"kid": "hmac-m", "typ": typ}
        return jwt.encode(c, hmac_secret, algorithm="HS256", headers=headers)

    def mixed(**extra):
        return claims(MIXED, **extra)

    def ok(name, c, typ=None, options=None, chain=()):
        cases.ok(name, sign(c, typ), chain=chain, options=options, group="claims")

    def bad(name, c, error, typ=None, options=None):
        cases.bad(name, sign(c, typ), error, options=options, group="claims")

    strict = {"require_iat": True, "require_jti": True, "require_client_id": True, "require_access_token_type": True}
    ok("claims_rfc9068_profile_all_checks_on", mixed(), typ="at+jwt", options=strict)
    ok("claims_rfc9068_profile_media_type", mixed(), typ="application/at+jwt", options=strict)
    bad("claims_typ_jwt_when_at_jwt_required", mixed(), "not_an_access_token", typ="JWT", options=strict)

    # Subjects: the token's own, and one per `act` level (RFC 8693 nesting, outermost = current).
    bad("missing_sub", mixed(sub=None), "missing_subject")
    bad("sub_null", {**mixed(), "sub": None}, "missing_subject")
    bad("sub_not_string", mixed(sub=42), "invalid_subject")
    bad("sub_empty", mixed(sub=""), "invalid_subject")
    bad("sub_object", mixed(sub={"id": "user-1"}), "invalid_subject")
    agents = ["agent-%d" % i for i in range(3)]
    ok("act_depth_3_every_actor_named", mixed(act=nested_act(agents)), chain=agents)
    current_unnamed = nested_act(agents[:1])
    del current_unnamed["sub"]
    bad("act_depth_1_without_sub", mixed(act=current_unnamed), "actor_without_subject")
    innermost_unnamed = nested_act(agents)
    del innermost_unnamed["act"]["act"]["sub"]
    bad("act_depth_3_innermost_without_sub", mixed(act=innermost_unnamed), "actor_without_subject")
    middle_null = nested_act(agents)
    middle_null["act"]["sub"] = None
    bad("act_depth_2_sub_null", mixed(act=middle_null), "actor_without_subject")
    middle_number = nested_act(agents)
    middle_number["act"]["sub"] = 7
    bad("act_depth_2_sub_not_string", mixed(act=middle_number), "invalid_subject")
    bad("act_not_object", mixed(act="agent-0"), "claim_shape")

    # iat is required by default, jti and client_id on request; present ones must be strings.
    bad("missing_iat", mixed(iat=None), "missing_claim")
    ok("missing_iat_allowed_by_option", mixed(iat=None), options={"require_iat": False})
    bad("iat_null", {**mixed(), "iat": None}, "invalid_claim")
    ok("missing_jti_by_default", mixed(jti=None))
    bad("missing_jti_when_required", mixed(jti=None), "missing_claim", options={"require_jti": True})
    ok("missing_client_id_by_default", mixed(client_id=None))
    bad("missing_client_id_when_required", mixed(client_id=None), "missing_claim",
        options={"require_client_id": True})
    bad("jti_not_string", mixed(jti=12), "invalid_claim")
    bad("client_id_not_string", mixed(client_id=["gateway"]), "invalid_claim")

    # Times must be NumericDates from 1970 to year 9999, so `exp - iat` cannot wrap in a policy.
    bad("iat_i64_min", mixed(iat=I64_MIN), "invalid_claim")
    bad("exp_i64_max", mixed(exp=I64_MAX), "invalid_claim")
    bad("nbf_negative", mixed(nbf=-1), "invalid_claim")
    bad("exp_after_year_9999", mixed(exp=253402300800), "invalid_claim")
    ok("exp_at_end_of_year_9999", mixed(exp=253402300799))
    return cases


def claims_only():
    """Replaces the claims group of the committed tokens.json, signing with its HMAC secret."""
    with open(TOKENS) as file:
        vectors = json.load(file)
    [hmac_issuer] = [i for i in vectors["issuers"] if i["issuer"] == "https://hmac.example"]
    secret = base64.urlsafe_b64decode(hmac_issuer["keys"][0]["hmac_secret_b64url"] + "==")
    cases = [c for c in vectors["cases"] if c.get("group") != "claims"]
    for case in cases:
        if case["name"] == "rfc8693_4_1_nested_act":
            case["options"] = RFC8693_OPTIONS
    vectors["cases"] = cases + claims_group(secret)
    write_vectors(vectors)


def write_vectors(vectors):
    with open(TOKENS, "w") as out:
        json.dump(vectors, out, indent=1)
        out.write("\n")


def main():
    os.makedirs(KEYS, exist_ok=True)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_other = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    hmac_secret = os.urandom(32)
    rsa_pem = public_pem(rsa_key)
    # Only for the configuration test that weak RSA keys are refused.
    write("rsa1024_public.pem", public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))

    rsa_jwks = {"keys": [jwk_of(RSAAlgorithm, rsa_key, "rsa-1", "RS256")]}
    # The PS256 key is the same RSA key published without `alg`, so both RS256 and PS256 apply.
    rsa_jwks["keys"].append({k: v for k, v in rsa_jwks["keys"][0].items() if k != "alg"} | {"kid": "rsa-any"})
    mixed_jwks = {"keys": [
        jwk_of(RSAAlgorithm, rsa_key, "rsa-m", "RS256"),
        {"kty": "oct", "kid": "hmac-m", "k": b64url(hmac_secret), "use": "sig"},
    ]}

    issuers = [
        {"issuer": "https://rsa.example", "audiences": [AUD], "algorithms": ["RS256", "PS256"],
         "keys": [{"jwks_file": write("rsa.jwks.json", json.dumps(rsa_jwks, indent=1))}]},
        {"issuer": "https://ec.example", "audiences": [AUD, "https://other.example"], "algorithms": ["ES256"],
         "keys": [{"pem_file": write("ec_p256_public.pem", public_pem(ec_key)), "kid": "ec-1"}]},
        {"issuer": "https://ed.example", "audiences": [AUD], "algorithms": ["EdDSA"],
         "keys": [{"pem_file": write("ed25519_public.pem", public_pem(ed_key))}]},
        {"issuer": "https://hmac.example", "audiences": [AUD], "algorithms": ["HS256"],
         "keys": [{"hmac_secret_b64url": b64url(hmac_secret), "kid": "hs-1"}]},
        {"issuer": "https://mixed.example", "audiences": [AUD], "algorithms": ["RS256", "HS256"],
         "keys": [{"jwks_file": write("mixed.jwks.json", json.dumps(mixed_jwks, indent=1))}]},
        {"issuer": "https://issuer.example.com", "audiences": ["https://consumer.example.com"],
         "algorithms": ["RS256"], "keys": [{"pem_file": write("rsa_public.pem", rsa_pem), "kid": "rfc"}]},
    ]

    def rs256(c, kid="rsa-1", key=rsa_key, headers=None):
        return jwt.encode(c, key, algorithm="RS256", headers={"kid": kid, **(headers or {})})

    cases = Cases()
    ok, bad = cases.ok, cases.bad

    # Every algorithm family verifies.
    ok("rs256", rs256(claims()))
    ok("ps256", jwt.encode(claims(), rsa_key, algorithm="PS256", headers={"kid": "rsa-any"}))
    ok("es256", jwt.encode(claims("https://ec.example"), ec_key, algorithm="ES256", headers={"kid": "ec-1"}))
    ok("es256_second_audience", jwt.encode(claims("https://ec.example", aud=["https://other.example"]),
                                           ec_key, algorithm="ES256", headers={"kid": "ec-1"}))
    ok("eddsa_without_kid", jwt.encode(claims("https://ed.example"), ed_key, algorithm="EdDSA"))
    ok("hs256", jwt.encode(claims("https://hmac.example"), hmac_secret, algorithm="HS256", headers={"kid": "hs-1"}))
    ok("scope_array", rs256(claims(scope=["a", "b"])), scope=("a", "b"))
    ok("typ_at_jwt", rs256(claims(), headers={"typ": "at+jwt"}))

    # Nested delegation chains, depth 0..5, in delegation order (first delegate first).
    for depth in range(6):
        subjects = ["agent-%d" % i for i in range(depth)]
        act = nested_act(subjects)
        ok("act_depth_%d" % depth, rs256(claims(act=act)), chain=subjects)
    deep = ["agent-%d" % i for i in range(17)]
    bad("act_depth_17_over_default_bound", rs256(claims(act=nested_act(deep))), "chain_too_deep")

    # RFC 8693 §4.1 example claims, verified at a time inside their validity window.
    rfc = {"aud": "https://consumer.example.com", "iss": "https://issuer.example.com",
           "exp": 1443904177, "nbf": 1443904077, "sub": "user@example.com",
           "act": {"sub": "consumer.example.com-web-application", "iss": "https://issuer.example.net",
                   "act": {"sub": "admin@example.com"}}}
    ok("rfc8693_4_1_nested_act", jwt.encode(rfc, rsa_key, algorithm="RS256", headers={"kid": "rfc"}),
       chain=["admin@example.com", "consumer.example.com-web-application"], sub="user@example.com",
       scope=None, now=1443904100, options=RFC8693_OPTIONS)

    # Time: expiry, not-before and issued-at, with and without leeway.
    bad("expired", rs256(claims(exp=NOW - 3600)), "expired")
    bad("expired_at_exactly_exp_plus_leeway", rs256(claims(exp=NOW - LEEWAY)), "expired")
    ok("expired_within_leeway", rs256(claims(exp=NOW - LEEWAY + 5)))
    bad("nbf_in_future", rs256(claims(nbf=NOW + 3600)), "not_yet_valid")
    ok("nbf_within_leeway", rs256(claims(nbf=NOW + LEEWAY - 5)))
    bad("iat_in_future", rs256(claims(iat=NOW + 3600)), "issued_in_future")
    bad("missing_exp", rs256(claims(exp=None)), "missing_claim")
    bad("exp_not_integer", rs256(claims(exp="tomorrow")), "invalid_claim")

    # Issuer and audience.
    bad("wrong_aud", rs256(claims(aud="https://evil.example")), "wrong_audience")
    bad("wrong_aud_array", rs256(claims(aud=["https://evil.example", "https://x.example"])), "wrong_audience")
    bad("missing_aud", rs256(claims(aud=None)), "missing_claim")
    bad("unknown_issuer", rs256(claims(iss="https://evil.example")), "unknown_issuer")
    bad("missing_iss", rs256(claims(iss=None)), "missing_claim")
    bad("issuer_claimed_by_other_key", jwt.encode(claims("https://hmac.example"), rsa_key, algorithm="RS256",
                                                  headers={"kid": "rsa-1"}), "algorithm_not_allowed")

    # Keys and signatures.
    bad("unknown_kid", rs256(claims(), kid="rsa-404"), "unknown_key_id")
    bad("signed_by_other_rsa_key", rs256(claims(), key=rsa_other), "bad_signature")
    bad("signed_by_other_ec_key", jwt.encode(claims("https://ec.example"), ec_other, algorithm="ES256",
                                             headers={"kid": "ec-1"}), "bad_signature")
    good = rs256(claims()).split(".")
    tampered = b64url_json(claims(sub="admin"))
    bad("tampered_payload", ".".join([good[0], tampered, good[2]]), "bad_signature")
    # Cut at a multiple of 4 characters so the shorter signature is still canonical base64url.
    cut = len(good[2]) - len(good[2]) % 4 - 4
    bad("truncated_signature", ".".join([good[0], good[1], good[2][:cut]]), "bad_signature")
    bad("empty_signature", ".".join([good[0], good[1], ""]), "bad_signature")
    bad("hmac_wrong_secret", jwt.encode(claims("https://hmac.example"), os.urandom(32), algorithm="HS256",
                                        headers={"kid": "hs-1"}), "bad_signature")

    # Algorithm attacks.
    for alg in ("none", "None", "NONE", "nOnE"):
        none_token = b64url_json({"alg": alg, "typ": "JWT"}) + "." + b64url_json(claims()) + "."
        bad("alg_%s" % alg, none_token, "alg_none")
    bad("alg_none_with_signature", ".".join([b64url_json({"alg": "none"}), good[1], good[2]]), "alg_none")
    bad("alg_unknown", ".".join([b64url_json({"alg": "HS1", "kid": "rsa-1"}), good[1], good[2]]),
        "unsupported_algorithm")
    bad("alg_missing", ".".join([b64url_json({"kid": "rsa-1"}), good[1], good[2]]), "malformed")
    bad("hs256_with_rsa_pem_as_secret_not_allowlisted",
        hs256_raw({"alg": "HS256", "kid": "rsa-1"}, claims(), rsa_pem), "algorithm_not_allowed")
    bad("hs256_with_rsa_pem_as_secret_key_confusion",
        hs256_raw({"alg": "HS256", "kid": "rsa-m"}, claims("https://mixed.example"), rsa_pem),
        "key_algorithm_mismatch")
    ok("mixed_issuer_hmac_key", jwt.encode(claims("https://mixed.example"), hmac_secret, algorithm="HS256",
                                           headers={"kid": "hmac-m"}))
    bad("alg_differs_from_jwk_alg", jwt.encode(claims(), rsa_key, algorithm="PS256", headers={"kid": "rsa-1"}),
        "key_algorithm_mismatch")
    bad("crit_header", rs256(claims(), headers={"crit": ["exp"], "exp": 1}), "unsupported_critical_header")

    # Malformed encodings and oversized tokens.
    bad("one_segment", "abc", "malformed")
    bad("two_segments", good[0] + "." + good[1], "malformed")
    bad("four_segments", ".".join(good + ["x"]), "malformed")
    bad("header_bad_base64", ".".join(["!!!", good[1], good[2]]), "malformed")
    bad("header_padded_base64", ".".join([good[0] + "=", good[1], good[2]]), "malformed")
    bad("header_not_json", ".".join([b64url(b"not json"), good[1], good[2]]), "malformed")
    bad("header_not_object", ".".join([b64url(b"[1,2]"), good[1], good[2]]), "malformed")
    bad("payload_bad_base64", ".".join([good[0], "%%%", good[2]]), "malformed")
    bad("payload_not_json", ".".join([good[0], b64url(b"{nope"), good[2]]), "malformed")
    bad("payload_not_object", rs256_raw_payload(rsa_key, b"[1]"), "malformed")
    bad("signature_bad_base64", ".".join([good[0], good[1], "***"]), "malformed")
    bad("oversized", rs256(claims(padding="x" * 20000)), "too_large")
    bad("empty", "", "malformed")

    cases += claims_group(hmac_secret)
    write_vectors({"generator": "PyJWT %s" % jwt.__version__, "leeway": LEEWAY, "max_token_bytes": 16384,
                   "issuers": issuers, "cases": cases})


def rs256_raw_payload(key, payload: bytes) -> str:
    """A correctly signed token whose payload is valid JSON but not an object."""
    signing_input = b64url_json({"alg": "RS256", "kid": "rsa-1"}) + "." + b64url(payload)
    return signing_input + "." + b64url(RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), key))


if __name__ == "__main__":
    claims_only() if sys.argv[1:] == ["--claims-only"] else main()
