#!/usr/bin/env python3
"""HTTP under load (issue 20), driven by bench/load.sh: wrk against the
release server on the national dataset, at 1, 8, 32 and 128 connections,
with the baselines of the same run (pgbench on the same SQL, nginx on the
same rendition bytes). Prints one markdown table.

For each level: requests per second, latency p50/p99/p99.9 as wrk measures
them, answers by kind (2xx, a documented 503/429 with Retry-After, anything
else), CPU per request of the server (its intake workers included, once
reaped) and of PostgreSQL, and how busy the two cores were. The load
generator runs on the same two cores, and its share is reported too.
"""

import hashlib
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIR = Path(os.environ.get("BENCH_NATIONAL_DIR", "/var/tmp/dnu-national"))
ADMIN = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
DB = os.environ.get("BENCH_NATIONAL_DB", "vault_national")
URL = ADMIN.rsplit("/", 1)[0] + "/" + DB
SECONDS = int(os.environ.get("LOAD_SECONDS", "10"))
LEVELS = [int(c) for c in os.environ.get("LOAD_LEVELS", "1 8 32 128").split()]
BIN = Path(os.environ.get("DNU_VAULT_BIN", ROOT / "target/release/dnu-vault"))
LUA = ROOT / "bench/load.lua"
TICK = os.sysconf("SC_CLK_TCK")
RUN_SEED = int(time.time()) % 1_000_000 * 100
PG_CLIENTS = int(os.environ.get("LOAD_PG_CLIENTS", "64"))
WORK = Path(tempfile.mkdtemp(prefix="dnu-load."))


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql):
    r = subprocess.run(["psql", URL, "-Atq", "-v", "ON_ERROR_STOP=1", "-f", "-"], input=sql, text=True,
                       capture_output=True, check=True)
    return [l for l in r.stdout.splitlines() if l]


def wait_http(url, secs=60):
    end = time.time() + secs
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {secs} s")


