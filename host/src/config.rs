//! Server configuration: a TOML file (`--config FILE`) overlaid by
//! command-line flags. Every field has a default, so `hoard serve` with no
//! file runs the bundled examples on 127.0.0.1:6380.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::credential::Credential;
use crate::definition::DefinitionCaps;
use crate::plugin::PluginLimits;
use hoard_l1::Policy;
use hoard_resp::Limits;

/// Everything `hoard serve` can be told.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one (printed at start-up).
    pub port: u16,
    /// Directory of plugin `.wasm` files; unset means the bundled examples.
    pub plugins: Option<PathBuf>,
    /// Where compiled plugins are cached; unset means `$XDG_CACHE_HOME/hoard`
    /// (or `~/.cache/hoard`). The string `"off"` disables the cache.
    pub artifact_cache: Option<PathBuf>,
    /// 64 hex characters; unset means a random key per process (L1 is in
    /// memory only, so nothing outlives the key). `HOARD_ENCRYPTION_KEY` overrides.
    pub encryption_key: Option<String>,
    /// Connections served at once; more are refused with an error.
    pub max_clients: usize,
    /// Async (tokio) worker threads serving connections; 0 means one per
    /// core. Not `[plugin] workers`, which run plugin calls. On a
    /// machine whose cores the clients share (a sidecar next to the
    /// application, a benchmark client on the same box), fewer workers than
    /// cores can serve more: a task waking another then stays on its thread
    /// instead of waking a parked one, which on a virtual machine means an
    /// inter-processor interrupt per request (see README, "Performance").
    pub async_workers: usize,
    /// Largest value (plain or definition) accepted, in bytes.
    pub max_value_bytes: usize,
    /// Limits of the RESP parser.
    pub protocol: ProtocolConfig,
    /// Sandbox limits of every plugin call.
    pub plugin: PluginLimits,
    /// Caps on what a definition may declare.
    pub definitions: CapsConfig,
    /// The plain (`GET`/`SET`) keyspace.
    pub plain: PlainConfig,
    /// Background expiry.
    pub expiry: ExpiryConfig,
    /// The admin credential for `PLUGIN.*`.
    pub admin: AdminConfig,
    /// Reload plugins when files in the plugin directory change.
    pub watch_plugins: bool,
    /// Tenants (`[[tenants]]`); none means one tenant and no authentication.
    pub tenants: Vec<TenantConfig>,
    /// Prometheus metrics recorded on the command path (`[metrics]`).
    pub metrics: MetricsConfig,
    /// OpenTelemetry traces (`[tracing]`).
    pub tracing: TracingConfig,
    /// The shared second level on Redis (`[l2]`); unset: a single node.
    pub l2: Option<crate::tier::config::L2Config>,
    /// Origins behind definitions (`[[origins]]`): read-through, leases,
    /// write-through. With `[[tenants]]`, each tenant lists its own.
    pub origins: Vec<crate::origin::OriginConfig>,
    /// The node's durable write-behind queue and flusher (`[write_behind]`),
    /// used by origins with `write = "behind"`.
    pub write_behind: crate::write_behind::WriteBehindConfig,
    /// Keys each tenant's client-tracking table remembers for default-mode readers (Redis's
    /// `tracking-table-max-keys`); past it random keys are forgotten and their readers told
    /// to drop them, so tracking memory stays bounded. 0: unbounded.
    pub tracking_table_max_keys: usize,
}

/// What the command path records for `/metrics`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Per-command latency histograms and per-export plugin call times. On
    /// by default; they cost two clock reads per command. Counters that
    /// already exist (hits, items, faults...) are read at scrape time either way.
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Where traces go. Off (and free) unless `otlp_endpoint` is set.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// OTLP/HTTP (protobuf) traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub otlp_endpoint: Option<String>,
    /// Fraction of commands traced, 0.0 to 1.0.
    pub sample_ratio: f64,
    /// `service.name` resource attribute.
    pub service_name: String,
    /// How often finished spans are sent.
    pub export_interval_ms: u64,
    /// Spans buffered between sends; more are dropped (and counted).
    pub max_queued_spans: usize,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sample_ratio: 1.0,
            service_name: "hoard".into(),
            export_interval_ms: 1000,
            max_queued_spans: 8192,
        }
    }
}

