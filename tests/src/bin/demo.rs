//! `demo` (`make run`): starts the simulators and runs real actions through the
//! real `host` binary, printing each command and its result.

use soar_tests::sim::cofense::CofenseSim;
use std::path::{Path, PathBuf};
use std::process::Command;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let here = std::env::current_exe()?;
    let host = here.with_file_name("host");
    let run_dir = PathBuf::from("target/run");
    std::fs::create_dir_all(&run_dir)?;
    let data_dir = run_dir.join("data");

    let vision = CofenseSim::start().await?;
    let asset = run_dir.join("cofense.toml");
    std::fs::write(&asset, vision.asset_toml())?;
    println!("Cofense Vision simulator at {}\n", vision.base_url());

    let (message_id, recipient) = vision.sample_message();
    let attachment = vision.add_attachment("invoice.pdf", b"%PDF-1.4 demo attachment".to_vec());
    let mut failures = 0;
    let mut invoke = |action: &str, params: &[(&str, &str)]| {
        failures += usize::from(!run(&host, &data_dir, &asset, "cofense", action, params));
    };
    invoke("test-connectivity", &[]);
    invoke("list-iocs", &[("source", "Vision-UI"), ("size", "2"), ("sort", "updatedAt:desc")]);
    invoke("get-last-ioc", &[("source", "Vision-UI")]);
    invoke(
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
    invoke("get-message-metadata", &[("internet_message_id", &message_id), ("recipient_address", &recipient)]);
    invoke("get-message", &[("internet_message_id", &message_id), ("recipient_address", &recipient)]);
    invoke("get-message-attachment", &[("md5", &attachment.md5), ("filename", "invoice.pdf")]);
    invoke("create-quarantine-job", &[("quarantine_emails", &format!("{recipient}:{message_id}"))]);
    invoke("list-quarantine-jobs", &[("size", "2"), ("include_status", "NEW")]);
    invoke("create-message-search", &[("subjects", "test"), ("received_after_date", "2022-01-01")]);
    invoke("list-searchable-headers", &[]);
    invoke("list-iocs", &[("source", "Vision-UI"), ("size", "0")]);

    if failures > 1 {
        anyhow::bail!("{failures} actions failed (one failure, the bad size, is expected)");
    }
    println!("Done. State and vault are in {}", data_dir.display());
    Ok(())
}

/// Runs one action and prints it; returns whether it succeeded.
fn run(host: &Path, data_dir: &Path, asset: &Path, connector: &str, action: &str, params: &[(&str, &str)]) -> bool {
    let mut command = Command::new(host);
    command.arg("--data-dir").arg(data_dir).args(["invoke", connector, action, "--asset"]).arg(asset);
    let mut shown = format!("$ host invoke {connector} {action} --asset {}", asset.display());
    for (name, value) in params {
        command.arg("--param").arg(format!("{name}={value}"));
        shown += &format!(" --param '{name}={value}'");
    }
    println!("{shown}");
    match command.output() {
        Ok(output) => {
            print!("{}", String::from_utf8_lossy(&output.stdout));
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            println!("(exit code {})\n", output.status.code().unwrap_or(-1));
            output.status.success()
        }
        Err(err) => {
            println!("cannot run {}: {err}\n", host.display());
            false
        }
    }
}
