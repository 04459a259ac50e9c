//! The plugin lifecycle after start-up: load a new plugin, reload one from
//! its file, unload one, list them. This is hot reload: nothing restarts.
//!
//! A new version is loaded and checked (compile or cached artifact, import
//! allowlist, world, `describe()`, descriptor caps) by the caller's thread,
//! off the request path, and only then swapped in: a new catalog snapshot
//! replaces the old one atomically. Requests already running finish on the
//! old snapshot; new ones see the new one. A version that fails any check is
//! refused with its error and the old version keeps serving.
//!
//! Data across versions: when the definition's id and major version are
//! unchanged, the entries stay (the same table is shared, or copied into a
//! table with the new size/policy when those changed). A new major version
//! (or another id under the same name) means a new key or value schema: the
//! cache starts empty.
//!
//! Files: a plugin file is opened once, checked on the open descriptor and
//! compiled from the bytes read from it (`plugin/file.rs`). A file directly in
//! the plugin directory is always confined to it (symlinks followed only to
//! files inside it); with `strict` (every tenant of a multi-tenant server),
//! nothing outside the directory is read at all.
//!
//! Names: a cache name belongs to the definition id that holds it. A plugin
//! with another id that declares a loaded name is refused, from the watcher,
//! `PLUGIN.LOAD` and `PLUGIN.RELOAD` alike, unless an administrator asks for
//! the replacement (`PLUGIN.LOAD <path> REPLACE`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::cache::Cache;
use crate::cache::catalog::{DefinedCache, table_config};
use crate::definition::DefinitionCaps;
use crate::plugin::file::read_plugin;
use crate::plugin::{LoadError, LoadedPlugin, PluginRuntime};
use hoard_l1::{Clock, Glob, SetCondition, Table, Ttl};

/// Why a lifecycle operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The new plugin was refused; the old version (if any) keeps serving.
    #[error("{source_label}: {error}")]
    Refused {
        /// File it came from.
        source_label: String,
        /// Why.
        error: LoadError,
    },
    /// No cache has this name.
    #[error("no cache named {0:?}")]
    NoCache(String),
    /// The path is not a file of the tenant's plugin directory.
    #[error("{0} is not in this tenant's plugin directory")]
    Outside(String),
    /// The cache was bundled into the binary and has no file to reload from.
    #[error("{0} is bundled in the binary; load a file with PLUGIN.LOAD to replace it")]
    Bundled(String),
}

/// What happened to the entries of a reloaded cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntriesKept {
    /// A cache that did not exist before.
    New,
    /// Same id and major version: the entries stayed where they were.
    Kept(u64),
    /// Same id and major version, new size or policy: entries copied over.
    Copied(u64),
    /// New major version or id: the old entries were dropped.
    Dropped(u64),
}

/// The outcome of a successful load or reload.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The cache's short name.
    pub name: String,
    /// The versioned id now serving.
    pub versioned_id: String,
    /// The versioned id it replaced, if any.
    pub replaced: Option<String>,
    /// What happened to the entries.
    pub entries: EntriesKept,
}

/// Loads, reloads and unloads plugins of a running cache.
pub struct Lifecycle {
    cache: Cache,
    runtime: Arc<PluginRuntime>,
    artifact_dir: Option<std::path::PathBuf>,
    caps: DefinitionCaps,
    clock: Arc<dyn Clock>,
    /// The plugin directory (canonical); its files are always read confined to it.
    plugins_dir: Option<PathBuf>,
    /// Read nothing outside `plugins_dir` (a tenant of a multi-tenant server).
    strict: bool,
    /// One swap at a time: each swap reads the catalog and writes a new one.
    swap: Mutex<()>,
    /// Recent loads and refusals, for the admin page and metrics.
    reloads: crate::observe::ReloadLog,
}

