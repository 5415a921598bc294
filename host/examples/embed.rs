//! Embedding the host: one runtime shared by concurrent tasks, a connector
//! loaded by name, actions invoked by name with text parameters.
//!
//! ```text
//! embed PLUGIN_DIR TRUSTED_KEYS ASSET_FILE DATA_DIR CONNECTOR ACTION [NAME=VALUE...]
//! ```
//!
//! Runs the action four times at once and prints each result on a line of its
//! own, then the names of the keys the connector keeps in the asset's state.

use soar_host::signing::TrustStore;
use soar_host::{Asset, Error, InvokeOptions, PluginDir, Runtime, RuntimeOptions, Trust};
use std::sync::Arc;

const CONCURRENT: usize = 4;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plugins, keys, asset, data, connector, action, given @ ..] = args.as_slice() else {
        eprintln!("usage: embed PLUGIN_DIR TRUSTED_KEYS ASSET_FILE DATA_DIR CONNECTOR ACTION [NAME=VALUE...]");
        std::process::exit(2);
    };
    let params: Vec<(&str, &str)> = given.iter().filter_map(|pair| pair.split_once('=')).collect();

    // One runtime per process: it verifies, compiles and caches connectors, and
    // runs actions concurrently (it is Send + Sync).
    let trust = Trust::Signed(TrustStore::load(keys.as_ref()).map_err(Error::TrustStore)?);
    let runtime = Arc::new(Runtime::new(RuntimeOptions { trust, ..Default::default() })?);
    // Loaded once, shared by every task; asking again returns the same plugin.
    let plugin = runtime.plugin(&PluginDir::new(plugins), connector).await?;
    let asset = Arc::new(Asset::load(asset.as_ref(), &plugin.info().configuration)?);
    let options = InvokeOptions::new(data);

    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (runtime, plugin, asset, options) = (runtime.clone(), plugin.clone(), asset.clone(), options.clone());
            let (action, params): (String, Vec<(String, String)>) =
                (action.clone(), params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect());
            tokio::spawn(async move { runtime.invoke(&plugin, &action, &params, asset, &options).await })
        })
        .collect();
    let mut failed = false;
    for task in tasks {
        let report = task.await.map_err(|err| Error::Host(err.to_string()))?;
        failed |= report.error.is_some();
        println!("{}", serde_json::to_string(&report).map_err(|err| Error::Host(err.to_string()))?);
    }
    let state = options.state_of(&plugin, &asset)?;
    println!("state keys: {}", state.keys().cloned().collect::<Vec<_>>().join(", "));
    std::process::exit(if failed { 1 } else { 0 });
}
