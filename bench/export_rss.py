"""Peak memory of the server during concurrent dossier exports (issue 19).

Starts the release server on its embedded default (SQLite and an object
directory in a temporary folder), seeds the demo territory, files ten
4-page pieces in one dossier (nine of text, kept bitonal; one with shaded
boxes, kept as JPEG), then asks for EXPORTS (8) exports of the 40-page
dossier at once, as a bailleur before a commission. Reports the server's
resident memory from /proc (VmRSS sampled every 5 ms, and the kernel's own
high-water mark VmHWM) before and during, every answer's status, and how
long the exports took. The server composes VAULT_MAX_EXPORTS at once (one
per core) and queues VAULT_EXPORT_QUEUE more; beyond, it answers 503 with
Retry-After, which a second burst of 2 x (limit + queue) shows.

Target: peak RSS under 256 MiB during 8 concurrent 40-page exports.

    bench/export-rss.sh        (builds the release binary, then runs this)
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("DNU_VAULT_BIN", ROOT / "target/release/dnu-vault"))
EXPORTS = int(os.environ.get("EXPORTS", "8"))
WORK = Path(tempfile.mkdtemp(prefix="dnu-export-rss."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_pdf(piece, pages, under=""):
    """A born-digital text document: `pages` A4 pages of 11-pt Helvetica."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", None, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for p in range(pages):
        kids.append(f"{len(objs) + 1} 0 R")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {len(objs) + 2} 0 R "
                    f"/Resources << /Font << /F1 3 0 R >> >> >>".encode())
        text = under + "".join(f"BT /F1 11 Tf 60 {780 - 16 * l} Td (Piece {piece} page {p + 1} ligne {l} : "
                               f"revenus, charges, situation familiale) Tj ET\n" for l in range(45))
        objs.append(f"<< /Length {len(text)} >>\nstream\n".encode() + text.encode() + b"\nendstream")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>".encode()
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def upload(url, token, kind, pdf):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + pdf + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.status == 201, r.status


def status_kib(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def main():
    port = free_port()
    env = dict(os.environ, VAULT_DATA_DIR=str(WORK / "data"), VAULT_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn")
    env.pop("VAULT_DATABASE_URL", None)
    seed = json.loads(subprocess.run([str(BIN), "demo", "--json"], env=env, capture_output=True, check=True).stdout)
    log = open(WORK / "server.log", "w")
    server = subprocess.Popen([str(BIN), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        kinds = [o["kind"] for o in seed["organisations"]]
        guichet = seed["agents"][kinds.index("guichet")]["token"]
        bailleur = seed["agents"][kinds.index("bailleur")]["token"]
        nu = seed["dossiers"][0]["numero_unique"]
        pieces = ["identite", "avis_imposition_n1", "avis_imposition_n2", "ressources", "ressources", "ressources",
                  "situation_familiale", "situation_professionnelle", "logement_actuel", "autre"]
        for i, kind in enumerate(pieces):
            under = "0.8 g 50 300 495 200 re f 0 g " if i == 9 else ""
            upload(f"{base}/api/v1/dossiers/{nu}/pieces", guichet, kind,
                   text_pdf(i + 1, 4, under))
        url = f"{base}/api/v1/dossiers/{nu}/export.pdf"

        def burst(n):
            answers, sizes = [], []

            def one():
                req = urllib.request.Request(url, headers={"Authorization": f"Bearer {bailleur}"})
                try:
                    with urllib.request.urlopen(req, timeout=300) as r:
                        sizes.append(len(r.read()))
                        answers.append(r.status)
                except urllib.error.HTTPError as e:
                    answers.append(f"{e.code} Retry-After {e.headers.get('Retry-After')}")

            threads = [threading.Thread(target=one) for _ in range(n)]
            t0 = time.time()
            for t in threads:
                t.start()
            return threads, answers, sizes, t0

        # One export first, so that what is measured is the steady state.
        threads, answers, sizes, _ = burst(1)
        threads[0].join()
        before_rss, before_hwm = status_kib(server.pid, "VmRSS"), status_kib(server.pid, "VmHWM")
        threads, answers, sizes, t0 = burst(EXPORTS)
        peak = before_rss
        while any(t.is_alive() for t in threads):
            peak = max(peak, status_kib(server.pid, "VmRSS"))
            time.sleep(0.005)
        took = time.time() - t0
        hwm = status_kib(server.pid, "VmHWM")
        counts = {a: answers.count(a) for a in set(answers)}
        print(f"{EXPORTS} concurrent exports of a 41-page dossier ({sizes[0] / 1024:.0f} KB each): {counts} "
              f"in {took:.2f} s")
        print(f"server RSS before {before_rss / 1024:.0f} MiB (high-water mark {before_hwm / 1024:.0f} MiB); "
              f"during: sampled peak {peak / 1024:.0f} MiB, kernel high-water mark {hwm / 1024:.0f} MiB "
              f"(target < 256 MiB: {'met' if hwm < 256 * 1024 else 'MISSED'})")
        # Beyond the line: twice what composes and waits at once.
        threads, answers, _, _ = burst(2 * (os.cpu_count() + 8))
        for t in threads:
            t.join()
        counts = {a: answers.count(a) for a in set(answers)}
        print(f"a burst of {len(threads)} (the line holds {os.cpu_count()} composing + 8 waiting): {counts}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