impl Lifecycle {
    /// A lifecycle for `cache`, loading with the same runtime and settings as start-up.
    pub fn new(
        cache: Cache,
        runtime: Arc<PluginRuntime>,
        artifact_dir: Option<std::path::PathBuf>,
        caps: DefinitionCaps,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            cache,
            runtime,
            artifact_dir,
            caps,
            clock,
            plugins_dir: None,
            strict: false,
            swap: Mutex::new(()),
            reloads: crate::observe::ReloadLog::default(),
        }
    }

    /// Recent loads and reloads (refused ones with their reason) and totals.
    pub fn reloads(&self) -> &crate::observe::ReloadLog {
        &self.reloads
    }

    /// Confines reads to `dir` (canonical): its files always, every path when `strict`.
    pub fn confined_to(mut self, dir: Option<PathBuf>, strict: bool) -> Self {
        self.plugins_dir = dir;
        self.strict = strict;
        self
    }

    /// Loads the plugin at `path`, adding its cache or reloading the one with
    /// the same name and id. Blocks while compiling: call it off the async threads.
    pub fn load_file(&self, path: &Path) -> Result<Installed, LifecycleError> {
        self.load(path, false)
    }

    /// Like [`Lifecycle::load_file`]; with `replace`, the plugin may also take
    /// a name held by another definition id (an administrator's explicit request).
    pub fn load(&self, path: &Path, replace: bool) -> Result<Installed, LifecycleError> {
        let result = self.load_unrecorded(path, replace);
        let source = path.display().to_string();
        match &result {
            Ok(installed) => self.reloads.installed(&source, &installed.versioned_id),
            Err(LifecycleError::Refused { error, .. }) => {
                self.reloads.refused(&source, &error.to_string());
            }
            Err(_) => {}
        }
        result
    }

    fn load_unrecorded(&self, path: &Path, replace: bool) -> Result<Installed, LifecycleError> {
        let dir = match (&self.plugins_dir, self.strict) {
            (Some(dir), true) => Some(dir.as_path()),
            (Some(dir), false) if crate::plugin::file::is_directly_inside(path, dir) => {
                Some(dir.as_path())
            }
            (None, true) => return Err(LifecycleError::Outside(path.display().to_string())),
            _ => None,
        };
        let file = read_plugin(path, dir).map_err(|error| LifecycleError::Refused {
            source_label: path.display().to_string(),
            error,
        })?;
        let label = file.label;
        let refused = |error| LifecycleError::Refused {
            source_label: label.clone(),
            error,
        };
        let plugin = LoadedPlugin::load(
            &self.runtime,
            &file.bytes,
            &label,
            self.artifact_dir.as_deref(),
            &self.caps,
        )
        .map_err(refused)?;
        self.install(plugin, replace).map_err(refused)
    }

    /// Reloads the cache `name` from the file it was loaded from.
    pub fn reload(&self, name: &str) -> Result<Installed, LifecycleError> {
        let catalog = self.cache.catalog();
        let current = catalog
            .get(name)
            .ok_or_else(|| LifecycleError::NoCache(name.to_owned()))?;
        let source = current.plugin().origin().source.clone();
        if source.starts_with("bundled:") {
            return Err(LifecycleError::Bundled(name.to_owned()));
        }
        drop(catalog);
        self.load_file(Path::new(&source))
    }

    /// Removes the cache `name` and its entries.
    pub fn unload(&self, name: &str) -> Result<(), LifecycleError> {
        let _swap = self.swap.lock();
        let mut next = (*self.cache.catalog()).clone();
        next.remove(name)
            .ok_or_else(|| LifecycleError::NoCache(name.to_owned()))?;
        self.cache.swap_catalog(next);
        tracing::info!(cache = name, "unloaded");
        Ok(())
    }

    /// Removes whichever cache was loaded from `path` (its file was deleted).
    pub fn unload_source(&self, path: &Path) -> Option<String> {
        let label = path.display().to_string();
        let name = self
            .cache
            .catalog()
            .iter()
            .find(|c| c.plugin().origin().source == label)
            .map(|c| c.definition().name.clone())?;
        self.unload(&name).ok().map(|()| name)
    }

    fn install(&self, plugin: LoadedPlugin, replace: bool) -> Result<Installed, LoadError> {
        let _swap = self.swap.lock();
        let current = self.cache.catalog();
        let name = plugin.definition().name.clone();
        let versioned_id = plugin.definition().versioned_id();
        let old = current.get(&name).cloned();
        if let Some(old) = &old
            && old.definition().id != plugin.definition().id
            && !replace
        {
            return Err(LoadError::NameTaken {
                name,
                holder: format!(
                    "id {:?} (loaded from {})",
                    old.definition().id,
                    old.plugin().origin().source
                ),
                claimant: format!(
                    "{} declares id {:?}",
                    plugin.origin().source,
                    plugin.definition().id
                ),
            });
        }
        let (cache, entries) = match &old {
            Some(old)
                if old.definition().id == plugin.definition().id
                    && old.definition().version.major == plugin.definition().version.major =>
            {
                let wanted = table_config(plugin.definition());
                // The table reports the shard count it resolved; compare what the definition sets.
                let have = old.table().config();
                if (have.max_items, have.policy, have.expiry)
                    == (wanted.max_items, wanted.policy, wanted.expiry)
                {
                    let kept = old.table().len();
                    let table = old.shared_table();
                    (
                        DefinedCache::with_table(plugin, table),
                        EntriesKept::Kept(kept),
                    )
                } else {
                    let table = Arc::new(Table::new(wanted, Arc::clone(&self.clock)));
                    let copied = copy_entries(old.table(), &table);
                    (
                        DefinedCache::with_table(plugin, table),
                        EntriesKept::Copied(copied),
                    )
                }
            }
            Some(old) => (
                DefinedCache::new(plugin, Arc::clone(&self.clock)),
                EntriesKept::Dropped(old.table().len()),
            ),
            None => (
                DefinedCache::new(plugin, Arc::clone(&self.clock)),
                EntriesKept::New,
            ),
        };
        let mut next = (*current).clone();
        next.upsert(cache);
        self.cache.swap_catalog(next);
        let replaced = old.map(|o| o.definition().versioned_id());
        tracing::info!(cache = %name, id = %versioned_id, replaced = ?replaced, entries = ?entries, "plugin installed");
        Ok(Installed {
            name,
            versioned_id,
            replaced,
            entries,
        })
    }
}

/// Copies every live entry, with its remaining TTL, into `to`.
fn copy_entries(from: &Table, to: &Table) -> u64 {
    let mut copied = 0;
    for key in from.keys_matching(&Glob::new(b"*")) {
        let ttl = match from.ttl(&key) {
            Ttl::Missing => continue,
            Ttl::Persistent => None,
            Ttl::RemainingMs(ms) => Some(ms.max(1)),
        };
        if let Some(value) = from.get_with(&key, <[u8]>::to_vec) {
            to.insert(&key, &value, ttl, SetCondition::Always);
            copied += 1;
        }
    }
    copied
}
