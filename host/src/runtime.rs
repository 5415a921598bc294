//! The engine: one `Engine` and `Linker` per process, epoch-based interruption,
//! the pooling allocator, and compiled code cached on disk.

use crate::cache::{CompileCache, Entry};
use crate::context::{ActionContext, Capabilities};
use crate::error::Error;
use crate::sandbox::Limits;
use crate::sandbox::outbound::{ConnectionPool, TlsClients, TlsSettings};
use crate::signing::TrustStore;
use crate::slots::{Queueing, Slot, Slots};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

/// How often the epoch advances: the granularity of the time limit.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How much of each instance's memory is reset in place and kept resident
/// between actions (see `Runtime::new`): a connector action's working set.
const KEEP_RESIDENT: usize = 4 << 20;

/// Which components the runtime loads.
#[derive(Debug, Clone, PartialEq)]
pub enum Trust {
    /// Only components signed by a key of the store (the default).
    Signed(TrustStore),
    /// Any component, signed or not: for developing connectors only.
    AllowUnsigned,
}

/// Which of wasmtime's compilers turns connectors into native code. Each keeps
/// its own compile cache entries (the engine's settings are part of their key),
/// and each keeps every limit of the sandbox.
///
/// Measured on a 2-core machine: compiling cofense takes about 250 ms optimized
/// and 60 ms baseline. A typical action runs as fast either way, because most of
/// its time is the host's and the network's; an action that works through much
/// data in the connector itself is slower baseline (polling 100,000 indicators
/// took 20-30% longer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift, which optimizes: the default, since compiled code is cached and
    /// a connector is then compiled once per machine and version.
    #[default]
    Optimizing,
    /// Winch, which compiles in one pass: for hosts that cannot keep a compile
    /// cache (short-lived workers), which compile a connector on every start.
    Baseline,
}

impl Compiler {
    /// Every compiler, in the order the documentation lists them.
    pub const ALL: [Compiler; 2] = [Compiler::Optimizing, Compiler::Baseline];

    /// The compiler's name, as configuration spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Optimizing => "optimizing",
            Compiler::Baseline => "baseline",
        }
    }

    fn strategy(self) -> wasmtime::Strategy {
        match self {
            Compiler::Optimizing => wasmtime::Strategy::Cranelift,
            Compiler::Baseline => wasmtime::Strategy::Winch,
        }
    }
}

/// A compiler is written in configuration by its name.
impl serde::Serialize for Compiler {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Compiler {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Compiler {
    type Err = String;

    /// A compiler by its name, in any case.
    fn from_str(name: &str) -> Result<Self, String> {
        Compiler::ALL.into_iter().find(|compiler| compiler.name().eq_ignore_ascii_case(name.trim())).ok_or_else(|| {
            let names: Vec<&str> = Compiler::ALL.iter().map(|compiler| compiler.name()).collect();
            format!("'{name}' is not a compiler: use {}", names.join(" or "))
        })
    }
}

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Which components may be loaded.
    pub trust: Trust,
    /// Where compiled components are cached (`None`: compile every time).
    pub cache_dir: Option<PathBuf>,
    /// Limits for every action.
    pub limits: Limits,
    /// How vendors' TLS certificates are checked.
    pub tls: TlsSettings,
    /// With `Some(n)`, memory for `n` concurrent actions is reserved up front
    /// (wasmtime's pooling allocator): each instantiation is then faster, but
    /// setting the pool up and tearing it down costs milliseconds, so a process
    /// that runs one action (the CLI) is faster with `None`.
    ///
    /// With a pool, more actions than it holds wait for a slot ([`Queueing`]).
    pub instance_pool: Option<u32>,
    /// How actions wait for a slot of the pool.
    pub queueing: Queueing,
    /// Which compiler compiles connectors.
    pub compiler: Compiler,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            trust: Trust::Signed(TrustStore::empty()),
            cache_dir: None,
            limits: Limits::default(),
            tls: TlsSettings::default(),
            instance_pool: Some(16),
            queueing: Queueing::default(),
            compiler: Compiler::default(),
        }
    }
}

/// A component's compiled code, the SHA-256 of its file, and its description
/// (JSON of what its `describe` export returned) when the compile cache kept one.
pub(crate) struct Compiled {
    pub component: Component,
    pub sha256: String,
    pub description: Option<String>,
}

/// The engine and linker shared by every plugin and action.
///
/// A `Runtime` is `Send` and `Sync`: make one per process and share it (an
/// `Arc<Runtime>`, or a reference) between every task that runs actions.
/// Actions run concurrently; each gets its own store and instance.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<ActionContext>,
    pub(crate) limits: Limits,
    pub(crate) trust: Trust,
    pub(crate) tls: Arc<TlsClients>,
    /// Idle vendor connections, kept per asset across actions.
    pub(crate) connections: Arc<ConnectionPool>,
    cache: Option<CompileCache>,
    slots: Slots,
    /// Plugins loaded by name, with the identity of the file each came from.
    pub(crate) loaded: std::sync::Mutex<std::collections::HashMap<PathBuf, crate::plugin::Loaded>>,
}

