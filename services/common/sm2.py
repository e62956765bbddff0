"""SM2 digital signatures 数字签名 (GB/T 32918.2-2016) with the user-id convention of GB/T 35276-2017 (issue 22).

Two implementations, one result:

* ``OpenSSLSM2`` — signing and verifying through the system's OpenSSL 3 ``libcrypto`` (its default
  provider implements SM2 and SM3; loaded with :mod:`ctypes`, the library Python's own ``ssl`` module
  links). This is what the suite signs with: a maintained, constant-time C implementation, no extra
  Python package (``cryptography`` exposes SM3 and SM4 but not SM2; the pure-Python PyPI packages
  ``gmssl``/``gmalg`` are neither constant-time nor faster — see docs/ARCHITECTURE.md, dependencies).
* ``verify_pure`` / ``sign_pure`` — the standard's equations in plain Python (about 60 lines, standard
  library only). Verification needs no secret, so timing does not matter there: it is the fallback
  where libcrypto lacks SM2, the reference the tests compare OpenSSL with, and what the auditor script
  (tools/audit_verify.py) carries as a copy. ``sign_pure`` takes the nonce ``k`` as an argument and exists
  for the known-answer tests of GB/T 32918 only.

Conventions (GB/T 35276-2017): hash SM3; the signer's distinguishing identifier (user id, ``ID_A``) is
``1234567812345678`` unless agreed otherwise; ``e = SM3(Z_A || M)`` with
``Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)``; the public key is the uncompressed
point ``04 || x || y`` (65 bytes); the signature is DER ``SEQUENCE { INTEGER r, INTEGER s }``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DEFAULT_USER_ID", "Curve", "SM2_CURVE", "z_digest", "verify_pure", "sign_pure", "der_signature",
           "parse_der_signature", "public_key_of", "OpenSSLSM2", "openssl", "generate_private_pem",
           "public_key_from_pem", "sign", "verify", "is_sm2_public_key"]

DEFAULT_USER_ID = b"1234567812345678"


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


@dataclass(frozen=True)
class Curve:
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int


#: The recommended curve of GB/T 32918.5-2017 (sm2p256v1, OID 1.2.156.10197.1.301).
SM2_CURVE = Curve(
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)


# ------------------------------------------------------------------------ the equations, in Python

def _add(c: Curve, P, Q):
    """Affine addition (None is the point at infinity)."""
    if P is None:
        return Q
    if Q is None:
        return P
    return _affine(c, _jadd(c, (P[0], P[1], 1), (Q[0], Q[1], 1)))


def _jdouble(c: Curve, P):
    X, Y, Z = P
    if Y == 0 or Z == 0:
        return (1, 1, 0)
    p = c.p
    YY = Y * Y % p
    S = 4 * X * YY % p
    ZZ = Z * Z % p
    M = (3 * X * X + c.a * ZZ * ZZ) % p
    X3 = (M * M - 2 * S) % p
    return X3, (M * (S - X3) - 8 * YY * YY) % p, 2 * Y * Z % p


def _jadd(c: Curve, P, Q):
    """Jacobian coordinates (x = X/Z^2, y = Y/Z^3): no inversion per step."""
    if P[2] == 0:
        return Q
    if Q[2] == 0:
        return P
    p = c.p
    Z1Z1, Z2Z2 = P[2] * P[2] % p, Q[2] * Q[2] % p
    U1, U2 = P[0] * Z2Z2 % p, Q[0] * Z1Z1 % p
    S1, S2 = P[1] * Q[2] * Z2Z2 % p, Q[1] * P[2] * Z1Z1 % p
    H, R = (U2 - U1) % p, (S2 - S1) % p
    if H == 0:
        return _jdouble(c, P) if R == 0 else (1, 1, 0)
    HH = H * H % p
    HHH = H * HH % p
    V = U1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return X3, (R * (V - X3) - S1 * HHH) % p, H * P[2] * Q[2] % p


def _affine(c: Curve, P):
    if P[2] == 0:
        return None
    zi = pow(P[2], -1, c.p)
    return P[0] * zi * zi % c.p, P[1] * zi * zi * zi % c.p


def _mul(c: Curve, k: int, P):
    R, A = (1, 1, 0), (P[0], P[1], 1)
    while k:
        if k & 1:
            R = _jadd(c, R, A)
        A = _jdouble(c, A)
        k >>= 1
    return _affine(c, R)


def _on_curve(c: Curve, P) -> bool:
    x, y = P
    return 0 <= x < c.p and 0 <= y < c.p and (y * y - x * x * x - c.a * x - c.b) % c.p == 0


def _i2b(v: int, size: int = 32) -> bytes:
    return v.to_bytes(size, "big")


def _point(public_key: bytes, c: Curve) -> tuple[int, int]:
    size = (c.p.bit_length() + 7) // 8
    if len(public_key) != 1 + 2 * size or public_key[0] != 4:
        raise ValueError("SM2 public key must be the uncompressed point 04 || x || y")
    P = int.from_bytes(public_key[1:1 + size], "big"), int.from_bytes(public_key[1 + size:], "big")
    if not _on_curve(c, P):
        raise ValueError("SM2 public key is not a point of the curve")
    return P


def z_digest(public_key: bytes, user_id: bytes = DEFAULT_USER_ID, curve: Curve = SM2_CURVE) -> bytes:
    """``Z_A`` (GB/T 32918.2 §5.5): binds the signer's identity and key and the curve into the hash."""
    if len(user_id) * 8 >= 1 << 16:
        raise ValueError("user id too long")
    x, y = _point(public_key, curve)
    return sm3((len(user_id) * 8).to_bytes(2, "big") + user_id
               + b"".join(_i2b(v) for v in (curve.a, curve.b, curve.gx, curve.gy, x, y)))


