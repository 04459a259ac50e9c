//! The set of loaded definitions: each one's plugin, its L1 table and its key
//! memo, looked up by the cache's short name.
//!
//! A `Catalog` is immutable once built; the cache holds it behind an atomic
//! snapshot so that a reload can swap in a new one while requests in flight
//! finish on the old one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::cache::budget::CallBudget;
use crate::cache::error::CacheError;
use crate::definition::{Definition, DefinitionCaps};
use crate::plugin::{LoadError, LoadedPlugin, PluginRuntime};
use hoard_l1::{Clock, Policy, SetCondition, Table, TableConfig};

/// Keys remembered per pure-key definition.
const KEY_MEMO_ITEMS: u64 = 65_536;

/// One definition, live: plugin, entries and counters.
pub struct DefinedCache {
    plugin: LoadedPlugin,
    table: Arc<Table>,
    key_memo: Option<Table>,
    rejects: AtomicU64,
    budget: CallBudget,
    inline: AtomicBool,
}

impl DefinedCache {
    /// Wraps a loaded plugin with a fresh, empty table sized by its definition.
    pub fn new(plugin: LoadedPlugin, clock: Arc<dyn Clock>) -> Self {
        let table = Arc::new(Table::new(
            table_config(plugin.definition()),
            Arc::clone(&clock),
        ));
        Self::with_table(plugin, table, clock)
    }

    /// Wraps a loaded plugin around an existing table, so a reload keeps the
    /// entries (the caller checks the versions allow it). The key memo always
    /// starts empty: a new plugin's keys are asked for afresh.
    pub fn with_table(plugin: LoadedPlugin, table: Arc<Table>, clock: Arc<dyn Clock>) -> Self {
        let definition = plugin.definition();
        let key_memo = definition.pure_keys.then(|| {
            Table::new(
                TableConfig {
                    max_items: KEY_MEMO_ITEMS,
                    policy: Policy::Lfu,
                    expiry: hoard_l1::ExpiryMode::Absolute,
                    shards: 0,
                    index_keys: false,
                },
                clock,
            )
        });
        let limits = plugin.limits();
        let budget = CallBudget::new(limits.definition_workers(), limits.definition_queue);
        let inline = AtomicBool::new(plugin.inline_ticks().is_some());
        Self {
            inline,
            plugin,
            table,
            key_memo,
            rejects: AtomicU64::new(0),
            budget,
        }
    }

    /// The rules this cache runs by.
    pub fn definition(&self) -> &Definition {
        self.plugin.definition()
    }

    /// The plugin behind it.
    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    /// Its entries.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Its entries, shared (for a reload that keeps them).
    pub fn shared_table(&self) -> Arc<Table> {
        Arc::clone(&self.table)
    }

    /// Values refused so far (by the plugin or by allow-null).
    pub fn rejects(&self) -> u64 {
        self.rejects.load(Ordering::Relaxed)
    }

    pub(crate) fn count_reject(&self) {
        self.rejects.fetch_add(1, Ordering::Relaxed);
    }

    /// The epoch budget for running this definition's calls inline on an
    /// async worker, while they have shown they fit in it.
    pub(crate) fn inline_ticks(&self) -> Option<u64> {
        if self.inline.load(Ordering::Relaxed) {
            self.plugin.inline_ticks()
        } else {
            None
        }
    }

    /// Sends this definition's calls to plugin threads from now on (until
    /// it is reloaded): one of them outgrew the inline budget or needed a
    /// thread that may block (a WASI stream).
    pub(crate) fn stop_inline(&self, why: &str) {
        if self.inline.swap(false, Ordering::Relaxed) {
            tracing::info!(cache = %self.definition().name, why, "plugin calls move to plugin threads");
        }
    }

    /// Running and waiting plugin calls of this definition.
    pub(crate) fn budget(&self) -> &CallBudget {
        &self.budget
    }

    /// The key for `parts`: from the memo when the definition declared pure
    /// keys and the parts were seen before, else from the plugin. Calls the
    /// plugin on this thread (benchmarks, tools); the server goes through
    /// `Cache`, which runs the plugin on a plugin thread.
    pub fn key(&self, parts: &[String]) -> Result<String, CacheError> {
        match self.memoized_key(parts) {
            Some(key) => Ok(key),
            None => self.generate_key(parts),
        }
    }

