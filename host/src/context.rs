//! The data of the `Store` an action runs in: WASI, `wasi:http` with the outbound
//! policy, the platform capabilities and the memory cap. A fresh one is made for
//! every action, so nothing leaks from one action to the next.

use crate::platform::config::{ConfigCtx, ConfigView};
use crate::platform::ingest::{IngestCtx, IngestView};
use crate::platform::log::{LogCtx, LogView};
use crate::platform::state::{StateCtx, StateCtxView, StateView, WriteBarrier};
use crate::platform::vault::{VaultCtx, VaultCtxView, VaultView};
use crate::sandbox::MemoryCap;
use crate::sandbox::outbound::OutboundHooks;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How much of the guest's stderr (panic messages) is kept for error reports.
const STDERR_CAPACITY: usize = 64 * 1024;

/// Everything one action can reach.
pub struct ActionContext {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    pub(crate) hooks: OutboundHooks,
    config: ConfigCtx,
    state: StateCtx,
    vault: VaultCtx,
    ingest: IngestCtx,
    log: LogCtx,
    pub(crate) memory: MemoryCap,
    pub(crate) stderr: MemoryOutputPipe,
}

/// The capabilities an action is given.
pub struct Capabilities {
    pub hooks: OutboundHooks,
    pub config: ConfigCtx,
    pub state: StateCtx,
    pub vault: VaultCtx,
    pub ingest: IngestCtx,
    pub log: LogCtx,
}

impl ActionContext {
    /// A context with `capabilities`, memory capped at `memory_limit` bytes, and
    /// WASI without filesystem, sockets, environment or arguments.
    pub fn new(capabilities: Capabilities, memory_limit: usize) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let Capabilities { hooks, config, state, vault, ingest, log } = capabilities;
        Self {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks,
            config,
            state,
            vault,
            ingest,
            log,
            memory: MemoryCap::new(memory_limit),
            stderr,
        }
    }

    /// Commits the action's pending ingest saves.
    pub fn commit_ingest(&mut self) -> Result<(), String> {
        self.ingest.commit()
    }

    /// The vault ids, hashes and paths the host produced during the action.
    pub fn produced(&self) -> &[String] {
        self.vault.produced()
    }

    /// What the guest wrote to stderr (a panic message, say), lossily decoded.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).trim().to_string()
    }
}

impl WasiView for ActionContext {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for ActionContext {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

impl ConfigView for ActionContext {
    fn config(&mut self) -> &mut ConfigCtx {
        &mut self.config
    }
}

/// The ordering of state and ingest: containers an action saved are made
/// durable before its state changes, so a checkpoint never gets ahead of them.
impl WriteBarrier for IngestCtx {
    fn make_durable(&mut self) -> Result<(), String> {
        self.commit()
    }
}

impl StateView for ActionContext {
    fn state(&mut self) -> StateCtxView<'_> {
        StateCtxView { ctx: &mut self.state, before_write: &mut self.ingest }
    }
}

impl VaultView for ActionContext {
    fn vault(&mut self) -> VaultCtxView<'_> {
        VaultCtxView { ctx: &mut self.vault, table: &mut self.table }
    }
}

impl IngestView for ActionContext {
    fn ingest(&mut self) -> &mut IngestCtx {
        &mut self.ingest
    }
}

impl LogView for ActionContext {
    fn log(&mut self) -> &mut LogCtx {
        &mut self.log
    }
}

impl Capabilities {
    /// Capabilities that refuse everything: for calling `describe`, which needs
    /// none.
    pub fn inert(connector: &str) -> Self {
        let nothing = crate::asset::Asset::from_values("none", Default::default(), &[]);
        let redactor = std::sync::Arc::new(crate::redact::Redactor::default());
        Self {
            hooks: OutboundHooks::deny_all(redactor.clone()),
            config: ConfigCtx::new(std::sync::Arc::new(nothing)),
            state: StateCtx::none(),
            vault: VaultCtx::none(),
            ingest: IngestCtx::default(),
            log: LogCtx::new(connector, None, redactor),
        }
    }
}
