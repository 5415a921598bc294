//! Cofense Vision: every action through the real host and the simulator.

mod actions;
mod auth;
mod contract;
mod declared_defaults;
mod faults;
mod validation;

use soar_tests::kit::Vendor;
use soar_tests::sim::Recorded;
use soar_tests::sim::cofense_vision::CofenseSim;

/// The vendor directory (`tests/vendors/<vendor>/`): its specification and fixtures.
pub const VENDOR: &str = "cofense-vision";

/// The kit's vendor environment, with Vision's own checks.
pub struct Vision(Vendor<CofenseSim>);

impl std::ops::Deref for Vision {
    type Target = Vendor<CofenseSim>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Vision {
    pub async fn start() -> Self {
        Self(Vendor::start().await)
    }

    /// The requests other than token requests, oldest first.
    pub fn api_requests(&self) -> Vec<Recorded> {
        self.sim.server().requests().into_iter().filter(|r| r.path != "/uaa/oauth/token").collect()
    }

    /// Forgets the requests received so far.
    pub fn clear(&self) {
        self.sim.server().take_requests();
    }

    /// The only API request since the last `clear`, checked for Vision's
    /// authentication and default headers.
    pub fn single_request(&self) -> Recorded {
        let requests = self.api_requests();
        assert_eq!(requests.len(), 1, "expected one API request, got {requests:#?}");
        let request = requests.into_iter().next().unwrap();
        let authorization = request.header("authorization").unwrap_or_default();
        assert!(authorization.starts_with("Bearer ") && authorization.len() > 10, "{request:#?}");
        assert_eq!(request.header("content-type"), Some("application/json"), "{request:#?}");
        request
    }

    /// [`Self::single_request`], checked to be `method` `path`.
    pub fn single_request_to(&self, method: &str, path: &str) -> Recorded {
        let request = self.single_request();
        assert_eq!((request.method.as_str(), request.path.as_str()), (method, path), "{request:#?}");
        request
    }
}
