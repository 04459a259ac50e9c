//! Real Redis for the tier tests: a `redis-server` (or a 3-primary Cluster)
//! on free loopback ports, killed when dropped, with the faults the tests
//! need (`kill -9` and a restart on the same port, `SIGSTOP`/`SIGCONT`),
//! and a TCP fault proxy that can pass, blackhole (swallow bytes, no RST)
//! or reset a link.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A free loopback port (bound, read, released).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `redis-server` is on PATH (`scripts/toolchains` installs it).
pub fn redis_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A `redis-server` on a loopback port.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one with persistence off.
    pub fn start() -> Result<RedisServer> {
        Self::start_with(&[])
    }

    /// Starts one with extra arguments (`--cluster-enabled yes` ...).
    pub fn start_with(extra: &[&str]) -> Result<RedisServer> {
        let mut server = RedisServer {
            child: None,
            port: free_port()?,
            dir: tempfile::tempdir()?,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> Result<()> {
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning redis-server (scripts/toolchains installs it)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("redis-server on port {} did not answer PING", self.port)
    }

    /// Whether it answers: PONG, or an error reply (e.g. `NOAUTH` when it
    /// was started with `--requirepass`) — anything but a failed link.
    fn ping(&self) -> bool {
        match redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        {
            Ok(_) => true,
            Err(error) => !error.is_io_error() && !error.is_connection_refusal(),
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A direct client connection.
    pub fn client(&self) -> Result<redis::Connection> {
        let con =
            redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(5))?;
        con.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(con)
    }

    /// `kill -9`: everything in memory is gone (persistence is off).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn()
    }

    /// `SIGSTOP` (`true`) or `SIGCONT` (`false`): a hung Redis.
    pub fn pause(&self, stop: bool) -> Result<()> {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .arg(if stop { "-STOP" } else { "-CONT" })
                .arg(child.id().to_string())
                .status()?;
            if !status.success() {
                bail!("kill failed");
            }
        }
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.pause(false);
        self.kill9();
    }
}

/// A 3-primary Redis Cluster on loopback.
pub struct RedisCluster {
    /// Its servers: the three primaries, then any replicas.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three `--cluster-enabled yes` servers and joins them.
    pub fn start() -> Result<RedisCluster> {
        Self::start_with_replicas(0)
    }

