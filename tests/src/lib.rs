//! Shared harness for the integration tests: start the real `hoard` binary on
//! port 0, wait for the line that names its port, and hand out real Redis
//! client connections — raw ([`Server::client`]) or typed for hoard's own
//! commands ([`Server::connect`], [`Client`]). Each server is killed when its
//! handle drops.

pub mod client;
pub mod http1;
pub mod http_origin;
pub mod postgres;
pub mod raw;
pub mod remote;
pub mod tier;

pub use client::{CacheInfo, Client, Event, Fields, Loaded, Plan, PluginRow};

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// How long a server may take to print its port (it compiles plugins first).
const STARTUP: Duration = Duration::from_secs(120);

/// The workspace root (one level above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The `hoard` binary: `$HOARD_BIN`, else the one cargo built beside this test.
pub fn hoard_bin() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("HOARD_BIN") {
        return Ok(PathBuf::from(path));
    }
    // target/<profile>/deps/<test-binary> -> target/<profile>/hoard
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("cannot locate the target directory from {}", exe.display()))?;
    let bin = profile_dir.join("hoard");
    if !bin.exists() {
        bail!(
            "{} does not exist: build it first with `cargo build -p hoard` (the README's test command does)",
            bin.display()
        );
    }
    Ok(bin)
}

/// A plugin artifact built by `host/build.rs` (e.g. `user_cache`, `fixture_spin`).
pub fn plugin_artifact(name: &str) -> PathBuf {
    workspace_root()
        .join("plugins/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"))
}

/// A fresh directory holding copies of the named plugin artifacts.
pub fn plugin_dir(names: &[&str]) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for name in names {
        let from = plugin_artifact(name);
        std::fs::copy(&from, dir.path().join(format!("{name}.wasm")))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(dir)
}

/// Options for [`Server::start_with`].
#[derive(Default)]
pub struct ServerOptions {
    /// Plugin directory; `None` serves the bundled examples.
    pub plugins: Option<PathBuf>,
    /// Extra TOML configuration.
    pub config: Option<String>,
    /// Compiled-artifact cache directory; `None` shares one across tests.
    pub artifact_cache: Option<PathBuf>,
}

impl ServerOptions {
    /// Default options (the bundled examples).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds TOML configuration.
    pub fn with_config(mut self, text: impl Into<String>) -> Self {
        self.config = Some(text.into());
        self
    }

    /// Serves the plugins of `dir`.
    pub fn with_plugins(mut self, dir: impl Into<PathBuf>) -> Self {
        self.plugins = Some(dir.into());
        self
    }
}

