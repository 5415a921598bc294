//! The data of the `Store` an action runs in: WASI, `wasi:http` with the outbound
//! policy, the platform capabilities and the memory cap. A fresh one is made for
//! every action, so nothing leaks from one action to the next; its capabilities
//! are assembled in one place, [`CapabilitiesBuilder`].

use crate::asset::Asset;
use crate::platform::config::{ConfigCtx, ConfigView};
use crate::platform::ingest::{IngestCtx, IngestView, OnSaved};
use crate::platform::log::{LogCtx, LogView, OnProgress};
use crate::platform::state::{StateCtx, StateCtxView, StateView, WriteBarrier};
use crate::platform::vault::{Progress, VaultCtx, VaultCtxView, VaultView};
use crate::redact::Redactor;
use crate::sandbox::MemoryCap;
use crate::sandbox::outbound::{OutboundHooks, OutboundPolicy};
use crate::storage::Stores;
use crate::storage::state::StateStore;
use crate::storage::vault::VaultStore;
use std::sync::Arc;
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

/// The capabilities an action is given, made by [`CapabilitiesBuilder`].
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
    /// Starts the capabilities of an action of `connector` for `asset`, whose
    /// secrets `redactor` masks: its configuration values and its log, and
    /// nothing else until granted.
    pub fn builder(connector: &str, asset: Arc<Asset>, redactor: Arc<Redactor>) -> CapabilitiesBuilder {
        CapabilitiesBuilder {
            connector: connector.to_string(),
            asset,
            redactor,
            outbound: None,
            stores: None,
            user: String::new(),
            container: None,
            max_download: 0,
            progress: None,
            download_progress: None,
            ingest_progress: None,
        }
    }

    /// Capabilities that refuse everything: for calling `describe`, which needs
    /// none.
    pub fn inert(connector: &str) -> Self {
        let nothing = Asset::from_values("none", Default::default(), &[]);
        Self::builder(connector, Arc::new(nothing), Arc::default()).build()
    }
}

/// Assembles an action's capabilities. Whatever is not granted is refused: no
/// outbound policy is no network, no stores is no state, vault or containers.
pub struct CapabilitiesBuilder {
    connector: String,
    asset: Arc<Asset>,
    redactor: Arc<Redactor>,
    outbound: Option<Arc<OutboundPolicy>>,
    stores: Option<Opened>,
    user: String,
    container: Option<(u64, String)>,
    max_download: u64,
    progress: Option<OnProgress>,
    download_progress: Option<Progress>,
    ingest_progress: Option<OnSaved>,
}

/// The stores opened for the action (the container store is opened only when
/// the action first saves a container).
struct Opened {
    stores: Arc<dyn Stores>,
    state: Box<dyn StateStore>,
    vault: Arc<dyn VaultStore>,
}

impl CapabilitiesBuilder {
    /// Requests to what `policy` allows; `None` is no network at all.
    pub fn outbound(mut self, policy: Option<Arc<OutboundPolicy>>) -> Self {
        self.outbound = policy;
        self
    }

    /// The asset's state, the vault and the container store, from `stores`.
    /// Fails if the asset's state cannot be opened (`InvalidInput`: the
    /// connector or asset name is not valid) or the vault cannot.
    pub fn stores(mut self, stores: Arc<dyn Stores>) -> std::io::Result<Self> {
        let state = stores.state(&self.connector, self.asset.name())?;
        let vault = stores.vault()?;
        self.stores = Some(Opened { stores, state, vault });
        Ok(self)
    }

    /// Files are added to the vault by `user`, for `container` (id and name) if
    /// the action runs for one.
    pub fn on_behalf_of(mut self, user: String, container: Option<(u64, String)>) -> Self {
        self.user = user;
        self.container = container;
        self
    }

    /// The largest file one download may add to the vault, in bytes.
    pub fn max_download(mut self, bytes: u64) -> Self {
        self.max_download = bytes;
        self
    }

    /// Who hears of the action's progress: its messages, its downloads (bytes
    /// so far, expected total) and its saved containers (the count so far).
    pub fn progress(
        mut self,
        messages: Option<OnProgress>,
        downloads: Option<Progress>,
        containers: Option<OnSaved>,
    ) -> Self {
        self.progress = messages;
        self.download_progress = downloads;
        self.ingest_progress = containers;
        self
    }

