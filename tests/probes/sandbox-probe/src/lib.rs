//! A connector that tries to leave the sandbox. Each action attempts one thing a
//! connector must not be able to do; the sandbox tests check that the host stops
//! or refuses it and survives.

use soar_sdk::http::{BaseUrl, Method};
use soar_sdk::prelude::*;

soar_sdk::connector! {
    world: "soar:sandbox-probe/probe",
    wit: ["../../../wit/connector", "wit"],
}

impl Action for Fetch {
    fn run(self) -> ActionOutcome {
        let Fetch { url } = self;
        let (base, path) = split_url(&url)?;
        let response = base.request(Method::Get, &path).send()?;
        Output::new().summary("status", response.status).into()
    }
}

impl Action for Spin {
    fn run(self) -> ActionOutcome {
        let mut counter: u64 = 0;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
}

impl Action for Nap {
    fn run(self) -> ActionOutcome {
        let Nap { millis } = self;
        soar_sdk::http::sleep(std::time::Duration::from_millis(millis));
        Output::new().message("woke up").into()
    }
}

impl Action for Hog {
    fn run(self) -> ActionOutcome {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every block so it is really allocated.
            blocks.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&blocks);
        }
    }
}

impl Action for Escape {
    fn run(self) -> ActionOutcome {
        let Escape { address } = self;
        let reached = json!({
            "filesystem": std::fs::read_dir("/").is_ok() || std::fs::read("/etc/passwd").is_ok(),
            "environment": std::env::vars().count() > 0,
            "arguments": std::env::args().count() > 0,
            "socket": std::net::TcpStream::connect(address.as_str()).is_ok(),
        });
        Output::new().data(reached).into()
    }
}

impl Action for Leak {
    fn run(self) -> ActionOutcome {
        let Leak { fail } = self;
        let secret = soar_sdk::config::get("api_key").unwrap_or_default();
        let percent: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
        let unicode: String = secret.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
        let all = format!("literal {secret}, percent {percent}, unicode {unicode}");
        soar_sdk::log::warn(&format!("the key is {all}"));
        soar_sdk::log::progress(&format!("using {all}"));
        if fail.unwrap_or(false) {
            return Err(ActionError::vendor(Some(500), format!("the vendor echoed {all}")));
        }
        Output::new()
            .data(json!({"secret": secret, "percent": percent, "nested": {"quoted": format!("x\"{secret}\"y")}}))
            .summary("secret", &secret)
            .message(format!("leaked {all}"))
            .into()
    }
}

impl Action for Crash {
    fn run(self) -> ActionOutcome {
        panic!("the probe crashed on purpose")
    }
}

fn split_url(url: &str) -> Result<(BaseUrl, String), ActionError> {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (origin, path) = match url[scheme_end..].find('/') {
        Some(i) => url.split_at(scheme_end + i),
        None => (url, "/"),
    };
    let base = BaseUrl::parse(origin).map_err(|reason| ActionError::invalid_parameter("url", reason))?;
    Ok((base, path.to_string()))
}