def der_signature(r: int, s: int) -> bytes:
    def integer(v: int) -> bytes:
        raw = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")     # a leading 0 keeps it positive
        return b"\x02" + bytes([len(raw)]) + raw
    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def parse_der_signature(sig: bytes) -> tuple[int, int]:
    """Strict DER ``SEQUENCE { INTEGER r, INTEGER s }`` (short lengths only: r, s < 2^256)."""
    def integer(buf: bytes, at: int) -> tuple[int, int]:
        if at + 2 > len(buf) or buf[at] != 0x02 or not 1 <= buf[at + 1] <= 33:
            raise ValueError("not a DER INTEGER")
        size = buf[at + 1]
        raw = buf[at + 2:at + 2 + size]
        if len(raw) != size or raw[0] & 0x80 or (size > 1 and raw[0] == 0 and not raw[1] & 0x80):
            raise ValueError("not a minimal positive DER INTEGER")
        return int.from_bytes(raw, "big"), at + 2 + size
    sig = bytes(sig)
    if len(sig) < 8 or sig[0] != 0x30 or sig[1] != len(sig) - 2:
        raise ValueError("not a DER SEQUENCE")
    r, at = integer(sig, 2)
    s, at = integer(sig, at)
    if at != len(sig):
        raise ValueError("trailing bytes after the signature")
    return r, s


def verify_pure(public_key: bytes, message: bytes, signature: bytes, user_id: bytes = DEFAULT_USER_ID,
                curve: Curve = SM2_CURVE) -> bool:
    """GB/T 32918.2 §7 (verification), in Python; ``signature`` in DER."""
    try:
        P = _point(bytes(public_key), curve)
        r, s = parse_der_signature(bytes(signature))
    except ValueError:
        return False
    n = curve.n
    if not (1 <= r < n and 1 <= s < n):
        return False
    t = (r + s) % n
    if t == 0:
        return False
    e = int.from_bytes(sm3(z_digest(bytes(public_key), user_id, curve) + bytes(message)), "big")
    X = _add(curve, _mul(curve, s, (curve.gx, curve.gy)), _mul(curve, t, P))
    return X is not None and (e + X[0]) % n == r