    /// Asks the plugin for the key of `parts` (no memo lookup: the caller
    /// made it) and remembers it when keys are pure. Blocks for up to the
    /// call deadline.
    pub(crate) fn generate_key(&self, parts: &[String]) -> Result<String, CacheError> {
        let key = self
            .plugin
            .generate_key(parts)
            .map_err(|error| self.plugin_error(error))??;
        if let Some(memo) = &self.key_memo {
            memo.insert(&memo_key(parts), key.as_bytes(), None, SetCondition::Always);
        }
        Ok(key)
    }

    /// A plugin failure of this cache, as the cache reports it.
    pub(crate) fn plugin_error(&self, error: crate::plugin::PluginError) -> CacheError {
        CacheError::Plugin {
            cache: self.definition().name.clone(),
            error,
        }
    }

    /// The key for `parts` if it can be had without calling the plugin
    /// (pure keys, seen before). Lets callers skip moving work off the async
    /// threads when no plugin call is needed.
    pub fn memoized_key(&self, parts: &[String]) -> Option<String> {
        self.key_memo.as_ref()?.get_with(&memo_key(parts), |k| {
            String::from_utf8_lossy(k).into_owned()
        })
    }
}

/// The L1 table settings a definition asks for.
pub fn table_config(definition: &Definition) -> TableConfig {
    TableConfig {
        max_items: definition.max_items,
        policy: definition.eviction,
        expiry: definition.expiry,
        shards: 0,
        index_keys: true,
    }
}

/// Length-prefixes every part so that `["a:b"]` and `["a", "b"]` never collide.
fn memo_key(parts: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// All loaded definitions, by short name. Cloning copies only pointers.
#[derive(Default, Clone)]
pub struct Catalog {
    by_name: BTreeMap<String, Arc<DefinedCache>>,
}

impl Catalog {
    /// Adds a cache; names must be unique.
    pub fn insert(&mut self, cache: DefinedCache) -> Result<(), LoadError> {
        let name = cache.definition().name.clone();
        if self.by_name.contains_key(&name) {
            return Err(LoadError::DuplicateName(name));
        }
        self.by_name.insert(name, Arc::new(cache));
        Ok(())
    }

    /// Adds or replaces the cache with the same name (a reload).
    pub fn upsert(&mut self, cache: DefinedCache) {
        self.by_name
            .insert(cache.definition().name.clone(), Arc::new(cache));
    }

    /// Removes a cache; returns it if it was there.
    pub fn remove(&mut self, name: &str) -> Option<Arc<DefinedCache>> {
        self.by_name.remove(name)
    }

    /// The cache with this short name.
    pub fn get(&self, name: &str) -> Option<&Arc<DefinedCache>> {
        self.by_name.get(name)
    }

    /// Every cache, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<DefinedCache>> {
        self.by_name.values()
    }

    /// How many caches.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// A plugin to load: a label for messages and its bytes.
pub struct PluginSource {
    /// File name or `bundled:<name>`.
    pub label: String,
    /// The component.
    pub bytes: Cow<'static, [u8]>,
}

/// Reads every `*.wasm` file of a directory, in name order.
pub fn sources_from_dir(dir: &Path) -> std::io::Result<Vec<PluginSource>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            Ok(PluginSource {
                label: path.display().to_string(),
                bytes: Cow::Owned(std::fs::read(&path)?),
            })
        })
        .collect()
}

/// Loads every source; a plugin that fails is left out and reported, so one
/// broken file never keeps the others from serving.
pub fn load_all(
    runtime: &Arc<PluginRuntime>,
    sources: &[PluginSource],
    cache_dir: Option<&Path>,
    caps: &DefinitionCaps,
    clock: &Arc<dyn Clock>,
) -> (Catalog, Vec<(String, LoadError)>) {
    let mut catalog = Catalog::default();
    let mut refused = Vec::new();
    for source in sources {
        let loaded = LoadedPlugin::load(runtime, &source.bytes, &source.label, cache_dir, caps)
            .and_then(|plugin| catalog.insert(DefinedCache::new(plugin, Arc::clone(clock))));
        match loaded {
            Ok(()) => {}
            Err(error) => refused.push((source.label.clone(), error)),
        }
    }
    (catalog, refused)
}
