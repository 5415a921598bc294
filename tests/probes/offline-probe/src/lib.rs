//! A connector that declares no origin in its capability contract. The
//! sandbox tests give its asset a URL anyway and check that no request to it,
//! or anywhere, is allowed.

use soar_sdk::http::{BaseUrl, Method};
use soar_sdk::prelude::*;

soar_sdk::connector! {
    world: "soar:offline-probe/probe",
    wit: ["../../../wit/connector", "wit"],
}

impl Action for Fetch {
    fn run(self) -> ActionOutcome {
        let Fetch { url } = self;
        let base = BaseUrl::parse(&url).map_err(|reason| ActionError::invalid_parameter("url", reason))?;
        let response = base.request(Method::Get, "/").send()?;
        Output::new().summary("status", response.status).into()
    }
}
