//! ThreatConnect: every action and `on poll` through the real host and the
//! simulator, which verifies every request's signature.

mod actions;
mod faults;
mod hostile;
mod poll;
mod validation;

use soar_tests::harness::{HostEnv, Run};
use soar_tests::sim::Recorded;
use soar_tests::sim::threatconnect::ThreatConnectSim;
use std::path::PathBuf;

/// The specification the data paths come from.
pub const SPEC: &str = "threatconnect-connector.md";

/// A simulator, a host environment and an asset pointing at the simulator.
pub struct Tc {
    pub sim: ThreatConnectSim,
    pub env: HostEnv,
    pub asset: PathBuf,
}

impl Tc {
    pub async fn start() -> Self {
        Self::with_sim(ThreatConnectSim::start().await.expect("start the ThreatConnect simulator"), "")
    }

    /// With extra asset configuration lines (`max_containers = 5`).
    pub fn with_sim(sim: ThreatConnectSim, extra_config: &str) -> Self {
        let env = HostEnv::new();
        let asset = env.asset("tc", &format!("{}{extra_config}", sim.asset_toml()));
        Self { sim, env, asset }
    }

    /// Runs `host invoke threatconnect <action>`.
    pub async fn invoke(&self, action: &str, params: &[(&str, &str)]) -> Run {
        self.env.invoke("threatconnect", action, &self.asset, params).await
    }

    /// Runs `host poll threatconnect` with `args`.
    pub async fn poll(&self, args: &[&str]) -> Run {
        let mut all = vec!["poll", "threatconnect", "--asset", self.asset.to_str().unwrap()];
        all.extend_from_slice(args);
        self.env.run(&all).await
    }

    /// Every request, checked to carry a valid signature for exactly what was
    /// sent; clears the record.
    pub fn signed_requests(&self) -> Vec<Recorded> {
        let requests = self.sim.server().take_requests();
        for request in &requests {
            assert_signed(request);
        }
        assert_eq!(self.sim.auth_failures(), 0, "the simulator rejected a signature");
        requests
    }
}

/// The request carries `Timestamp` and `Authorization: TC <id>:<signature of
/// path?query:METHOD:timestamp>`, and the `{}` JSON body every request has.
pub fn assert_signed(request: &Recorded) {
    let timestamp: i64 = request.header("timestamp").and_then(|t| t.parse().ok()).expect("a Timestamp header");
    let now = chrono::Utc::now().timestamp();
    assert!((now - timestamp).abs() < 60, "a fresh timestamp");
    let expected = ThreatConnectSim::authorization(&request.method, &request.path_and_query(), timestamp);
    assert_eq!(request.header("authorization"), Some(expected.as_str()), "{request:#?}");
    assert_eq!(request.header("content-type"), Some("application/json"));
    if request.method == "GET" {
        assert_eq!(&request.body[..], b"{}");
        assert_eq!(request.header("content-length"), Some("2"));
    }
}