impl Runtime {
    /// Builds the engine and linker, and starts the epoch ticker (which stops when
    /// the runtime is dropped).
    pub fn new(options: RuntimeOptions) -> Result<Self, Error> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Native unwind tables serve only outside stack walkers (debuggers,
        // profilers); wasmtime walks wasm frames itself and catches host panics
        // at the boundary. Without them, loading compiled code registers no
        // frames: a tenth less work per CLI invoke.
        config.native_unwind_info(false);
        config.strategy(options.compiler.strategy());
        let pool = options.instance_pool.map(|instances| instances.max(1));
        if let Some(instances) = pool {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(instances)
                .total_core_instances(instances * 8)
                .total_memories(instances * 4)
                .total_tables(instances * 8)
                .max_memory_size(options.limits.memory)
                // Resetting an instance's memory for the next action: with
                // `madvise` every reset flushes the TLB of every core and the next
                // action faults each page back in; instead the pages the action
                // dirtied (found with the PAGEMAP_SCAN ioctl where the kernel has
                // it) are set back in place, up to this much per memory, and
                // stay resident for the next action.
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(KEEP_RESIDENT / 16)
                .pagemap_scan(wasmtime::Enabled::Auto)
                // What is still decommitted goes in batches: one flush for many.
                .decommit_batch_size(instances.min(64) as usize);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).map_err(Error::engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::engine)?;
        crate::platform::add_to_linker(&mut linker).map_err(Error::engine)?;

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|err| Error::Engine(format!("cannot start the epoch ticker: {err}")))?;

        let cache = options.cache_dir.as_deref().and_then(|dir| match CompileCache::open(dir) {
            Ok(cache) => Some(cache),
            Err(reason) => {
                tracing::warn!(
                    "not using the compile cache {}: {reason}; compiling in memory instead (give --cache-dir a directory only you can write to)",
                    dir.display()
                );
                None
            }
        });
        let tls = Arc::new(TlsClients::new(options.tls));
        let slots = Slots::new(pool.map(|instances| instances as usize), options.queueing);
        Ok(Self {
            engine,
            linker,
            limits: options.limits,
            trust: options.trust,
            tls,
            connections: Arc::default(),
            cache,
            slots,
            loaded: Default::default(),
        })
    }

    /// The limits applied to every action.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A slot to instantiate in (see [`crate::slots`]): hold it as long as the
    /// store.
    pub(crate) async fn slot(&self) -> Result<Slot, Error> {
        self.slots.take().await.map_err(Error::Busy)
    }

    /// A fresh store granting `capabilities`, held to the memory limit and
    /// trapped by the epoch once the time limit has passed.
    pub(crate) fn new_store(&self, capabilities: Capabilities) -> Store<ActionContext> {
        let mut store = Store::new(&self.engine, ActionContext::new(capabilities, self.limits.memory));
        store.limiter(|context| &mut context.memory);
        store.set_epoch_deadline((self.limits.time.as_millis() / EPOCH_TICK.as_millis()) as u64 + 1);
        store.epoch_deadline_trap();
        store
    }

    /// The code compiled earlier for the component of `identity`
    /// ([`crate::signing::identity`]), with the same engine settings, from a
    /// cache this host can trust (see [`crate::cache`]); `None` without a cache
    /// or an entry.
    pub(crate) fn cached(&self, identity: &str) -> Option<Compiled> {
        let cache = self.cache.as_ref()?;
        let key = self.cache_key(identity);
        match cache.open_entry(&key, identity) {
            Ok(Some(Entry { file, component_sha256, description })) => {
                // The open file is mapped through its descriptor, not its name, so
                // what was checked is what is loaded.
                let by_descriptor = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
                // SAFETY: deserializing runs the file as native code. `open_entry`
                // vouches that this open file is the one this host compiled from
                // the component of `identity` after verifying it, in a
                // directory only this user can change (the threat model is in
                // `crate::cache`); wasmtime checks the engine's version and
                // settings again.
                match unsafe { Component::deserialize_file(&self.engine, &by_descriptor) } {
                    Ok(component) => return Some(Compiled { component, sha256: component_sha256, description }),
                    Err(err) => tracing::warn!("ignoring unusable compile cache entry {key}: {err:#}"),
                }
            }
            Ok(None) => {}
            Err(reason) => tracing::warn!(
                "ignoring compile cache entry {key} in {}: {reason}; compiling afresh",
                cache.dir().display()
            ),
        }
        None
    }

    /// Compiles `bytes` (of `identity`, whose signature was verified), or takes
    /// the code compiled earlier for them ([`Runtime::cached`]), and caches what
    /// it compiles.
    pub(crate) fn compile(&self, bytes: &[u8], identity: &str) -> Result<Compiled, Error> {
        if let Some(compiled) = self.cached(identity) {
            return Ok(compiled);
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = Component::new(&self.engine, bytes).map_err(Error::compile)?;
        if let Some(cache) = &self.cache
            && let Err(err) = component
                .serialize()
                .map_err(anyhow::Error::from)
                .and_then(|code| Ok(cache.store(&self.cache_key(identity), identity, &sha256, &code)?))
        {
            tracing::warn!("could not cache compiled code in {}: {err:#}", cache.dir().display());
        }
        Ok(Compiled { component, sha256, description: None })
    }

    /// Records, beside its cached code, the description (JSON) of the component
    /// of `identity`, for the next load to use instead of asking it.
    pub(crate) fn remember_description(&self, identity: &str, description: &str) {
        if let Some(cache) = &self.cache
            && let Err(reason) = cache.describe(&self.cache_key(identity), identity, description)
        {
            tracing::debug!("not keeping the description of {identity} in the compile cache: {reason}");
        }
    }

    fn cache_key(&self, identity: &str) -> String {
        format!("{identity}-{}", self.engine_fingerprint())
    }

    /// A hex digest of the engine's compatibility hash: compiled code is reused
    /// only by an engine with the same version and settings.
    fn engine_fingerprint(&self) -> String {
        struct DigestHasher(Sha256);
        impl Hasher for DigestHasher {
            fn finish(&self) -> u64 {
                0
            }
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
        }
        let mut hasher = DigestHasher(Sha256::new());
        self.engine.precompile_compatibility_hash().hash(&mut hasher);
        hex::encode(&hasher.0.finalize()[..8])
    }
}