    /// The capabilities.
    pub fn build(self) -> Capabilities {
        let hooks = match self.outbound {
            Some(policy) => OutboundHooks::new(policy, self.redactor.clone()),
            None => OutboundHooks::deny_all(self.redactor.clone()),
        };
        let (state, vault, ingest) = match self.stores {
            Some(Opened { stores, state, vault }) => (
                StateCtx::new(state),
                VaultCtx::new(vault, self.user, self.container, self.download_progress, self.max_download),
                IngestCtx::new(stores, &self.connector, self.asset.name(), self.ingest_progress),
            ),
            None => (StateCtx::none(), VaultCtx::none(), IngestCtx::default()),
        };
        Capabilities {
            hooks,
            config: ConfigCtx::new(self.asset),
            state,
            vault,
            ingest,
            log: LogCtx::new(&self.connector, self.progress, self.redactor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::soar::connector::config::Host as _;
    use crate::bindings::soar::connector::ingest::{Container, Host as _, IngestError};
    use crate::bindings::soar::connector::state::{Host as _, StateError};
    use crate::bindings::soar::connector::vault::{Host as _, VaultError};
    use crate::storage::memory::MemoryStores;
    use wasmtime_wasi::p2::pipe::MemoryInputPipe;
    use wasmtime_wasi_io::streams::DynInputStream;

    const MEMORY: usize = 1 << 20;

    fn container(id: &str) -> Container {
        Container {
            name: format!("indicator {id}"),
            description: String::new(),
            source_data_identifier: id.into(),
            label: None,
            severity: None,
            data: None,
        }
    }

    async fn add_to_vault(context: &mut ActionContext, name: &str, contents: &'static [u8]) -> Result<u64, VaultError> {
        let mut view = context.vault();
        let stream: DynInputStream = Box::new(MemoryInputPipe::new(contents));
        let stream = view.table.push(stream).unwrap();
        view.add_stream(name.into(), None, stream, None).await.unwrap().map(|item| item.id)
    }

    #[tokio::test]
    async fn a_connector_describing_itself_is_granted_nothing() {
        let mut context = ActionContext::new(Capabilities::inert("describe"), MEMORY);
        assert_eq!(context.config().get("base_url".into()).unwrap(), None);
        assert!(matches!(context.state().get("token".into()).unwrap(), Err(StateError::Unavailable(_))));
        assert!(matches!(context.state().set("token".into(), "1".into()).unwrap(), Err(StateError::Unavailable(_))));
        assert!(matches!(context.ingest().save_container(container("a")).unwrap(), Err(IngestError::Storage(_))));
        assert!(matches!(add_to_vault(&mut context, "a.txt", b"x").await, Err(VaultError::Storage(_))));
    }

    #[tokio::test]
    async fn an_action_is_served_by_the_stores_it_is_given_and_saves_are_durable_before_its_checkpoint() {
        let stores = MemoryStores::default();
        let values = [("base_url".to_string(), "https://vision.example.com".to_string())].into();
        let asset = Arc::new(Asset::from_values("prod", values, &[]));
        let capabilities = Capabilities::builder("probe", asset, Arc::default())
            .on_behalf_of("analyst".into(), None)
            .max_download(1024)
            .stores(Arc::new(stores.clone()))
            .unwrap()
            .build();
        let mut context = ActionContext::new(capabilities, MEMORY);
        assert_eq!(context.config().get("base_url".into()).unwrap().as_deref(), Some("https://vision.example.com"));

        context.ingest().save_container(container("a")).unwrap().unwrap();
        let elsewhere = stores.containers().unwrap();
        assert!(elsewhere.containers(None, None, None).unwrap().is_empty(), "not durable before the checkpoint");
        context.state().set("checkpoint".into(), "5".into()).unwrap().unwrap();
        let saved = elsewhere.containers(Some("probe"), Some("prod"), None).unwrap();
        assert_eq!(saved.len(), 1, "durable before the state changed");
        let state = stores.state("probe", "prod").unwrap();
        assert_eq!(state.get("checkpoint").unwrap(), Some(serde_json::json!(5)));

        let id = add_to_vault(&mut context, "notes.txt", b"observed").await.unwrap();
        let document = &stores.list().unwrap()[0];
        assert_eq!((document.id, document.user.as_str()), (id, "analyst"));
        assert_eq!(stores.contents(&document.vault_id).as_deref(), Some(&b"observed"[..]));
        assert!(context.produced().contains(&document.vault_id), "{:?}", context.produced());
        let too_large = add_to_vault(&mut context, "big.bin", &[0; 1025]).await;
        assert!(matches!(too_large, Err(VaultError::Storage(_))), "{too_large:?}");
    }

    #[test]
    fn an_asset_name_no_store_can_hold_is_refused_before_the_action_runs() {
        let asset = Arc::new(Asset::from_values("../prod", Default::default(), &[]));
        let refused = Capabilities::builder("probe", asset, Arc::default()).stores(Arc::new(MemoryStores::default()));
        assert_eq!(refused.err().map(|err| err.kind()), Some(std::io::ErrorKind::InvalidInput));
    }
}
