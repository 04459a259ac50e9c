//! The `hoard` binary: configuration, tracing, bind, serve. Nothing else
//! lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hoard::cmd::ServerFacts;
use hoard::config::Config;
use hoard::server::{self, ServerContext};
use tokio::net::TcpListener;

/// jemalloc instead of glibc's malloc: less CPU on the L2 and write-behind
/// paths and fewer bytes per entry, the same on L1 hits (measured A/B in
/// `bench/results/allocator-stop11.txt`; mimalloc was slower on L1 hits).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A cache runtime whose cache definitions are sandboxed WebAssembly components.
#[derive(Parser)]
#[command(name = "hoard", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Redis protocol with the configured definitions.
    Serve(ServeArgs),
    /// Work with plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Hash a password for `password_hash` in the config (argon2id, PHC
    /// string). Reads the password from stdin, or prompts on a terminal.
    Passwd,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Load a plugin the way the server would and report on it; exits
    /// non-zero if the server would refuse it.
    Check {
        /// The component to check.
        file: PathBuf,
        /// Configuration whose [plugin] limits and caps apply.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Conformance suite to run (default: the nearest conformance.toml
        /// at or above the component's directory, if any).
        #[arg(long)]
        suite: Option<PathBuf>,
    },
    /// Scaffold a ready-to-build plugin project.
    New {
        /// Lower-kebab-case name (`user-cache`); the cache is its PascalCase.
        name: String,
        /// Language of the project.
        #[arg(long, default_value = "rust")]
        lang: String,
        /// Where to create it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Build a plugin project into a component; prints its path.
    Build {
        /// The project directory.
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long)]
    bind: Option<std::net::IpAddr>,
    /// Directory of plugin .wasm files (default: the bundled examples).
    #[arg(long)]
    plugins: Option<PathBuf>,
    /// Directory for compiled plugin artifacts ("off" to disable).
    #[arg(long)]
    artifact_cache: Option<PathBuf>,
    /// Serve /metrics and the admin page on 127.0.0.1:PORT (0 picks a free
    /// one and prints it); `[admin] http` sets another address.
    #[arg(long)]
    admin_port: Option<u16>,
    /// Send traces to this OTLP/HTTP endpoint (`http://host:4318/v1/traces`).
    #[arg(long)]
    otlp_endpoint: Option<String>,
    /// Fraction of commands traced (0.0 to 1.0).
    #[arg(long)]
    trace_sample_ratio: Option<f64>,
    /// Threads serving connections (0: one per core).
    #[arg(long)]
    async_workers: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Passwd => {
            let password = read_password()?;
            println!("{}", hoard::credential::hash_password(password.as_bytes())?);
            Ok(())
        }
        Command::Plugin(PluginCommand::Check {
            file,
            config,
            suite,
        }) => {
            let config = match &config {
                Some(path) => Config::from_file(path)?,
                None => Config::default(),
            };
            print!(
                "{}",
                hoard::tooling::check::check(&file, &config, suite.as_deref())?
            );
            Ok(())
        }
        Command::Plugin(PluginCommand::New { name, lang, dir }) => {
            let root = hoard::tooling::scaffold::new_plugin(&name, &lang, &dir)?;
            println!("created {}", root.display());
            Ok(())
        }
        Command::Plugin(PluginCommand::Build { dir }) => {
            println!(
                "{}",
                hoard::tooling::plugin_build::build_plugin(&dir)?.display()
            );
            Ok(())
        }
    }
}

/// The password for `hoard passwd`: typed twice without echo on a
/// terminal, else all of stdin minus one trailing newline (so both
/// `echo pw | hoard passwd` and `printf %s pw | hoard passwd` hash `pw`).
fn read_password() -> anyhow::Result<String> {
    use std::io::{IsTerminal, Read};
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let again = rpassword::prompt_password("Again: ").context("reading the password")?;
        if first != again {
            anyhow::bail!("the passwords differ");
        }
        first
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the password from stdin (it must be UTF-8)")?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        text
    };
    if password.is_empty() {
        anyhow::bail!("the password is empty");
    }
    Ok(password)
}

