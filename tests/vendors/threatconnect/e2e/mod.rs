//! ThreatConnect: every action and `on poll` through the real host and the
//! simulator, which verifies every request's signature.

mod actions;
mod declared_defaults;
mod faults;
mod hostile;
mod poll;
mod validation;

use soar_tests::harness::Run;
use soar_tests::kit::Vendor;
use soar_tests::sim::Recorded;
use soar_tests::sim::threatconnect::ThreatConnectSim;

/// The vendor directory (`tests/vendors/<vendor>/`): its specification and fixtures.
pub const VENDOR: &str = "threatconnect";

/// The kit's vendor environment, with ThreatConnect's own checks.
pub struct Tc(Vendor<ThreatConnectSim>);

impl std::ops::Deref for Tc {
    type Target = Vendor<ThreatConnectSim>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Tc {
    pub async fn start() -> Self {
        Self(Vendor::start().await)
    }

    /// With extra asset configuration lines (`max_containers = 5`).
    pub fn with_sim(sim: ThreatConnectSim, extra_config: &str) -> Self {
        Self(Vendor::with_sim(sim, extra_config))
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
