//! The command line: finding connectors and actions, asset files, exit codes.

use soar_host::exit;
use soar_tests::harness::HostEnv;

/// (parameters, parameter at fault, message)
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

const PROBE_ASSET: &str = "base_url = \"http://127.0.0.1:9\"\n";

#[tokio::test]
async fn unknown_connector_is_named_with_the_installed_ones() {
    let env = HostEnv::new();
    let asset = env.asset("probe", PROBE_ASSET);
    let run = env.invoke("nosuch", "get-ioc", &asset, &[]).await;
    let message = run.failure("unknown-connector", exit::CONNECTOR);
    assert!(message.contains("'nosuch'") && message.contains("cofense"), "{message}");
}

#[tokio::test]
async fn unknown_action_lists_the_actions() {
    let env = HostEnv::new();
    let asset = env.asset("cofense", "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\n");
    let run = env.invoke("cofense", "get-iocs", &asset, &[]).await;
    let message = run.failure("unknown-action", exit::INVALID_INPUT);
    assert!(message.contains("'get-iocs'") && message.contains("get-ioc,"), "{message}");
}

#[tokio::test]
async fn actions_are_found_by_every_spelling() {
    let env = HostEnv::new();
    let asset = env.asset("probe", PROBE_ASSET);
    for spelling in ["crash", "CRASH", "crash"] {
        let run = env.invoke("sandbox_probe", spelling, &asset, &[]).await;
        run.failure("crashed", exit::SANDBOX);
    }
    let asset = env.asset("cofense", "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\n");
    for spelling in ["get messagesearch results", "get-messagesearch-results", "get_message_search_results"] {
        let run = env.invoke("cofense", spelling, &asset, &[("id", "0")]).await;
        assert_eq!(run.json["error"]["parameter"], "id", "{spelling}: {run:#?}");
    }
}

#[tokio::test]
async fn malformed_asset_files_name_the_file_and_variable() {
    let env = HostEnv::new();
    let cases = [
        ("broken", "base_url = \"http://x\nclient_id = 1", "not valid TOML"),
        ("missing", "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\n", "'client_secret'"),
        (
            "typo",
            "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\nclientid = \"c\"\n",
            "'clientid'",
        ),
        ("badurl", "base_url = \"vision.example.com\"\nclient_id = \"a\"\nclient_secret = \"b\"\n", "'base_url'"),
        (
            "badbool",
            "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\nverify_server_cert = \"sometimes\"\n",
            "'verify_server_cert'",
        ),
    ];
    for (name, contents, expected) in cases {
        let asset = env.asset(name, contents);
        let run = env.invoke("cofense", "get-ioc", &asset, &[("id", "x"), ("source", "y")]).await;
        let message = run.failure("invalid-config", exit::INVALID_INPUT);
        assert!(message.contains(&format!("{name}.toml")) && message.contains(expected), "{name}: {message}");
    }
    let run =
        env.invoke("cofense", "get-ioc", &env.data_dir().join("absent.toml"), &[("id", "x"), ("source", "y")]).await;
    let message = run.failure("invalid-config", exit::INVALID_INPUT);
    assert!(message.contains("absent.toml"), "{message}");
}

#[tokio::test]
async fn secrets_come_from_the_environment_or_files_and_never_show() {
    let env = HostEnv::new();
    let secret_file = env.data_dir().with_file_name("secret.txt");
    std::fs::write(&secret_file, "file-secret-value\n").unwrap();
    let asset = env.asset(
        "cofense",
        &format!(
            "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = {{ file = \"{}\" }}\n",
            secret_file.display()
        ),
    );
    let run = env.invoke("cofense", "test-connectivity", &asset, &[]).await;
    run.failure("connection", exit::ACTION_FAILED);
    assert!(!run.stdout.contains("file-secret-value") && !run.stderr.contains("file-secret-value"));

    let asset = env.asset(
        "fromenv",
        "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = { env = \"SOAR_TEST_SECRET\" }\n",
    );
    let output = env
        .command()
        .args(["invoke", "cofense", "test-connectivity", "--asset"])
        .arg(&asset)
        .env("SOAR_TEST_SECRET", "env-secret-value")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(exit::ACTION_FAILED));
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(all.contains("connection refused") && !all.contains("env-secret-value"), "{all}");
}