/// A running `hoard serve`.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// The admin HTTP listener (`host:port`), when configured.
    pub admin: Option<String>,
    stderr: Arc<Mutex<String>>,
    _config_dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with the bundled example definitions.
    pub fn start() -> Result<Server> {
        Self::start_with(ServerOptions::default())
    }

    /// Starts the server with options.
    pub fn start_with(options: ServerOptions) -> Result<Server> {
        let config_dir = tempfile::tempdir()?;
        let mut command = Command::new(hoard_bin()?);
        command
            .arg("serve")
            .arg("--port")
            .arg("0")
            .arg("--artifact-cache")
            .arg(
                options
                    .artifact_cache
                    .clone()
                    .unwrap_or_else(|| workspace_root().join("target/hoard-test-artifacts")),
            )
            .env("HOARD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &options.plugins {
            command.arg("--plugins").arg(dir);
        }
        if let Some(text) = &options.config {
            let path = config_dir.path().join("hoard.toml");
            std::fs::write(&path, text)?;
            command.arg("--config").arg(path);
        }
        let mut child = command.spawn().context("spawning hoard")?;

        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if let Some(addr) = line.strip_prefix("hoard admin listening on http://") {
                    let _ = tx.send(format!("admin {addr}"));
                }
                if let Some(addr) = line.strip_prefix("hoard listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            admin: None,
            stderr,
            _config_dir: config_dir,
        };
        // The admin line, if any, comes first.
        let addr = loop {
            match rx.recv_timeout(STARTUP) {
                Ok(line) => match line.strip_prefix("admin ") {
                    Some(admin) => server.admin = Some(admin.to_owned()),
                    None => break line,
                },
                Err(_) => bail!("hoard did not start; its log:\n{}", server.log()),
            }
        };
        server.port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow!("bad address line {addr:?}"))?;
        Ok(server)
    }

    /// A new client connection (RESP2).
    pub fn client(&self) -> Result<redis::Connection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        let con = client.get_connection_with_timeout(Duration::from_secs(10))?;
        con.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(con)
    }

    /// A new typed client (RESP2); see [`Client`].
    pub fn connect(&self) -> Result<Client> {
        Ok(Client::from(self.client()?))
    }

    /// A typed client already authenticated as `user`.
    pub fn login(&self, user: &str, password: &str) -> Result<Client> {
        let mut client = self.connect()?;
        client.auth(user, password)?;
        Ok(client)
    }

    /// A raw TCP connection, for protocol-level tests.
    pub fn tcp(&self) -> Result<std::net::TcpStream> {
        let stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(stream)
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks it to shut down gracefully (SIGTERM) and waits until it has
    /// exited, at most `within`; returns whether it exited cleanly.
    pub fn terminate(&mut self, within: Duration) -> Result<bool> {
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "hoard did not exit within {within:?}; its log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it returns true or `within` passes. For conditions
/// with no signal to wait on (an entry expiring in real time).
pub fn eventually(within: Duration, mut check: impl FnMut() -> Result<bool>) -> Result<bool> {
    let deadline = std::time::Instant::now() + within;
    loop {
        if check()? {
            return Ok(true);
        }
        if std::time::Instant::now() > deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The admin password the test configs use.
pub const ADMIN_PASSWORD: &str = "let-me-in";
/// `printf %s let-me-in | sha256sum`: the legacy (unsalted) form of
/// [`ADMIN_PASSWORD`], for `password_sha256`; [`hoard_passwd`] makes the
/// current form.
pub const ADMIN_PASSWORD_SHA256: &str =
    "a3ee786b5707c27d42570785081ec17f5c7db9262a01366af362a1aa61a420b9";

/// `hoard passwd` with `password` on stdin: the argon2id PHC string to put
/// in a config's `password_hash`.
pub fn hoard_passwd(password: &str) -> Result<String> {
    use std::io::Write;
    let mut child = hoard_command()?
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning hoard passwd")?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}")?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "hoard passwd failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// The code (first word) of a Redis error reply.
pub fn error_code(error: &redis::RedisError) -> String {
    error.code().unwrap_or("").to_owned()
}

/// A `hoard` command whose PATH also holds the toolchains the README's test
/// command installs under `target/toolchains/` (componentize-py), and whose
/// log is quiet.
pub fn hoard_command() -> Result<Command> {
    let mut command = Command::new(hoard_bin()?);
    let toolchains = workspace_root().join("target/toolchains/python/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let joined =
        std::env::join_paths(std::iter::once(toolchains).chain(std::env::split_paths(&path)))?;
    command
        .env("PATH", joined)
        .env("HOARD_LOG", "warn")
        .env("RUST_BACKTRACE", "0");
    Ok(command)
}

/// `hoard plugin build <project>`: builds a plugin project (any language)
/// from source and returns the component's path.
pub fn build_plugin(project: &Path) -> Result<PathBuf> {
    build_plugin_with(project, &[])
}

/// [`build_plugin`] with extra environment for the toolchain (a shared
/// `CARGO_TARGET_DIR`, say).
pub fn build_plugin_with(project: &Path, env: &[(&str, &Path)]) -> Result<PathBuf> {
    let mut command = hoard_command()?;
    command.args(["plugin", "build"]).arg(project);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output()?;
    if !output.status.success() {
        bail!(
            "hoard plugin build {} failed:\n{}{}",
            project.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let path = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok(PathBuf::from(path))
}
