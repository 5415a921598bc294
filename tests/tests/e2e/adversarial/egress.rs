//! Egress: where requests may go, in which spelling, over which TLS.

use super::cofense_asset;
use soar_host::exit;
use soar_tests::harness::HostEnv;
use soar_tests::hostile::{Behaviour, HostileServer};
use soar_tests::sim::Transport;
use soar_tests::sim::cofense_vision::CofenseSim;
use soar_tests::tls::{TestCa, self_signed_server_config};

#[tokio::test(flavor = "multi_thread")]
async fn base_url_spelled_another_way_still_reaches_only_the_vendor() {
    let sim = CofenseSim::start().await.unwrap();
    let port = sim.server().addr().port();
    let env = HostEnv::new();
    for (i, spelling) in [
        format!("http://127.1:{port}"),
        format!("http://0x7f.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
    ]
    .iter()
    .enumerate()
    {
        let asset = cofense_asset(&env, &format!("spelling{i}/vision.toml"), spelling, CofenseSim::CLIENT_SECRET);
        let asset_text = std::fs::read_to_string(&asset).unwrap();
        std::fs::write(&asset, format!("name = \"spelling{i}\"\n{asset_text}")).unwrap();
        let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
        assert_eq!(run.code, 0, "{spelling}: {run:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_server_is_not_followed() {
    let other = HostileServer::start().await;
    other.on("/", Behaviour::Json { status: 200, body: "{\"headers\": []}".into() });
    let vendor = HostileServer::start().await;
    vendor.issue_tokens("/uaa/oauth/token");
    vendor.on(
        "/api/",
        Behaviour::Redirect { status: 302, location: format!("{}/api/v4/config/searchableHeaders", other.base_url()) },
    );
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), CofenseSim::CLIENT_SECRET);
    let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(other.requests().is_empty(), "the other server was contacted: {:#?}", other.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_vendor_is_refused_and_the_error_says_how_to_trust_it() {
    let sim = CofenseSim::start_with(0, Transport::Https(self_signed_server_config())).await.unwrap();
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &sim.base_url(), CofenseSim::CLIENT_SECRET);
    let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
    let message = run.failure("connection", exit::ACTION_FAILED);
    assert!(
        message.contains("certificate") && message.contains("--ca-bundle") && message.contains("verify_server_cert"),
        "{message}"
    );
    assert!(sim.server().requests().is_empty(), "nothing reaches a server whose certificate is refused");

    // The operator who knows the server turns checks off for this asset only.
    let text = std::fs::read_to_string(&asset).unwrap();
    std::fs::write(&asset, format!("{text}verify_server_cert = false\n")).unwrap();
    env.invoke("cofense", "list-searchable-headers", &asset, &[]).await.success();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_certified_by_an_internal_ca_is_accepted_with_the_ca_bundle() {
    let ca = TestCa::new("internal CA");
    let sim = CofenseSim::start_with(0, Transport::Https(ca.server_config())).await.unwrap();
    let env = HostEnv::new();
    let bundle = env.root().join("internal-ca.pem");
    ca.write_pem(&bundle).unwrap();
    let asset = cofense_asset(&env, "vision.toml", &sim.base_url(), CofenseSim::CLIENT_SECRET);
    let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
    run.failure("connection", exit::ACTION_FAILED);

    let asset_arg = asset.to_str().unwrap();
    let args =
        ["invoke", "cofense", "list-searchable-headers", "--asset", asset_arg, "--ca-bundle", bundle.to_str().unwrap()];
    env.run(&args).await.success();
    let output = env
        .command()
        .env("SOAR_CA_BUNDLE", &bundle)
        .args(["invoke", "cofense", "list-searchable-headers", "--asset", asset_arg])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // A bundle that holds no certificate is an error, not an empty trust.
    let empty = env.root().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let run = env
        .run(&[
            "invoke",
            "cofense",
            "list-searchable-headers",
            "--asset",
            asset_arg,
            "--ca-bundle",
            empty.to_str().unwrap(),
        ])
        .await;
    assert!(run.code != 0 && run.stdout.contains("CA bundle"), "{run:#?}");
}
