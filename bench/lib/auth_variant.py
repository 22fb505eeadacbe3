#!/usr/bin/env python3
"""auth_variant.py: the authenticated proxy_bench.sh variants.

    auth_variant.py VARIANT DIR CONFIG_IN CONFIG_OUT

VARIANT is keyauth, jwt-hs256, jwt-rs256 or jwt-es256. Appends to CONFIG_IN (a rendered plain
Portico config) a consumer with the matching credential and the plugin on the global scope, writes
the result to CONFIG_OUT, and prints the request header the load generator must send
("apikey: ..." or "Authorization: Bearer ..."). Keys are made with the openssl command line in DIR
(throwaway, made per run); tokens are signed with openssl too and expire in a day.
"""
import base64
import json
import os
import subprocess
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def der_ecdsa_to_raw(der: bytes, size: int) -> bytes:
    """ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to the JWS form r || s (RFC 7518 §3.4)."""
    def read_len(buf, i):
        n = buf[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7F
        return int.from_bytes(buf[i + 1:i + 1 + k], "big"), i + 1 + k

    assert der[0] == 0x30
    _, i = read_len(der, 1)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n, i = read_len(der, i + 1)
        value = der[i:i + n].lstrip(b"\0")
        out += value.rjust(size, b"\0")
        i += n
    return out


def make_token(alg: str, key_file: str, secret: bytes, kid: str) -> str:
    header = {"alg": alg, "typ": "JWT", "kid": kid}
    now = int(time.time())
    claims = {"iss": "bench", "sub": "bench-user", "iat": now, "exp": now + 86400}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode())).encode()
    if alg == "HS256":
        sig = openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + secret.hex(),
                      "-binary", data=signing_input)
    elif alg == "RS256":
        sig = openssl("dgst", "-sha256", "-sign", key_file, "-binary", data=signing_input)
    elif alg == "ES256":
        sig = der_ecdsa_to_raw(openssl("dgst", "-sha256", "-sign", key_file, "-binary", data=signing_input), 32)
    else:
        raise SystemExit("unknown alg " + alg)
    return signing_input.decode() + "." + b64url(sig)


def main():
    variant, workdir, config_in, config_out = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    with open(config_in) as f:
        config = f.read()
    if variant == "keyauth":
        key = b64url(os.urandom(24))
        config += ("consumers:\n  - username: bench\n    keyauth_credentials:\n"
                   "      - key: %s\nplugins:\n  - name: key-auth\n" % json.dumps(key))
        header = "apikey: " + key
    elif variant.startswith("jwt-"):
        alg = variant[4:].upper()
        key_file = os.path.join(workdir, "jwt_key.pem")
        secret = b""
        if alg == "HS256":
            secret = os.urandom(32)
            credential = '        algorithm: HS256\n        secret: %s\n' % json.dumps(b64url(secret))
            # The secret is configured as text: use its base64url spelling as the HMAC key.
            secret = b64url(secret).encode()
        else:
            if alg == "RS256":
                openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key_file)
            else:
                openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key_file)
            public = openssl("pkey", "-in", key_file, "-pubout").decode()
            credential = '        algorithm: %s\n        rsa_public_key: %s\n' % (alg, json.dumps(public))
        config += ("consumers:\n  - username: bench\n    jwt_secrets:\n      - key: bench-key\n" + credential +
                   "plugins:\n  - name: jwt\n    config:\n      key_claim_name: kid\n")
        header = "Authorization: Bearer " + make_token(alg, key_file, secret, "bench-key")
    else:
        raise SystemExit("unknown auth variant " + variant)
    with open(config_out, "w") as f:
        f.write(config)
    print(header)


if __name__ == "__main__":
    main()
