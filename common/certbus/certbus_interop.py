"""Interop check of the CertBus private-key format (reference §10.3) between our C++ library
(driven through certbus_tool) and an independent implementation written here on Debian's
python3-cryptography. Both directions, several plaintext sizes, fingerprints, tampering.

Usage: certbus_interop.py PATH_TO_CERTBUS_TOOL   (exit 0 when every check passed)
"""
import base64
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOOL = sys.argv[1]
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "  " + detail))
    if not ok:
        failures += 1


def py_encrypt(public_key, plaintext):
    key, iv = os.urandom(32), os.urandom(16)
    envelope = public_key.encrypt(key, OAEP)
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return struct.pack("<H", len(envelope)) + envelope + iv + enc.update(plaintext) + enc.finalize()


def py_decrypt(private_key, ciphertext):
    (n,) = struct.unpack("<H", ciphertext[:2])
    key = private_key.decrypt(ciphertext[2:2 + n], OAEP)
    iv = ciphertext[2 + n:2 + n + 16]
    dec = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    return dec.update(ciphertext[2 + n + 16:]) + dec.finalize()


def py_fingerprint(public_key):
    # The SSH wire blob is the base64 field of the OpenSSH line; hash it ourselves.
    line = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def tool(*args, stdin=b""):
    return subprocess.run([TOOL, *args], input=stdin, capture_output=True)


def main():
    tmp = tempfile.mkdtemp()
    for bits in (2048, 3072, 4096):
        kek = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pub = kek.public_key()
        kek_path = os.path.join(tmp, "kek%d.pem" % bits)
        with open(kek_path, "wb") as f:  # PKCS#1, as CERTBUS_CLIENT_PRIVKEY holds
            f.write(kek.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
        pubs = {
            "ssh": pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
            "spki": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            "pkcs1": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        }
        fp = py_fingerprint(pub)
        for form, data in pubs.items():
            path = os.path.join(tmp, "kek%d.%s.pub" % (bits, form))
            with open(path, "wb") as f:
                f.write(data)
            out = tool("fingerprint", path)
            check("fingerprint rsa%d %s" % (bits, form), out.stdout.decode().strip() == fp,
                  "ours %r, python %r %s" % (out.stdout, fp, out.stderr))
        ssh_pub = os.path.join(tmp, "kek%d.ssh.pub" % bits)

        leaf = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        for label, plain in (("empty", b""), ("1 byte", b"x"), ("16 bytes", b"0123456789abcdef"),
                             ("random 10k", os.urandom(10000)), ("ec key pem", leaf)):
            out = tool("decrypt", kek_path, fp, stdin=py_encrypt(pub, plain))
            check("python→C++ rsa%d %s" % (bits, label), out.returncode == 0 and out.stdout == plain,
                  out.stderr.decode())
            out = tool("encrypt", ssh_pub, stdin=plain)
            ok = out.returncode == 0 and py_decrypt(kek, out.stdout) == plain
            check("C++→python rsa%d %s" % (bits, label), ok, out.stderr.decode())

        ct = bytearray(py_encrypt(pub, leaf))
        out = tool("decrypt-key", kek_path, fp, stdin=bytes(ct))
        check("python ciphertext → checked key rsa%d" % bits, out.returncode == 0 and out.stdout == leaf,
              out.stderr.decode())
        for where, index in (("envelope", 2 + 7), ("iv", 2 + bits // 8 + 3), ("body", 2 + bits // 8 + 16 + 40)):
            bad = bytearray(ct)
            bad[index] ^= 0x01
            out = tool("decrypt-key", kek_path, fp, stdin=bytes(bad))
            check("tampered %s rejected rsa%d" % (where, bits),
                  out.returncode == 1 and b"BEGIN" not in out.stderr, out.stderr.decode())
        out = tool("decrypt-key", kek_path, "SHA256:someoneelse", stdin=bytes(ct))
        check("fingerprint mismatch names both rsa%d" % bits,
              out.returncode == 1 and b"SHA256:someoneelse" in out.stderr and fp.encode() in out.stderr,
              out.stderr.decode())

    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
