//! The vendor test kit: what every vendor's end-to-end tests start from, so that
//! a vendor's tests hold only what is particular to it.

use crate::harness::{HostEnv, Rejection, Run};
use crate::sim::{Recorded, Simulator, Transport};
use std::path::PathBuf;

/// A vendor's simulator, a private host environment, and an asset pointing the
/// vendor's connector at the simulator.
pub struct Vendor<S> {
    pub sim: S,
    pub env: HostEnv,
    pub asset: PathBuf,
}

impl<S: Simulator> Vendor<S> {
    /// A seeded simulator on a free port, and an asset for it.
    pub async fn start() -> Self {
        let sim = S::start_on(0, Transport::Http)
            .await
            .unwrap_or_else(|err| panic!("start the {} simulator: {err}", S::PRODUCT));
        Self::with_sim(sim, "")
    }

    /// `sim`, with `extra_config` lines appended to its asset
    /// (`max_containers = 5\n`).
    pub fn with_sim(sim: S, extra_config: &str) -> Self {
        let env = HostEnv::new();
        let asset = env.asset(S::CONNECTOR, &format!("{}{extra_config}", sim.asset_toml()));
        Self { sim, env, asset }
    }

    /// Runs `host invoke <connector> <action> --asset <asset> --param ...`.
    pub async fn invoke(&self, action: &str, params: &[(&str, &str)]) -> Run {
        self.env.invoke(S::CONNECTOR, action, &self.asset, params).await
    }

    /// The requests received since the last call (or the start).
    pub fn take_requests(&self) -> Vec<Recorded> {
        self.sim.server().take_requests()
    }

    /// Checks every case is refused as bad input (exit code 2, the parameter
    /// named, the message) before a single request reaches the vendor.
    pub async fn rejects_before_sending(&self, cases: Vec<Rejection>) {
        self.take_requests();
        for (action, params, parameter, message) in cases {
            self.invoke(action, &params).await.rejected(parameter, message);
            let requests = self.take_requests();
            assert!(requests.is_empty(), "{action} {params:?} sent {requests:#?}");
        }
    }
}