/// One tenant: its credential, its plugins and its limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The name used in `AUTH <name> <password>`.
    pub name: String,
    /// The tenant's password hash: an argon2id PHC string from `hoard passwd`.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Legacy: unsalted SHA-256 (hex) of the password. Still accepted, with a
    /// warning at start-up; use `password_hash`.
    #[serde(default)]
    pub password_sha256: Option<String>,
    /// The tenant's plugin directory (watched like the global one).
    pub plugins: PathBuf,
    /// Connections the tenant may hold at once; 0 means unlimited.
    #[serde(default)]
    pub max_connections: usize,
    /// Entries across the tenant's caches; beyond it the tenant's own entries
    /// are evicted. 0 means unlimited.
    #[serde(default)]
    pub max_items: u64,
    /// Bytes of keys and values across the tenant's caches; beyond it the
    /// tenant's own entries are evicted. 0 means unlimited.
    #[serde(default)]
    pub max_bytes: u64,
    /// Largest value the tenant may store; default: the server's `max_value_bytes`.
    #[serde(default)]
    pub max_value_bytes: Option<usize>,
    /// Linear memory per plugin instance; default: `[plugin] memory_bytes`.
    #[serde(default)]
    pub memory_bytes: Option<usize>,
    /// Budget of one plugin call; default: `[plugin] call_timeout_ms`.
    #[serde(default)]
    pub call_timeout_ms: Option<u64>,
    /// The tenant's origins (`[[tenants.origins]]`); a tenant's definitions
    /// reach only these.
    #[serde(default)]
    pub origins: Vec<crate::origin::OriginConfig>,
}

/// Who may load and unload plugins.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The admin password hash: an argon2id PHC string from `hoard passwd`.
    /// Unset (and no `password_sha256`): `PLUGIN.*` commands are refused.
    pub password_hash: Option<String>,
    /// Legacy: unsalted SHA-256 (hex) of the admin password. Still accepted,
    /// with a warning at start-up; use `password_hash`.
    pub password_sha256: Option<String>,
    /// Address of the HTTP admin listener (`/metrics`, the admin page);
    /// unset means no listener. `--admin-port` sets it on loopback.
    pub http: Option<std::net::SocketAddr>,
}

impl AdminConfig {
    /// The admin credential, if one is configured.
    pub fn credential(&self) -> anyhow::Result<Option<Credential>> {
        credential(
            "[admin]",
            self.password_hash.as_deref(),
            self.password_sha256.as_deref(),
        )
    }
}

impl TenantConfig {
    /// The tenant's credential; a tenant without one could never log in.
    pub fn credential(&self) -> anyhow::Result<Credential> {
        let who = format!("tenant {:?}", self.name);
        credential(
            &who,
            self.password_hash.as_deref(),
            self.password_sha256.as_deref(),
        )?
        .ok_or_else(|| anyhow::anyhow!("{who} needs a password_hash (`hoard passwd` prints one)"))
    }
}

/// Reads one credential from its two possible keys. Either key takes either
/// form (the form is recognised, not assumed from the key), so a PHC string
/// pasted under the old key works too. A legacy digest is warned about here,
/// once, as the configuration is read at start-up.
fn credential(
    who: &str,
    hash: Option<&str>,
    sha256: Option<&str>,
) -> anyhow::Result<Option<Credential>> {
    let text = match (hash, sha256) {
        (Some(_), Some(_)) => {
            anyhow::bail!("{who}: set password_hash or password_sha256, not both")
        }
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => return Ok(None),
    };
    let credential = Credential::parse(text).with_context(|| format!("{who} password"))?;
    if credential.is_legacy() {
        tracing::warn!(
            "{who}: the password is an unsalted SHA-256 digest; replace it with \
             password_hash = the output of `hoard passwd`"
        );
    }
    Ok(Some(credential))
}

