//! `sim`: run the vendor simulators locally, for playbook development.
//!
//! ```text
//! sim                       # every vendor's simulator on a free port
//! sim cofense --port 8443   # one simulator (by connector name) on a chosen port
//! sim --https               # HTTPS, with a certificate from a CA generated at start
//! ```
//! Each simulator writes an asset file for the `host` CLI and serves until Ctrl-C.
//! The simulators are the vendors' own (`tests/vendors/<vendor>/sim/`), found
//! by the tests crate's build script.

use clap::Parser;
use clap::builder::PossibleValuesParser;
use soar_tests::sim::{Transport, registry};
use soar_tests::tls::TestCa;
use std::path::PathBuf;

/// Run the vendor API simulators on 127.0.0.1.
#[derive(Parser)]
#[command(name = "sim", version)]
struct Args {
    /// Which connector's simulator to run (all of them if none)
    #[arg(value_parser = PossibleValuesParser::new(registry().iter().map(|sim| sim.connector)))]
    connector: Option<String>,
    /// Port for a single simulator (0: a free port)
    #[arg(long, default_value_t = 0, requires = "connector")]
    port: u16,
    /// Where to write the asset files (`<connector>.toml`)
    #[arg(long, default_value = "target/sim")]
    asset_dir: PathBuf,
    /// Serve HTTPS with a certificate signed by a CA generated at start; its
    /// certificate is written to `<asset-dir>/sim-ca.pem` for `host invoke --ca-bundle`
    #[arg(long)]
    https: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.asset_dir)?;
    let transport = if args.https {
        let ca = TestCa::new("soar simulators CA");
        let bundle = args.asset_dir.join("sim-ca.pem");
        ca.write_pem(&bundle)?;
        println!(
            "HTTPS: trust the simulators with `host invoke ... --ca-bundle {}` (or SOAR_CA_BUNDLE)",
            bundle.display()
        );
        Transport::Https(ca.server_config())
    } else {
        Transport::Http
    };
    let mut running = Vec::new();
    for sim in registry() {
        if args.connector.as_deref().is_some_and(|wanted| wanted != sim.connector) {
            continue;
        }
        let started = (sim.start)(args.port, transport.clone()).await?;
        let asset = args.asset_dir.join(format!("{}.toml", sim.connector));
        soar_tests::harness::write_asset(&asset, &started.asset_toml())?;
        println!("{} simulator at {}; asset file {}", sim.product, started.server().base_url(), asset.display());
        println!("  host invoke {} <action> --asset {} --param ...", sim.connector, asset.display());
        running.push(started);
    }
    println!("\nFaults: POST <base_url>/__sim/faults, e.g.");
    println!(
        "  curl -X POST <base_url>/__sim/faults -d '{{\"path\":\"/\",\"times\":1,\"fault\":{{\"kind\":\"server_error\"}}}}' -H 'content-type: application/json'"
    );
    println!("Requests received: GET <base_url>/__sim/requests. Ctrl-C stops.");
    tokio::signal::ctrl_c().await?;
    drop(running);
    Ok(())
}
