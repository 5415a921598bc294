//! `demo` (`make run`): starts both simulators and runs real actions through the
//! real `host` binary, printing each command and its result.

use chrono::{Duration, Utc};
use soar_tests::harness::write_asset;
use soar_tests::sim::cofense_vision::CofenseSim;
use soar_tests::sim::threatconnect::ThreatConnectSim;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `host` commands with a data directory under `target/run`.
struct Demo {
    host: PathBuf,
    data_dir: PathBuf,
    failures: usize,
}

impl Demo {
    /// Runs `host <args>`, prints it and its output; counts failures unless `expect_failure`.
    fn host(&mut self, args: &[&str], expect_failure: bool) {
        let shown: Vec<String> =
            args.iter().map(|a| if a.contains([' ', '<', '>']) { format!("'{a}'") } else { a.to_string() }).collect();
        println!("$ host {}", shown.join(" "));
        match Command::new(&self.host).env("SOAR_DATA_DIR", &self.data_dir).args(args).output() {
            Ok(output) => {
                print!("{}", String::from_utf8_lossy(&output.stdout));
                eprint!("{}", String::from_utf8_lossy(&output.stderr));
                println!("(exit code {})\n", output.status.code().unwrap_or(-1));
                self.failures += usize::from(output.status.success() == expect_failure);
            }
            Err(err) => {
                println!("cannot run {}: {err}\n", self.host.display());
                self.failures += 1;
            }
        }
    }

    fn invoke(&mut self, connector: &str, asset: &Path, action: &str, params: &[(&str, &str)]) {
        let mut args =
            vec!["invoke".to_string(), connector.into(), action.into(), "--asset".into(), asset.display().to_string()];
        for (name, value) in params {
            args.extend(["--param".to_string(), format!("{name}={value}")]);
        }
        self.host(&args.iter().map(String::as_str).collect::<Vec<_>>(), false);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let run_dir = PathBuf::from("target/run");
    // Each demo starts from nothing: the simulators start afresh too.
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir)?;
    let mut demo =
        Demo { host: std::env::current_exe()?.with_file_name("host"), data_dir: run_dir.join("data"), failures: 0 };

    let vision = CofenseSim::start().await?;
    let cofense = run_dir.join("cofense.toml");
    write_asset(&cofense, &vision.asset_toml())?;
    println!("Cofense Vision simulator at {}\n", vision.base_url());
    let (message_id, recipient) = vision.sample_message();
    let attachment = vision.add_attachment("invoice.pdf", b"%PDF-1.4 demo attachment".to_vec());
    demo.invoke("cofense", &cofense, "test-connectivity", &[]);
    demo.invoke(
        "cofense",
        &cofense,
        "update-iocs",
        &[
            ("source", "Vision-UI"),
            ("threat_type", "Domain"),
            ("threat_value", "evil.example.com"),
            ("threat_level", "Malicious"),
            ("source_id", "demo-1"),
            ("created_at", "01 Mar 2021"),
        ],
    );
    demo.invoke(
        "cofense",
        &cofense,
        "list-iocs",
        &[("source", "Vision-UI"), ("size", "2"), ("sort", "updatedAt:desc")],
    );
    demo.invoke(
        "cofense",
        &cofense,
        "get-message-metadata",
        &[("internet_message_id", &message_id), ("recipient_address", &recipient)],
    );
    demo.invoke(
        "cofense",
        &cofense,
        "get-message",
        &[("internet_message_id", &message_id), ("recipient_address", &recipient)],
    );
    demo.invoke(
        "cofense",
        &cofense,
        "get-message-attachment",
        &[("md5", &attachment.md5), ("filename", "invoice.pdf")],
    );
    demo.invoke(
        "cofense",
        &cofense,
        "create-quarantine-job",
        &[("quarantine_emails", &format!("{recipient}:{message_id}"))],
    );
    demo.invoke(
        "cofense",
        &cofense,
        "create-message-search",
        &[("subjects", "test"), ("received_after_date", "2022-01-01")],
    );
    let cofense_asset = cofense.display().to_string();
    demo.host(
        &[
            "invoke",
            "cofense",
            "list-iocs",
            "--asset",
            &cofense_asset,
            "--param",
            "source=Vision-UI",
            "--param",
            "size=0",
        ],
        true,
    );

    let tc = ThreatConnectSim::start().await?;
    tc.generate_indicators(24, Utc::now() - Duration::hours(12), Duration::minutes(30));
    let threatconnect = run_dir.join("threatconnect.toml");
    write_asset(&threatconnect, &tc.asset_toml())?;
    println!("ThreatConnect simulator at {}\n", tc.base_url());
    demo.invoke("threatconnect", &threatconnect, "list-owners", &[]);
    demo.invoke("threatconnect", &threatconnect, "hunt-ip", &[("ip", "203.0.113.7"), ("tag", "true")]);
    demo.invoke(
        "threatconnect",
        &threatconnect,
        "post-data",
        &[("primary_field", "evil.example.net"), ("rating", "4")],
    );
    demo.host(&["poll", "threatconnect", "--asset", &threatconnect.display().to_string(), "--compact"], false);
    demo.host(&["containers", "list", "--connector", "threatconnect", "--limit", "2"], false);

    anyhow::ensure!(demo.failures == 0, "{} commands did not end as expected", demo.failures);
    println!("Done: every command ended as expected. State, vault and containers are in {}", demo.data_dir.display());
    Ok(())
}