#[tokio::test]
async fn actions_are_listed_from_the_component() {
    let env = HostEnv::new();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let actions = run.json["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 23);
    let list_iocs = actions.iter().find(|a| a["name"] == "list iocs").unwrap();
    assert_eq!(list_iocs["kind"], "investigate");
    assert_eq!(list_iocs["read_only"], true);
    assert_eq!(list_iocs["command"], "list-iocs");
    let include_expired =
        list_iocs["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "include_expired").unwrap();
    assert_eq!((include_expired["type"].as_str(), include_expired["required"].as_bool()), (Some("bool"), Some(false)));
    let source = list_iocs["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "source").unwrap();
    assert_eq!(source["required"], true);
    assert_eq!(source["contains"], serde_json::json!(["cofense vision source"]));
    assert!(source["description"].as_str().unwrap().starts_with("A single IOC source value"));
    let secret = run.json["configuration"].as_array().unwrap().iter().find(|c| c["name"] == "client_secret").unwrap();
    assert_eq!(secret["type"], "password");
    let identifiers: Vec<&str> = actions.iter().filter_map(|a| a["identifier"].as_str()).collect();
    assert!(identifiers.contains(&"get_message_search_results"));

    let run = env.run(&["actions", "cofense"]).await;
    assert!(run.code == 0 && run.stdout.contains("--param include_expired=<bool> (optional)"), "{run:#?}");
}

/// Each compiler keeps its own entries in one compile cache, and a connector
/// describes itself alike whichever compiled it. A compiler not known is a usage
/// error that names the choices, from the option or its variable.
#[tokio::test]
async fn each_compiler_keeps_its_own_compiled_code() {
    let cache = tempfile::tempdir().unwrap();
    let env = HostEnv::new().with_cache(cache.path().to_path_buf());
    let entries = || {
        std::fs::read_dir(cache.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension() == Some("cwasm".as_ref()))
            .count()
    };
    let optimized = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!((optimized.code, entries()), (0, 1), "{optimized:#?}");
    let baseline = env.run(&["actions", "cofense", "--json", "--compiler", "baseline"]).await;
    assert_eq!((baseline.code, entries()), (0, 2), "{baseline:#?}");
    assert_eq!(baseline.json, optimized.json);
    // Each finds its own entry again.
    let again = env.command().args(["actions", "cofense", "--json"]).env("SOAR_COMPILER", "Baseline").output().await;
    assert!(again.unwrap().status.success());
    let again = env.run(&["actions", "cofense", "--json", "--compiler", "optimizing"]).await;
    assert_eq!((again.code, entries()), (0, 2), "{again:#?}");

    let run = env.run(&["actions", "cofense", "--compiler", "fast"]).await;
    assert_eq!(run.code, exit::INVALID_INPUT, "{run:#?}");
    assert!(run.stderr.contains("'fast' is not a compiler: use optimizing or baseline"), "{}", run.stderr);
    let run = env.command().args(["actions", "cofense"]).env("SOAR_COMPILER", "fast").output().await.unwrap();
    assert_eq!(run.status.code(), Some(exit::INVALID_INPUT));
    assert!(String::from_utf8_lossy(&run.stderr).contains("'fast' is not a compiler"));
    assert_eq!(entries(), 2, "nothing compiled for a usage error");
}

#[tokio::test]
async fn parameters_are_typed_and_named() {
    let env = HostEnv::new();
    let asset = env.asset("cofense", "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\n");
    let cases: [Case; 6] = [
        (
            &[("source", "s"), ("page", "-1")],
            "page",
            "Please provide a valid non-negative integer value in the 'page' parameter",
        ),
        (&[("source", "s"), ("page", "two")], "page", "Please provide a valid integer value in the 'page' parameter"),
        (
            &[("source", "s"), ("include_expired", "perhaps")],
            "include_expired",
            "Please provide true or false in the 'include_expired' parameter",
        ),
        (&[("page", "1")], "source", "The required parameter 'source' is missing"),
        (&[("source", "s"), ("colour", "red")], "colour", "Unknown parameter 'colour'"),
        (&[("source", "s"), ("source", "t")], "source", "The 'source' parameter is given more than once"),
    ];
    for (params, parameter, expected) in cases {
        env.invoke("cofense", "list-iocs", &asset, params).await.rejected(parameter, expected);
    }
    // Spec spelling and WIT spelling both work, and floats that are integers too.
    let run = env
        .invoke(
            "cofense",
            "list-iocs",
            &asset,
            &[("source", "s"), ("include-expired", "true"), ("page", "3.0"), ("size", "0")],
        )
        .await;
    run.failure("invalid-parameter", exit::INVALID_INPUT);
    assert_eq!(
        run.json["parameter"],
        serde_json::json!({"source": "s", "include_expired": true, "page": 3, "size": 0})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn files_downloaded_for_a_container_belong_to_it() {
    use soar_tests::sim::cofense_vision::CofenseSim;
    use soar_tests::sim::threatconnect::ThreatConnectSim;
    let env = HostEnv::new();
    let tc = ThreatConnectSim::start().await.unwrap();
    let tc_asset = env.asset("tc", &tc.asset_toml());
    let run = env.run(&["poll", "threatconnect", "--asset", tc_asset.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let listed = env.run(&["containers", "list", "--limit", "1"]).await;
    let container = &listed.json[0];
    let id = container["id"].as_u64().unwrap().to_string();

    let vision = CofenseSim::start().await.unwrap();
    let attachment = vision.add_attachment("note.txt", b"hello".to_vec());
    let asset = env.asset("vision", &vision.asset_toml());
    let args = ["invoke", "cofense", "get-message-attachment", "--asset", asset.to_str().unwrap(), "--container", &id];
    let download = ["--param", &format!("md5={}", attachment.md5), "--param", "filename=note.txt"];
    let run = env.run(&[&args[..], &download[..]].concat()).await.success();
    assert_eq!(run.data()[0]["container_id"].to_string(), id);
    assert_eq!(run.data()[0]["container"], container["name"]);

    let args =
        ["invoke", "cofense", "get-message-attachment", "--asset", asset.to_str().unwrap(), "--container", "999999"];
    let run = env.run(&[&args[..], &download[..]].concat()).await;
    run.rejected("container", "There is no container 999999");
}

#[tokio::test]
async fn shell_completions_and_the_manual_page_come_from_the_command_definitions() {
    let env = HostEnv::new();
    let bash = env.run(&["completions", "bash"]).await;
    assert_eq!(bash.code, exit::SUCCESS, "{bash:#?}");
    assert!(bash.stdout.contains("complete -F _host") && bash.stdout.contains("--param"), "{}", bash.stdout);
    let renamed = env.run(&["completions", "zsh", "--name", "soar-host"]).await;
    assert!(renamed.stdout.starts_with("#compdef soar-host"), "{}", renamed.stdout);
    let man = env.run(&["man"]).await;
    assert_eq!(man.code, exit::SUCCESS);
    assert!(man.stdout.contains(".TH host 1") && man.stdout.contains("invoke"), "{}", man.stdout);
    let unknown = env.run(&["completions", "cmd.exe"]).await;
    assert_eq!(unknown.code, exit::INVALID_INPUT);
    assert!(unknown.stderr.contains("possible values"), "{}", unknown.stderr);
}

#[tokio::test]
async fn output_table_shows_an_action_result_and_listings_at_a_glance() {
    let sim = soar_tests::sim::cofense_vision::CofenseSim::start().await.unwrap();
    let env = HostEnv::new();
    let asset = env.asset("vision", &sim.asset_toml());
    let asset = asset.to_str().unwrap();
    let ioc = sim.iocs("Vision-UI")[0]["id"].as_str().unwrap().to_string();
    let run = env
        .run(&["invoke", "cofense", "list-iocs", "--asset", asset, "--param", "source=Vision-UI", "--output", "table"])
        .await;
    assert_eq!(run.code, exit::SUCCESS, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("success: "), "{}", run.stdout);
    assert!(lines.iter().any(|l| l.starts_with("id ") && l.contains("attributes.threat_value")), "{}", run.stdout);
    assert!(lines.iter().any(|l| l.starts_with(&ioc)), "{}", run.stdout);
    // A failure says so, with its kind and the parameter at fault, and keeps its exit code.
    let run = env.run(&["invoke", "cofense", "list-iocs", "--asset", asset, "--output", "table"]).await;
    assert_eq!(run.code, exit::INVALID_INPUT);
    assert!(run.stdout.contains("failed: ") && run.stdout.contains("kind: invalid-parameter"), "{}", run.stdout);
    assert!(run.stdout.contains("parameter: source"), "{}", run.stdout);

    let json = env.run(&["actions", "cofense", "--output", "json"]).await;
    assert_eq!(json.json, env.run(&["actions", "cofense", "--json"]).await.json);
    assert_eq!(json.json["name"], "cofense");
    let empty = env.run(&["containers", "list", "--output", "table"]).await;
    assert_eq!((empty.code, empty.stdout.as_str()), (exit::SUCCESS, "(none)\n"));
}