/// Most async worker threads a configuration may ask for: more than any
/// machine has cores, few enough that a typo cannot spawn thousands.
const MAX_ASYNC_WORKERS: usize = 1024;

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if let Some(workers) = args.async_workers {
        config.async_workers = workers;
    }
    if config.async_workers > MAX_ASYNC_WORKERS {
        anyhow::bail!(
            "async_workers = {} is more than {MAX_ASYNC_WORKERS}; 0 means one per core",
            config.async_workers
        );
    }
    if let Some(plugins) = args.plugins {
        config.plugins = Some(plugins);
    }
    if let Some(dir) = args.artifact_cache {
        config.artifact_cache = Some(dir);
    }
    if let Some(port) = args.admin_port {
        config.admin.http = Some(SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), port));
    }
    if let Some(endpoint) = args.otlp_endpoint {
        config.tracing.otlp_endpoint = Some(endpoint);
    }
    if let Some(ratio) = args.trace_sample_ratio {
        config.tracing.sample_ratio = ratio;
    }

    let started = Instant::now();
    let admin_credential = config.admin.credential()?.map(Arc::new);
    let l2 = hoard::startup::build_l2(&config)?;
    let write_behind = hoard::startup::build_write_behind(&config, config.port)?;
    let tenants = hoard::startup::build_tenants_on(&config, l2.as_ref(), write_behind.as_ref())?;
    // Kept alive for the life of the server: dropping them stops the watching.
    let mut watchers = Vec::new();
    if config.watch_plugins {
        for tenant in tenants.all() {
            if let Some(dir) = &tenant.plugins_dir {
                watchers.push(hoard::reload::watcher::watch(
                    dir,
                    Arc::clone(&tenant.lifecycle),
                )?);
            }
        }
    }
    let all_tenants = tenants.all();
    let observe_setup = hoard::observe::Setup {
        tenants: all_tenants.clone(),
        multi_tenant: matches!(tenants, hoard::tenant::Tenants::Many(_)),
        admin_credential: admin_credential.clone(),
        started,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if config.async_workers > 0 {
        builder.worker_threads(config.async_workers);
    }
    let runtime = builder
        .enable_all()
        .thread_name("hoard-worker")
        // Plugin calls run on each tenant's plugin threads (see
        // `plugin/workers.rs`); the blocking pool only runs PLUGIN.LOAD's
        // compilations and file reads, so a few threads are plenty.
        .max_blocking_threads(4)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr().context("reading the bound address")?;
        let observer = hoard::observe::start(&config, observe_setup).await?;
        if let Some(admin) = observer.admin_addr {
            // Printed before the line below, which tests wait for.
            println!("hoard admin listening on http://{admin}");
        }
        // Tests and scripts read this line to find a port chosen with --port 0.
        println!("hoard listening on {local}");
        tracing::info!(%local, tenants = all_tenants.len(), startup_ms = started.elapsed().as_millis() as u64, "ready");

        if let Some(node) = &l2 {
            node.start();
        }
        if let Some(wb) = &write_behind {
            wb.start();
        }
        let housekeeping = server::housekeeping::start(
            all_tenants,
            Duration::from_millis(config.expiry.sweep_interval_ms),
            config.expiry.sweep_per_shard,
        )
        .context("starting the housekeeping thread")?;
        let context = ServerContext {
            commands: Arc::new(hoard::cmd::Context {
                tenants,
                facts: ServerFacts {
                    started,
                    port: local.port(),
                },
                admin_credential,
                keyspaces: hoard::cmd::keyspace::Keyspaces::new(config.tracking_table_max_keys),
                counters: Default::default(),
            }),
            limits: config.resp_limits(),
            max_clients: config.max_clients,
        };
        server::run(listener, context, shutdown_signal()).await;
        if let Some(wb) = &write_behind {
            // Connections are drained: no write is in flight. What the origin
            // does not take within the grace period stays on disk.
            wb.shutdown().await;
        }
        drop(housekeeping);
        observer.stop().await;
        tracing::info!("shut down");
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
