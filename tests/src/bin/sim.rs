//! `sim`: run the vendor simulators locally, for playbook development.
//!
//! ```text
//! sim                       # both simulators on free ports
//! sim cofense --port 8443   # one simulator on a chosen port
//! sim --https               # HTTPS, with a certificate from a CA generated at start
//! ```
//! Each simulator writes an asset file for the `host` CLI and serves until Ctrl-C.

use clap::{Parser, ValueEnum};
use soar_tests::sim::Transport;
use soar_tests::sim::cofense::CofenseSim;
use soar_tests::sim::threatconnect::ThreatConnectSim;
use soar_tests::tls::TestCa;
use std::path::PathBuf;

/// Run the Cofense Vision and ThreatConnect API simulators on 127.0.0.1.
#[derive(Parser)]
#[command(name = "sim", version)]
struct Args {
    /// Which simulator to run
    #[arg(value_enum, default_value_t = Which::All)]
    which: Which,
    /// Port for a single simulator (0: a free port)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the asset files (`cofense.toml`, `threatconnect.toml`)
    #[arg(long, default_value = "target/sim")]
    asset_dir: PathBuf,
    /// Serve HTTPS with a certificate signed by a CA generated at start; its
    /// certificate is written to `<asset-dir>/sim-ca.pem` for `host invoke --ca-bundle`
    #[arg(long)]
    https: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    All,
    Cofense,
    Threatconnect,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.asset_dir)?;
    let port = |which: Which| if args.which == which { args.port } else { 0 };
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
    if matches!(args.which, Which::All | Which::Cofense) {
        let sim = CofenseSim::start_with(port(Which::Cofense), transport.clone()).await?;
        announce("Cofense Vision", &sim.base_url(), &args.asset_dir.join("cofense.toml"), &sim.asset_toml())?;
        running.push(Box::new(sim) as Box<dyn std::any::Any>);
    }
    if matches!(args.which, Which::All | Which::Threatconnect) {
        let sim = ThreatConnectSim::start_over("", port(Which::Threatconnect), transport).await?;
        announce("ThreatConnect", &sim.base_url(), &args.asset_dir.join("threatconnect.toml"), &sim.asset_toml())?;
        running.push(Box::new(sim));
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

fn announce(name: &str, base_url: &str, asset: &std::path::Path, toml: &str) -> std::io::Result<()> {
    soar_tests::harness::write_asset(asset, toml)?;
    println!("{name} simulator at {base_url}; asset file {}", asset.display());
    println!("  host invoke <connector> <action> --asset {} --param ...", asset.display());
    Ok(())
}