def cpu_groups():
    """CPU seconds so far per component (reaped children counted in their parent)."""
    groups = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            st = open(f"/proc/{pid}/stat").read()
            cmd = open(f"/proc/{pid}/cmdline").read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        t = (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / TICK
        name = st[st.index("(") + 1:st.rindex(")")]
        g = ("vault" if "dnu-vault" in cmd else "postgres" if name.startswith("postgres") else
             "garage" if name == "garage" else "nginx" if name == "nginx" else None)
        if g:
            groups[g] = groups.get(g, 0) + t
    return groups


def rss_mib(pid, field="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_parts(pid):
    """VmRSS split as the kernel counts it: anonymous memory (heap, stacks:
    what the server holds) and file pages (the binary's code and data that
    the paths run so far have paged in, shared with the page cache)."""
    return f"{rss_mib(pid, 'RssAnon'):.0f} MiB anonymous + {rss_mib(pid, 'RssFile'):.0f} MiB of mapped files"


def client_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def vault_env(extra):
    return dict(os.environ, VAULT_DATA_DIR=str(DIR), VAULT_DATABASE_URL=URL, RUST_LOG="warn", **extra)


def migrate():
    """The dataset takes this binary's migrations (`serve` requires them)."""
    t0 = time.time()
    subprocess.run([str(BIN), "migrate"], env=vault_env({}), check=True, capture_output=True)
    if time.time() - t0 > 2:
        say(f"migrations applied in {time.time() - t0:.0f} s")


class Vault:
    """The release server on the dataset, with the given object store."""

    def __init__(self, name, env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A run interrupted earlier leaves its lease on the day's lifecycle
        # run for 30 minutes: this server takes it over now.
        psql("DELETE FROM lifecycle_runs WHERE finished_at IS NULL")
        e = dict(vault_env(env), VAULT_LISTEN=f"127.0.0.1:{self.port}")
        self.log = open(WORK / f"{name}.log", "w")
        self.proc = subprocess.Popen([str(BIN), "serve"], env=e, stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(self.url + "/readyz")
        # The day's lifecycle run (notices, radiations) starts with the
        # server; on a fresh dataset it issues thousands of notices. Measured
        # after it, as a server that has been up since morning would be.
        day, t0 = time.strftime("%Y-%m-%d", time.gmtime()), time.time()
        while psql(f"SELECT COUNT(*) FROM lifecycle_runs WHERE day = '{day}' AND finished_at IS NOT NULL") != ["1"]:
            if time.time() - t0 > 900:
                raise SystemExit("the day's lifecycle run did not finish in 15 minutes")
            time.sleep(2)
        if time.time() - t0 > 2:
            say(f"the day's lifecycle run took {time.time() - t0:.0f} s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def multipart(kind, filename, ctype, data):
    b = "dnuvaultloadboundary"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n--{b}\r\n"
            f"Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {ctype}\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


def upload_photos(vault, pairs, n):
    """n photo-like JPEG scans into n dossiers; their renditions are what the
    rendition load reads. Returns "token\tpath" lines and the rendition bytes."""
    lines, sizes, sample = [], [], None
    for i, (token, nu) in enumerate(random.sample(pairs, n)):
        photo = WORK / f"photo-{i}.jpg"
        # Different in every run: the dataset keeps earlier runs' pieces,
        # and a photo stored before would be answered as a duplicate.
        subprocess.run(["convert", "-seed", str(RUN_SEED + i), "-size", "1275x1650", "plasma:", "-quality", "92",
                        str(photo)], check=True)
        body, ctype = multipart("ressources", "scan.jpg", "image/jpeg", photo.read_bytes())
        req = urllib.request.Request(f"{vault.url}/api/v1/dossiers/{nu}/pieces", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=120) as r:
            piece = json.load(r)["piece"]["id"]
        path = f"/api/v1/dossiers/{nu}/pieces/{piece}/rendition"
        req = urllib.request.Request(vault.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
        sizes.append(len(data))
        sample = sample or data
        lines.append(f"{token}\t{path}")
    return lines, sizes, sample


def wrk(url, conns, mode, lines_file, secs=SECONDS):
    """One wrk run; its JSON line, with the CPU each component used."""
    before, c0, t0 = cpu_groups(), client_cpu(), time.time()
    r = subprocess.run(["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{secs}s", "--timeout", "30s",
                        "-s", str(LUA), url, "--", mode, str(lines_file)],
                       capture_output=True, text=True, check=True)
    wall = time.time() - t0
    time.sleep(0.5)  # exited processes reaped, their CPU counted in their parent
    after, c1 = cpu_groups(), client_cpu()
    out = json.loads([l for l in r.stdout.splitlines() if l.startswith("{")][-1])
    out["cpu"] = {k: after[k] - before.get(k, 0) for k in after}
    out["cpu"]["load generator"] = c1 - c0
    out["wall"] = wall
    return out


def pgbench(script, conns, secs=SECONDS):
    """The same SQL, prepared, at the same concurrency; latencies from its
    per-transaction log."""
    # PostgreSQL's max_connections (100 by default) leaves no room for 128
    # clients beside the vault's pool: the highest level runs 64.
    conns = min(conns, PG_CLIENTS)
    logdir = Path(tempfile.mkdtemp(dir=WORK))
    before, c0 = cpu_groups(), client_cpu()
    r = subprocess.run(["pgbench", "-n", "-M", "prepared", "-f", str(script), "-c", str(conns),
                        "-j", str(min(2, conns)), "-T", str(secs), "-l", "--log-prefix", str(logdir / "tx"), URL],
                       capture_output=True, text=True, check=True, cwd=logdir)
    time.sleep(0.5)
    after, c1 = cpu_groups(), client_cpu()
    lat = sorted(int(l.split()[2]) for f in logdir.iterdir() for l in open(f))
    failed = sum(1 for f in logdir.iterdir() for l in open(f) if l.split()[2] == "failed")
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] / 1e3
    tps = float([l for l in r.stdout.splitlines() if l.startswith("tps")][0].split()[2])
    cpu = {k: after[k] - before.get(k, 0) for k in after}
    cpu["load generator"] = c1 - c0
    return {"clients": conns, "requests": len(lat), "ok": len(lat) - failed, "limited": 0, "other": {}, "socket_errors": 0,
            "seconds": len(lat) / tps if tps else secs, "p50_ms": q(0.5), "p99_ms": q(0.99), "p999_ms": q(0.999),
            "cpu": cpu, "wall": secs}


class Nginx:
    def __init__(self, root):
        self.port = free_port()
        conf = WORK / "nginx.conf"
        conf.write_text(f"""
worker_processes 2; daemon off; pid {WORK}/nginx.pid; error_log {WORK}/nginx.err warn;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{self.port}; root {root}; }} }}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-e", str(WORK / "nginx.err")])
        wait_http(f"http://127.0.0.1:{self.port}/rendition.pdf")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Garage:
    """One Garage node, one key, one bucket (as deploy/local-cluster.sh)."""

    def __init__(self):
        g = shutil.which("garage") or str(Path.home() / ".cargo/bin/garage")
        d = WORK / "garage"
        d.mkdir()
        rpc, self.s3 = free_port(), free_port()
        conf = d / "garage.toml"
        conf.write_text(f"""metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{os.urandom(32).hex()}"
[s3_api]
api_bind_addr = "127.0.0.1:{self.s3}"
s3_region = "garage"
""")
        self.cmd = [g, "-c", str(conf)]
        self.proc = subprocess.Popen(self.cmd + ["server"], stdout=open(d / "log", "w"), stderr=subprocess.STDOUT)
        for _ in range(300):
            if subprocess.run(self.cmd + ["status"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        node = self.run("node", "id", "-q").split("@")[0]
        self.run("layout", "assign", "-z", "dc1", "-c", "10G", node)
        self.run("layout", "apply", "--version", "1")
        key = self.run("key", "create", "dnu-vault")
        self.key_id = [l.split(":", 1)[1].strip() for l in key.splitlines() if l.startswith("Key ID")][0]
        secret = [l.split(":", 1)[1].strip() for l in key.splitlines() if l.startswith("Secret key")][0]
        (d / "secret").write_text(secret + "\n")
        self.secret_file = d / "secret"
        self.run("bucket", "create", "dnu-vault")
        self.run("bucket", "allow", "--read", "--write", "--owner", "dnu-vault", "--key", self.key_id)

    def run(self, *args):
        return subprocess.run(self.cmd + list(args), capture_output=True, text=True, check=True).stdout

    def env(self):
        return {"VAULT_OBJECT_STORE": "s3://dnu-vault/objects", "VAULT_S3_ENDPOINT": f"http://127.0.0.1:{self.s3}",
                "VAULT_S3_REGION": "garage", "VAULT_S3_ACCESS_KEY_ID": self.key_id,
                "VAULT_S3_SECRET_ACCESS_KEY_FILE": str(self.secret_file)}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def lines_file(name, lines):
    p = WORK / f"{name}.tsv"
    p.write_text("\n".join(lines) + "\n")
    return p


def row(label, conns, r, base=None):
    rps = r["requests"] / r["seconds"] if r["seconds"] else 0
    n = max(r["requests"], 1)
    ms = lambda k: 1e3 * r["cpu"].get(k, 0) / n
    busy = 100 * sum(r["cpu"].values()) / r["wall"] / os.cpu_count()
    other = sum(r["other"].values()) + r["socket_errors"]
    ratio = f" ({rps / base:.2f}×)" if base else ""
    return (f"| {label} | {conns} | {rps:,.0f}{ratio} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} / {r['p999_ms']:.2f} | "
            f"{r['ok']:,} / {r['limited']:,} / {other:,}{' ' + json.dumps(r['other']) if r['other'] else ''} | "
            f"{ms('vault'):.2f} | {ms('postgres'):.2f} | {busy:.0f} % (client {100 * r['cpu'].get('load generator', 0) / r['wall'] / os.cpu_count():.0f} %) |")


def main():
    for tool in ("wrk", "pgbench", "nginx", "convert"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (bench/load.sh installs it)")
    random.seed(20)
    agents = {}
    for line in (DIR / "agents.tsv").read_text().splitlines():
        dep, role, _org, communes, token = line.split("\t")
        agents[(dep, role)] = (token, communes.split(","))
    sample = [l.split("\t") for l in (DIR / "dossiers.tsv").read_text().splitlines()]
    # Radiated dossiers are closed to partners that did not register them:
    # the fetch load reads active ones, as a worklist offers them.
    values = ",".join(f"('{nu}')" for _, nu in sample)
    active = set(psql(f"SELECT d.numero_unique FROM dossiers d JOIN (VALUES {values}) s(nu) "
                      f"ON d.numero_unique = s.nu WHERE d.status = 'active'"))
    sample = [(dep, nu) for dep, nu in sample if nu in active]
    n_dossiers = int(psql("SELECT COUNT(*) FROM dossiers")[0])
    say(f"dataset {DB}: {n_dossiers:,} dossiers; {len(sample):,} sampled active dossiers; {len(agents)} agents")

    readers = [(agents[(dep, random.choice(["guichet", "bailleur"]))][0], nu) for dep, nu in sample]
    fetch = [f"{token}\t/api/v1/dossiers/{nu}" for token, nu in readers]
    worklist = [f"{t}\t/api/v1/dossiers?limit=50" for (d, role), (t, _) in agents.items() if role != "guichet"]
    uploads = [f"{agents[(dep, 'guichet')][0]}\t/api/v1/dossiers/{nu}/pieces" for dep, nu in sample]
    guichet_pairs = [(agents[(dep, "guichet")][0], nu) for dep, nu in sample]

    # The baselines' SQL: the same statements, parameters drawn from the same sample.
    # In a schema of their own, dropped at the end: the vault never sees them.
    psql("DROP SCHEMA IF EXISTS load CASCADE; CREATE SCHEMA load;"
         "CREATE TABLE load.nus (i int PRIMARY KEY, nu text, token_hash bytea);"
         "CREATE TABLE load.territories (i int PRIMARY KEY, dep text, communes text[]);"
         + "".join(f"INSERT INTO load.nus VALUES ({i + 1}, '{nu}', '\\x{hashlib.sha256(t.encode()).hexdigest()}');"
                   for i, (t, nu) in enumerate(readers))
         + "".join(f"INSERT INTO load.territories VALUES ({i + 1}, '{dep}', ARRAY[{','.join(repr(c) for c in agents[(dep, 'local')][1])}]);"
                   for i, dep in enumerate(sorted({d for d, _ in agents}))))
    n_dep = len({d for d, _ in agents})
    fetch_sql = WORK / "fetch.sql"
    today_ms = int(time.time() // 86400 * 86400 * 1000)
    fetch_sql.write_text((ROOT / "bench/load-fetch.sql").read_text().replace(":n_nus", str(len(sample)))
                         .replace(":since", str(today_ms)))
    dense_sql = WORK / "dense.sql"
    sparse_sql = WORK / "sparse.sql"
    wl = (ROOT / "bench/load-worklist.sql").read_text().replace(":n_deps", str(n_dep))
    dense_sql.write_text(wl.split("-- sparse\n")[0])
    sparse_sql.write_text("\\set i random(1, %d)\n" % n_dep + wl.split("-- sparse\n")[1])

    table = []
    header = ("| request | conns | requests/s | latency p50 / p99 / p99.9 (ms) | 2xx / refused with Retry-After (503, 429) / other | "
              "server CPU ms/req | PostgreSQL CPU ms/req | cores busy |\n|---|---|---|---|---|---|---|---|")

    def run(label, url, mode, lf, base=None):
        wrk(url, 8, mode, lf, secs=3)  # warm-up: connections, caches, pages
        out = []
        for c in LEVELS:
            r = wrk(url, c, mode, lf)
            say(f"{label} c={c}: {r}")
            out.append((c, r))
            table.append(row(label, c, r, (base or {}).get(c)))
        rss.append(f"after {label}: {rss_mib(vault.proc.pid):.0f} MiB")
        return {c: r["requests"] / r["seconds"] for c, r in out}

    def baseline(label, fn):
        out = {}
        for c in LEVELS:
            r = fn(c)
            say(f"{label} c={c}: {r}")
            table.append(row(label, r.get("clients", c), r))
            out[c] = r["requests"] / r["seconds"]
        return out

    migrate()
    vault = Vault("local", {})
    # A fresh dataset was loaded by COPY and never vacuumed: the first
    # reads of each page set its hint bits and fill the visibility map,
    # which a database in service has long done (autovacuum). Done here,
    # so that every run measures the same steady state.
    t0 = time.time()
    psql("VACUUM (ANALYZE)")
    # And its pages written out now, not by the checkpointer during the
    # first measured phase.
    psql("CHECKPOINT")
    say(f"VACUUM (ANALYZE) and CHECKPOINT took {time.time() - t0:.0f} s")
    rss_start = rss_mib(vault.proc.pid)
    anon_start = rss_mib(vault.proc.pid, "RssAnon")
    rss = [f"at start: {rss_start:.0f} MiB ({rss_parts(vault.proc.pid)})"]
    rendition_lines, sizes, rendition_bytes = upload_photos(vault, guichet_pairs, 20)
    say(f"renditions: {min(sizes):,}–{max(sizes):,} bytes")
    # nginx's workers run as another user: the file must be theirs to read.
    os.chmod(WORK, 0o755)
    (WORK / "www").mkdir(mode=0o755)
    (WORK / "www/rendition.pdf").write_bytes(rendition_bytes)
    os.chmod(WORK / "www/rendition.pdf", 0o644)

    pg_fetch = baseline("pgbench: the fetch's SQL", lambda c: pgbench(fetch_sql, c))
    run("GET /api/v1/dossiers/{nu}", vault.url, "get", lines_file("fetch", fetch), pg_fetch)
    pg_dense = baseline("pgbench: a worklist's first page (dense)", lambda c: pgbench(dense_sql, c))
    pg_sparse = baseline("pgbench: a worklist's first page (sparse)", lambda c: pgbench(sparse_sql, c))
    pg_wl = {c: 2 / (1 / pg_dense[c] + 1 / pg_sparse[c]) for c in LEVELS}
    run("worklist, first page (dense and sparse mixed)", vault.url, "get", lines_file("worklist", worklist), pg_wl)
    nginx = Nginx(WORK / "www")
    ng = baseline(f"nginx: the same {len(rendition_bytes) // 1000} KB file", lambda c: wrk(
        nginx.url, c, "get", lines_file("nginx", ["-\t/rendition.pdf"])))
    nginx.stop()
    run("GET …/rendition, local store", vault.url, "get", lines_file("rendition", rendition_lines), ng)
    run("POST …/pieces, distinct 300 KB PDFs", vault.url, "upload", lines_file("upload", uploads))
    # The end of the run is when the load has stopped: idle blocking
    # threads exit after 10 s, and what the server holds then is what it
    # keeps (a leak would show here; warm buffers of the last phase not).
    time.sleep(15)
    rss_end = rss_mib(vault.proc.pid)
    anon_end = rss_mib(vault.proc.pid, "RssAnon")
    rss.append(f"15 s after the last request: {rss_end:.0f} MiB ({rss_parts(vault.proc.pid)})")
    vault.stop()

    garage = Garage()
    try:
        vault = Vault("s3", garage.env())
        rss.append("then a new server on Garage")
        s3_lines, _, _ = upload_photos(vault, guichet_pairs, 20)
        run("GET …/rendition, Garage", vault.url, "get", lines_file("rendition-s3", s3_lines), ng)
        vault.stop()
    finally:
        garage.stop()

    print(f"\n{n_dossiers:,} dossiers ({DB}); {SECONDS} s per level; {os.cpu_count()} cores shared by the server, "
          f"PostgreSQL and the load generator; renditions {min(sizes):,}–{max(sizes):,} bytes.")
    print(f"Server RSS (local store): {rss_start:.0f} MiB at start, {rss_end:.0f} MiB at the end "
          f"({rss_end / rss_start:.2f}×; anonymous memory {anon_start:.0f} → {anon_end:.0f} MiB, "
          f"{anon_end / max(anon_start, 1):.2f}×); {'; '.join(rss)}.\n")
    print(header)
    print("\n".join(table))
    psql("DROP SCHEMA load CASCADE")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
