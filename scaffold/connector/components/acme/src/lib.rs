//! The Acme connector.

use soar_sdk::config;
use soar_sdk::http::Method;
use soar_sdk::prelude::*;

// One struct per action (`TestConnectivity`), its fields the action's
// parameters, generated from the WIT; each action is its `Action::run`.
soar_sdk::connector! {
    world: "soar:acme/connector",
    wit: ["../../wit/connector", "../../wit/acme"],
}

impl Action for TestConnectivity {
    fn run(self) -> ActionOutcome {
        let base = config::base_url()?;
        let api_key = config::required("api_key")?;
        let response = base.request(Method::Get, "/api/v1/status").header("X-Api-Key", api_key).send()?;
        if !response.is_success() {
            return Err(ActionError::vendor(
                Some(response.status),
                format!("Test Connectivity Failed: {}", response.quoted_text()),
            ));
        }
        let status: Value = response
            .json()
            .map_err(|err| ActionError::vendor(Some(response.status), format!("Test Connectivity Failed: {err}")))?;
        Output::new().data(status).message("Test Connectivity Passed").into()
    }
}