def sign_pure(private_key: int, message: bytes, k: int, user_id: bytes = DEFAULT_USER_ID,
              curve: Curve = SM2_CURVE) -> tuple[int, int]:
    """GB/T 32918.2 §6 with a GIVEN nonce ``k``: for the standard's worked examples (known-answer tests)
    only — never sign with a chosen k; the suite signs with ``OpenSSLSM2``."""
    pub = public_key_of(private_key, curve)
    e = int.from_bytes(sm3(z_digest(pub, user_id, curve) + message), "big")
    x1, _ = _mul(curve, k, (curve.gx, curve.gy))
    r = (e + x1) % curve.n
    s = pow(1 + private_key, -1, curve.n) * (k - r * private_key) % curve.n
    return r, s


def public_key_of(private_key: int, curve: Curve = SM2_CURVE) -> bytes:
    x, y = _mul(curve, private_key, (curve.gx, curve.gy))
    return b"\x04" + _i2b(x) + _i2b(y)


def is_sm2_public_key(raw: bytes) -> bool:
    try:
        _point(bytes(raw), SM2_CURVE)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------- OpenSSL 3

class _Param(ctypes.Structure):          # OSSL_PARAM
    _fields_ = [("key", ctypes.c_char_p), ("data_type", ctypes.c_uint), ("data", ctypes.c_void_p),
                ("data_size", ctypes.c_size_t), ("return_size", ctypes.c_size_t)]


_UTF8, _OCTETS = 4, 5
_EVP_PKEY_PUBLIC_KEY = 0x86
_BIO_CTRL_INFO = 3


def _params(*items: tuple[bytes, int, bytes]):
    arr = (_Param * (len(items) + 1))()
    keep = []
    for i, (key, kind, value) in enumerate(items):
        buf = ctypes.create_string_buffer(value, len(value))
        keep.append(buf)
        arr[i] = _Param(key, kind, ctypes.cast(buf, ctypes.c_void_p), len(value), 0)
    arr[len(items)] = _Param(None, 0, None, 0, 0)
    return arr, keep


