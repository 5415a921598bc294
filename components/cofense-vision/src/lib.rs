//! The Cofense Vision connector: quarantine emails, manage IOCs, search messages,
//! download messages and their attachments.
//!
//! Every action follows the wire protocol of the reference SOAR connector
//! (paths, headers, query and body encodings, messages); the deliberate
//! differences are listed in the repository README. Each action is an
//! `Action` implementation on its parameter struct, in the module of its
//! endpoints.

mod client;
mod iocs;
mod messages;
mod paging;
mod quarantine;
mod searches;

soar_sdk::connector! {
    world: "soar:cofense-vision/connector",
    wit: ["../../wit/connector", "../../wit/cofense-vision"],
}
