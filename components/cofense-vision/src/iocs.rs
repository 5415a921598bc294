//! The local IOC repository (`/iocrepository/v1/iocs`).

use crate::client::Vision;
use crate::paging::{Paging, python_bool};
use soar_sdk::dates;
use soar_sdk::http::{Method, encode_path_segment};
use soar_sdk::prelude::*;

const IOCS: &str = "/iocrepository/v1/iocs";
const SOURCE_HEADER: &str = "X-Cofense-IOC-Source";
const SORT_FIELDS: &[&str] = &["updatedAt"];

pub fn get_ioc(id: String, source: String) -> ActionOutcome {
    let vision = Vision::connect()?;
    let request =
        vision.request(Method::Get, &format!("{IOCS}/{}", encode_path_segment(&id))).header(SOURCE_HEADER, source);
    let response = vision.call(request)?;
    Output::new().data(&response["data"]).message("Fetched IOC successfully").into()
}

pub fn list_iocs(
    source: String,
    since: Option<String>,
    page: Option<u32>,
    size: Option<u32>,
    sort: Option<String>,
    include_expired: Option<bool>,
) -> ActionOutcome {
    let paging = Paging::new(page, size, sort.as_deref(), SORT_FIELDS)?;
    let since = since.map(|since| dates::parse("since", &since)).transpose()?;
    let vision = Vision::connect()?;
    let request = paging
        .page_and_size(vision.request(Method::Get, IOCS))
        .query("includeExpired", python_bool(include_expired.unwrap_or(false)))
        .query_opt("since", since.as_ref().map(dates::format_micros));
    let request = paging.sort(request).header(SOURCE_HEADER, source);
    let response = vision.call(request)?;
    let output = Output::new().data_items(response["data"].clone());
    let total = output.len();
    output.summary("total_iocs", total).into()
}