/// RESP parser limits (Redis's defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolConfig {
    /// Largest bulk string.
    pub max_bulk_bytes: usize,
    /// Most arguments in one command.
    pub max_args: usize,
    /// Longest inline command line.
    pub max_inline_bytes: usize,
}

/// Caps on definitions.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapsConfig {
    /// Largest `max-items` a definition may declare.
    pub max_items: u64,
    /// Longest `max-ttl-ms` a definition may declare.
    pub max_ttl_ms: u64,
}

/// The plain keyspace.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlainConfig {
    /// Entries kept at most; 0 means unbounded (Redis's default).
    pub max_items: u64,
    /// `lru` or `lfu`.
    pub eviction: String,
}

/// Background reclamation of expired entries.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpiryConfig {
    /// How often the sweep runs.
    pub sweep_interval_ms: u64,
    /// Entries looked at per shard per sweep.
    pub sweep_per_shard: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 6380,
            plugins: None,
            artifact_cache: None,
            encryption_key: None,
            max_clients: 10_000,
            async_workers: 0,
            max_value_bytes: 64 << 20,
            protocol: ProtocolConfig::default(),
            plugin: PluginLimits::default(),
            definitions: CapsConfig::default(),
            plain: PlainConfig::default(),
            expiry: ExpiryConfig::default(),
            admin: AdminConfig::default(),
            watch_plugins: true,
            tenants: Vec::new(),
            metrics: MetricsConfig::default(),
            tracing: TracingConfig::default(),
            l2: None,
            origins: Vec::new(),
            write_behind: crate::write_behind::WriteBehindConfig::default(),
            tracking_table_max_keys: 1_000_000,
        }
    }
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            max_bulk_bytes: limits.max_bulk_len,
            max_args: limits.max_args,
            max_inline_bytes: limits.max_inline_len,
        }
    }
}

impl Default for CapsConfig {
    fn default() -> Self {
        let caps = DefinitionCaps::default();
        Self {
            max_items: caps.max_items,
            max_ttl_ms: caps.max_ttl_ms,
        }
    }
}

impl Default for PlainConfig {
    fn default() -> Self {
        Self {
            max_items: 0,
            eviction: "lfu".into(),
        }
    }
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            sweep_interval_ms: 100,
            sweep_per_shard: 32,
        }
    }
}