class OpenSSLSM2:
    """SM2 through libcrypto 3 (EVP_DigestSign/Verify with SM3 and the ``distid`` parameter)."""

    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib
        vp, sz, cp, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int
        for name, res, args in (
            ("BIO_new_mem_buf", vp, [cp, i]), ("BIO_new", vp, [vp]), ("BIO_s_mem", vp, []),
            ("BIO_free", i, [vp]), ("BIO_ctrl", ctypes.c_long, [vp, i, ctypes.c_long, vp]),
            ("PEM_read_bio_PrivateKey", vp, [vp, vp, vp, vp]),
            ("PEM_write_bio_PrivateKey", i, [vp, vp, vp, vp, i, vp, vp]),
            ("EVP_PKEY_free", None, [vp]), ("EVP_PKEY_CTX_new_from_name", vp, [vp, cp, cp]),
            ("EVP_PKEY_CTX_free", None, [vp]), ("EVP_PKEY_keygen_init", i, [vp]),
            ("EVP_PKEY_generate", i, [vp, ctypes.POINTER(vp)]), ("EVP_PKEY_fromdata_init", i, [vp]),
            ("EVP_PKEY_fromdata", i, [vp, ctypes.POINTER(vp), i, vp]),
            ("EVP_PKEY_get_octet_string_param", i, [vp, cp, vp, sz, ctypes.POINTER(sz)]),
            ("EVP_PKEY_is_a", i, [vp, cp]),
            ("EVP_MD_CTX_new", vp, []), ("EVP_MD_CTX_free", None, [vp]),
            ("EVP_DigestSignInit_ex", i, [vp, ctypes.POINTER(vp), cp, vp, cp, vp, vp]),
            ("EVP_DigestSign", i, [vp, vp, ctypes.POINTER(sz), cp, sz]),
            ("EVP_DigestVerifyInit_ex", i, [vp, ctypes.POINTER(vp), cp, vp, cp, vp, vp]),
            ("EVP_DigestVerify", i, [vp, cp, sz, cp, sz]),
            ("EVP_PKEY_CTX_set_params", i, [vp, vp]), ("ERR_clear_error", None, []),
        ):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args

    # -- keys
    def generate_pem(self) -> bytes:
        lib = self.lib
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        pkey = ctypes.c_void_p()
        try:
            if not ctx or lib.EVP_PKEY_keygen_init(ctx) != 1 or lib.EVP_PKEY_generate(ctx, ctypes.byref(pkey)) != 1:
                raise RuntimeError("OpenSSL could not generate an SM2 key")
            return self._pem(pkey)
        finally:
            lib.EVP_PKEY_free(pkey)
            lib.EVP_PKEY_CTX_free(ctx)

    def _pem(self, pkey) -> bytes:
        lib = self.lib
        bio = lib.BIO_new(lib.BIO_s_mem())
        try:
            if lib.PEM_write_bio_PrivateKey(bio, pkey, None, None, 0, None, None) != 1:
                raise RuntimeError("OpenSSL could not write the SM2 key")
            ptr = ctypes.c_void_p()
            size = lib.BIO_ctrl(bio, _BIO_CTRL_INFO, 0, ctypes.byref(ptr))
            return ctypes.string_at(ptr, size)
        finally:
            lib.BIO_free(bio)

    def load_private(self, pem: bytes):
        lib = self.lib
        bio = lib.BIO_new_mem_buf(pem, len(pem))
        try:
            pkey = lib.PEM_read_bio_PrivateKey(bio, None, None, None)
        finally:
            lib.BIO_free(bio)
        if not pkey:
            lib.ERR_clear_error()
            raise ValueError("not a PEM private key")
        if lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
            lib.EVP_PKEY_free(pkey)
            raise ValueError("PEM key is not an SM2 private key")
        return pkey

    def load_public(self, raw: bytes):
        _point(raw, SM2_CURVE)
        lib = self.lib
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        params, keep = _params((b"group", _UTF8, b"SM2"), (b"pub", _OCTETS, bytes(raw)))
        pkey = ctypes.c_void_p()
        try:
            if lib.EVP_PKEY_fromdata_init(ctx) != 1 or lib.EVP_PKEY_fromdata(
                    ctx, ctypes.byref(pkey), _EVP_PKEY_PUBLIC_KEY, ctypes.cast(params, ctypes.c_void_p)) != 1:
                lib.ERR_clear_error()
                raise ValueError("OpenSSL refused the SM2 public key")
            return pkey
        finally:
            lib.EVP_PKEY_CTX_free(ctx)

    def public_bytes(self, pkey) -> bytes:
        buf = ctypes.create_string_buffer(65)
        size = ctypes.c_size_t()
        if self.lib.EVP_PKEY_get_octet_string_param(pkey, b"encoded-pub-key", buf, 65, ctypes.byref(size)) != 1:
            raise RuntimeError("OpenSSL could not export the SM2 public key")
        return buf.raw[:size.value]

    def free(self, pkey) -> None:
        self.lib.EVP_PKEY_free(pkey)

    # -- sign / verify
    def sign(self, pkey, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        lib = self.lib
        params, keep = _params((b"distid", _OCTETS, user_id))
        md = lib.EVP_MD_CTX_new()
        try:
            # the id is set after the init: OpenSSL 3.0 refuses ``distid`` among the init's own parameters
            pctx = ctypes.c_void_p()
            if lib.EVP_DigestSignInit_ex(md, ctypes.byref(pctx), b"SM3", None, None, pkey, None) != 1 or \
                    lib.EVP_PKEY_CTX_set_params(pctx, ctypes.cast(params, ctypes.c_void_p)) != 1:
                lib.ERR_clear_error()
                raise RuntimeError("OpenSSL SM2 sign init failed")
            out = ctypes.create_string_buffer(80)
            size = ctypes.c_size_t(80)
            if lib.EVP_DigestSign(md, out, ctypes.byref(size), message, len(message)) != 1:
                lib.ERR_clear_error()
                raise RuntimeError("OpenSSL SM2 signing failed")
            return out.raw[:size.value]
        finally:
            lib.EVP_MD_CTX_free(md)

    def verify(self, pkey, message: bytes, signature: bytes, user_id: bytes = DEFAULT_USER_ID) -> bool:
        lib = self.lib
        params, keep = _params((b"distid", _OCTETS, user_id))
        md = lib.EVP_MD_CTX_new()
        try:
            # the id is set after the init: OpenSSL 3.0 refuses ``distid`` among the init's own parameters
            pctx = ctypes.c_void_p()
            if lib.EVP_DigestVerifyInit_ex(md, ctypes.byref(pctx), b"SM3", None, None, pkey, None) != 1 or \
                    lib.EVP_PKEY_CTX_set_params(pctx, ctypes.cast(params, ctypes.c_void_p)) != 1:
                lib.ERR_clear_error()
                return False
            ok = lib.EVP_DigestVerify(md, bytes(signature), len(signature), message, len(message)) == 1
            lib.ERR_clear_error()
            return ok
        finally:
            lib.EVP_MD_CTX_free(md)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def openssl() -> OpenSSLSM2 | None:
    """libcrypto 3 with SM2, or None (then signing is unavailable and verification is pure Python)."""
    for name in ("crypto.so.3", ctypes.util.find_library("crypto") or "", "libcrypto.so.3", "libcrypto.3.dylib"):
        if not name:
            continue
        try:
            impl = OpenSSLSM2(ctypes.CDLL(name if "/" in name or name.startswith("lib") else f"lib{name}"))
        except (OSError, AttributeError):
            continue
        try:
            pem = impl.generate_pem()
            key = impl.load_private(pem)
            try:
                pub = impl.public_bytes(key)
                sig = impl.sign(key, b"self-test")
            finally:
                impl.free(key)
            if verify_pure(pub, b"self-test", sig):     # the library agrees with the standard's equations
                return impl
        except (RuntimeError, ValueError):
            continue
    return None


def _require() -> OpenSSLSM2:
    impl = openssl()
    if impl is None:
        raise RuntimeError("SM2 signing needs OpenSSL 3 (libcrypto with the SM2 algorithm)")
    return impl


def generate_private_pem() -> bytes:
    """A fresh SM2 private key, PKCS#8 PEM (what ``openssl genpkey -algorithm SM2`` writes)."""
    return _require().generate_pem()


def public_key_from_pem(pem: bytes) -> bytes:
    impl = _require()
    key = impl.load_private(pem)
    try:
        return impl.public_bytes(key)
    finally:
        impl.free(key)


def sign(pem: bytes, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    impl = _require()
    key = impl.load_private(pem)
    try:
        return impl.sign(key, message, user_id)
    finally:
        impl.free(key)


def verify(public_key: bytes, message: bytes, signature: bytes, user_id: bytes = DEFAULT_USER_ID) -> bool:
    """OpenSSL when available (about 100x faster), else the Python equations; same answer."""
    impl = openssl()
    if impl is None:
        return verify_pure(public_key, message, signature, user_id)
    try:
        parse_der_signature(bytes(signature))        # strict DER, as verify_pure
        key = impl.load_public(bytes(public_key))
    except ValueError:
        return False
    try:
        return impl.verify(key, bytes(message), bytes(signature), user_id)
    finally:
        impl.free(key)
