//! `test connectivity` and `list owners`: both read the owners visible with
//! the asset's credentials.

use crate::client::{ThreatConnect, succeeded};
use crate::{ListOwners, TestConnectivity};
use soar_sdk::http::Method;
use soar_sdk::log;
use soar_sdk::prelude::*;

impl Action for TestConnectivity {
    fn run(self) -> ActionOutcome {
        let tc = ThreatConnect::connect()?;
        let owners = tc
            .call(&tc.request(Method::Get, "security/owners"))
            .inspect_err(|_| log::progress("Test Connectivity Failed"))?;
        if !succeeded(&owners) {
            log::progress("Test Connectivity Failed");
            return Err(ActionError::vendor(
                None,
                "Test Connectivity Failed: There was an error in parsing the response",
            ));
        }
        log::progress("Test Connectivity Passed");
        Output::new().message("Test Connectivity Passed").into()
    }
}

impl Action for ListOwners {
    fn run(self) -> ActionOutcome {
        let tc = ThreatConnect::connect()?;
        let mut owners = tc.call(&tc.request(Method::Get, "security/owners"))?;
        if !succeeded(&owners) {
            return Err(ActionError::vendor(None, format!("Unable to List Owners: {owners}")));
        }
        // The v3 API sends no `count` (the reference connector failed on that);
        // the number of owners listed is the count.
        let count = owners["data"].as_array().map_or(0, Vec::len);
        if owners.get("count").is_none() {
            owners["count"] = json!(count);
        }
        let num_owners = owners["count"].as_u64().unwrap_or(count as u64);
        Output::new()
            .data(owners)
            .summary("num_owners", num_owners)
            .summary("total_objects", 1)
            .message("List owners succeeded")
            .into()
    }
}