impl Config {
    /// Reads a TOML file; unknown keys are errors, so typos do not pass silently.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
    }

    /// The RESP parser limits.
    pub fn resp_limits(&self) -> Limits {
        Limits {
            max_bulk_len: self.protocol.max_bulk_bytes,
            max_args: self.protocol.max_args,
            max_inline_len: self.protocol.max_inline_bytes,
        }
    }

    /// The definition caps.
    pub fn caps(&self) -> DefinitionCaps {
        DefinitionCaps {
            max_items: self.definitions.max_items,
            max_ttl_ms: self.definitions.max_ttl_ms,
        }
    }

    /// The plain keyspace's eviction policy.
    pub fn plain_policy(&self) -> anyhow::Result<Policy> {
        match self.plain.eviction.to_ascii_lowercase().as_str() {
            "lru" => Ok(Policy::Lru),
            "lfu" => Ok(Policy::Lfu),
            other => anyhow::bail!("plain.eviction must be \"lru\" or \"lfu\", not {other:?}"),
        }
    }

    /// The configuration one tenant's cache is built with: this one, with the
    /// tenant's plugin directory and limits.
    /// Whether any origin (of any tenant) writes behind: only then is the
    /// queue file opened.
    pub fn writes_behind(&self) -> bool {
        self.origins
            .iter()
            .chain(self.tenants.iter().flat_map(|t| &t.origins))
            .any(|o| o.write == crate::origin::WriteMode::Behind)
    }

    /// [`Config`] as one tenant sees it.
    pub fn for_tenant(&self, tenant: &TenantConfig) -> Config {
        let mut config = self.clone();
        config.tenants.clear();
        config.plugins = Some(tenant.plugins.clone());
        config.origins = tenant.origins.clone();
        // With several tenants, none may keep more than half the cores busy
        // with plugin calls: a neighbour's CPU bomb then leaves the others
        // at least half the machine.
        if config.plugin.tenant_workers == 0 {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            config.plugin.tenant_workers = (cores / 2).max(1);
        }
        if let Some(bytes) = tenant.max_value_bytes {
            config.max_value_bytes = bytes;
        }
        // A value larger than the whole byte quota could never be kept.
        if tenant.max_bytes > 0 {
            let cap = usize::try_from(tenant.max_bytes).unwrap_or(usize::MAX);
            config.max_value_bytes = config.max_value_bytes.min(cap);
        }
        if let Some(bytes) = tenant.memory_bytes {
            config.plugin.memory_bytes = bytes;
        }
        if let Some(ms) = tenant.call_timeout_ms {
            config.plugin.call_timeout_ms = ms;
        }
        config
    }

    /// The artifact cache directory, if enabled.
    pub fn artifact_dir(&self) -> Option<PathBuf> {
        match &self.artifact_cache {
            Some(path) if path.as_os_str() == "off" => None,
            Some(path) => Some(path.clone()),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|base| base.join("hoard")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let config: Config =
            toml::from_str("port = 7000\n[plugin]\ncall_timeout_ms = 5\n").unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.plugin.call_timeout_ms, 5);
        assert_eq!(
            config.plugin.memory_bytes,
            PluginLimits::default().memory_bytes
        );
        assert_eq!(config.max_clients, 10_000);
    }

    #[test]
    fn tenants_inherit_and_override_limits() {
        let config: Config = toml::from_str(
            "[plugin]\nmemory_bytes = 1000\n[[tenants]]\nname = \"a\"\npassword_hash = \"x\"\nplugins = \"/p\"\ncall_timeout_ms = 7\n",
        )
        .unwrap();
        let tenant = config.for_tenant(&config.tenants[0]);
        assert_eq!(tenant.plugin.memory_bytes, 1000);
        assert_eq!(tenant.plugin.call_timeout_ms, 7);
        assert_eq!(tenant.plugins.as_deref(), Some(std::path::Path::new("/p")));
        assert!(tenant.tenants.is_empty());
    }

    #[test]
    fn credentials_come_from_either_key_in_either_form() {
        let legacy = "a3ee786b5707c27d42570785081ec17f5c7db9262a01366af362a1aa61a420b9";
        let phc = crate::credential::hash_password(b"let-me-in").unwrap();
        for text in [
            format!("[admin]\npassword_hash = \"{phc}\"\n"),
            format!("[admin]\npassword_sha256 = \"{legacy}\"\n"),
            format!("[admin]\npassword_sha256 = \"{phc}\"\n"),
        ] {
            let config: Config = toml::from_str(&text).unwrap();
            let credential = config.admin.credential().unwrap().unwrap();
            assert!(credential.verify(b"let-me-in"), "{text}");
            assert!(!credential.verify(b"let-me-out"), "{text}");
        }
        let none: Config = toml::from_str("").unwrap();
        assert!(none.admin.credential().unwrap().is_none());
    }

    #[test]
    fn bad_or_missing_credentials_are_errors_at_start_up() {
        let both: Config =
            toml::from_str("[admin]\npassword_hash = \"$argon2id$x\"\npassword_sha256 = \"ab\"\n")
                .unwrap();
        let err = both.admin.credential().unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");
        let bad: Config = toml::from_str("[admin]\npassword_hash = \"hunter2\"\n").unwrap();
        let err = format!("{:#}", bad.admin.credential().unwrap_err());
        assert!(err.contains("not a password hash"), "{err}");
        let bare: Config = toml::from_str("[[tenants]]\nname = \"a\"\nplugins = \"/p\"\n").unwrap();
        let err = bare.tenants[0].credential().unwrap_err().to_string();
        assert!(err.contains("hoard passwd"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("prot = 7000\n").is_err());
        assert!(toml::from_str::<Config>("[plugin]\nmemory = 1\n").is_err());
    }
}