    /// Three primaries with `replicas` replicas each, joined; every
    /// replica in sync with its primary before this returns.
    pub fn start_with_replicas(replicas: usize) -> Result<RedisCluster> {
        let mut nodes = Vec::new();
        for _ in 0..3 * (1 + replicas) {
            nodes.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "2000",
            ])?);
        }
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .context("running redis-cli --cluster create")?;
        if !output.status.success() {
            bail!(
                "cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let cluster = RedisCluster { nodes };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = cluster.nodes.iter().all(|n| {
                n.client()
                    .and_then(|mut c| {
                        let info = redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut c)?;
                        let repl = redis::cmd("INFO")
                            .arg("replication")
                            .query::<String>(&mut c)?;
                        Ok(info.contains("cluster_state:ok")
                            && (repl.contains("role:master")
                                || repl.contains("master_link_status:up")))
                    })
                    .unwrap_or(false)
            });
            if ok {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                bail!("cluster did not reach cluster_state:ok with replicas in sync");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The ports of the primary that owns `key`'s slot and of one of its
    /// replicas, as the cluster sees them now.
    fn primary_and_replica(&self, key: &str) -> Result<(u16, u16)> {
        let mut any = self.nodes[0].client()?;
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut any)?;
        // CLUSTER NODES, not SLOTS: SLOTS omits replicas with no
        // replication offset yet. Fields: id addr flags primary-id ... slots.
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut any)?;
        let lines: Vec<Vec<&str>> = nodes
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let owns = |ranges: &[&str]| {
            ranges.iter().any(|r| {
                let (from, to) = r.split_once('-').unwrap_or((r, r));
                matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(f), Ok(t)) if (f..=t).contains(&slot))
            })
        };
        let port_of = |f: &Vec<&str>| {
            f[1].split('@')
                .next()?
                .rsplit_once(':')?
                .1
                .parse::<u16>()
                .ok()
        };
        let primary = lines
            .iter()
            .find(|f| f.len() > 8 && f[2].contains("master") && owns(&f[8..]))
            .context("no primary owns the slot")?;
        let replica = lines
            .iter()
            .find(|f| f.len() > 3 && f[2].contains("slave") && f[3] == primary[0])
            .and_then(port_of)
            .with_context(|| format!("no replica of the primary of slot {slot}"))?;
        Ok((port_of(primary).context("the primary's address")?, replica))
    }

    /// Waits until the server on `port` is a primary.
    fn wait_primary(&self, port: u16) -> Result<()> {
        let node = self
            .nodes
            .iter()
            .find(|n| n.port == port)
            .context("the replica is not one of ours")?;
        let mut c = node.client()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let repl: String = redis::cmd("INFO").arg("replication").query(&mut c)?;
            if repl.contains("role:master") {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the replica on {port} was not promoted");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Promotes a replica of the primary that owns `key`'s slot (a manual
    /// `CLUSTER FAILOVER`) and waits until it is the primary.
    pub fn fail_over(&self, key: &str) -> Result<()> {
        let (_, replica) = self.primary_and_replica(key)?;
        let node = self
            .nodes
            .iter()
            .find(|n| n.port == replica)
            .context("the replica is not one of ours")?;
        let () = redis::cmd("CLUSTER")
            .arg("FAILOVER")
            .query(&mut node.client()?)?;
        self.wait_primary(replica)
    }

    /// Kills the primary that owns `key`'s slot with SIGKILL and waits
    /// until the cluster has promoted its replica (after
    /// `cluster-node-timeout`).
    pub fn kill_primary(&mut self, key: &str) -> Result<()> {
        let (primary, replica) = self.primary_and_replica(key)?;
        self.nodes
            .iter_mut()
            .find(|n| n.port == primary)
            .context("the primary is not one of ours")?
            .kill9();
        // Asked of a live node from now on.
        if let Some(live) = self.nodes.iter().position(|n| n.port == replica) {
            self.nodes.swap(0, live);
        }
        self.wait_primary(replica)
    }

    /// The seed URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// A cluster-aware client.
    pub fn client(&self) -> Result<redis::cluster::ClusterConnection> {
        Ok(redis::cluster::ClusterClient::new(self.urls())?.get_connection()?)
    }
}

const PASS: u8 = 0;
const BLACKHOLE: u8 = 1;
const RESET: u8 = 2;

/// A TCP proxy in front of one address: pass, blackhole (bytes vanish both
/// ways, sockets stay open: a cut link that sends no RST) or reset (open
/// links are shut and new ones refused).
pub struct FaultProxy {
    /// The port to connect to instead of the target.
    pub port: u16,
    mode: Arc<AtomicU8>,
    links: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy to `127.0.0.1:target`, passing.
    pub fn start(target: u16) -> Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let mode = Arc::new(AtomicU8::new(PASS));
        let links: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, l, s) = (Arc::clone(&mode), Arc::clone(&links), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::Acquire) {
                    break;
                }
                let Ok(client) = client else { continue };
                if m.load(Ordering::Acquire) == RESET {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                if let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone())
                    && let Ok(mut all) = l.lock()
                {
                    all.push(c2);
                    all.push(u2);
                }
                for (from, to) in [
                    (client.try_clone(), upstream.try_clone()),
                    (upstream.try_clone(), client.try_clone()),
                ] {
                    if let (Ok(from), Ok(to)) = (from, to) {
                        let m = Arc::clone(&m);
                        std::thread::spawn(move || pump(from, to, &m));
                    }
                }
            }
        });
        Ok(FaultProxy {
            port,
            mode,
            links,
            stop,
        })
    }

    /// `redis://127.0.0.1:<proxy port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Bytes flow.
    pub fn pass(&self) {
        self.mode.store(PASS, Ordering::Release);
    }

    /// Bytes vanish; sockets stay open.
    pub fn blackhole(&self) {
        self.mode.store(BLACKHOLE, Ordering::Release);
    }

    /// Open links are shut; new ones are refused until [`FaultProxy::pass`].
    pub fn reset(&self) {
        self.mode.store(RESET, Ordering::Release);
        self.shut_all();
    }

    fn shut_all(&self) {
        if let Ok(mut all) = self.links.lock() {
            for s in all.drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, mode: &AtomicU8) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match mode.load(Ordering::Acquire) {
            PASS => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            BLACKHOLE => {}
            _ => break,
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.shut_all();
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A scratch file path for a node's replay queue (kept across restarts of
/// the node within one test).
pub fn replay_file(dir: &tempfile::TempDir, node: &str) -> PathBuf {
    dir.path().join(format!("replay-{node}.redb"))
}

/// The `[l2]` section for a node: `address` is `url = ...` or
/// `cluster = [...]`; `extra` is appended inside the section.
pub fn l2_config(address: &str, replay: &std::path::Path, extra: &str) -> String {
    format!(
        "encryption_key = \"{}\"\n[l2]\n{address}\nreplay_file = \"{}\"\n{extra}\n",
        "11".repeat(32),
        replay.display()
    )
}
