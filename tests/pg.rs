//! A PostgreSQL server of the test's own, which the test may stop and
//! start at will: the machine's shared cluster serves every other test
//! running at the same time, so stopping *it* would fail them too.
//!
//! The server is Debian's (`/usr/lib/postgresql/<version>/bin`), the same
//! binaries as the shared cluster; `initdb` and the server refuse to run as
//! root, so as root they run as the `postgres` user, in a temporary
//! directory handed to it.

use std::{
    path::PathBuf,
    process::{Command, Output},
};

/// A running PostgreSQL server on a loopback port, removed when dropped.
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PgServer {
    /// `initdb` in a temporary directory, then starts the server.
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries (Debian's postgresql package) under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().expect("temporary directory");
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status();
            assert!(matches!(ok, Ok(s) if s.success()), "chown to postgres failed");
        }
        let pg = Self { bin, port: crate::free_port(), dir };
        let data = pg.data();
        pg.ok("initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
        pg.start_again();
        pg
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Fast shutdown, as `pg_ctlcluster … stop` does: open sessions are
    /// ended (their clients get `57P01` or a closed socket), the server
    /// checkpoints and exits; waits until it has.
    pub fn stop(&self) {
        self.ok("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Starts the (stopped) server again on the same port; waits until it
    /// accepts connections.
    pub fn start_again(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log");
        self.ok("pg_ctl", &["-D", &self.data(), "-l", &log.display().to_string(), "-o", &opts, "-w", "start"]);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        c.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
    }

    fn ok(&self, tool: &str, args: &[&str]) {
        let out = self.run(tool, args);
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
