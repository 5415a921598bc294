//! `host actions`: what a connector can do, read from the component itself.

use super::options::{LoadArgs, PluginDirArgs};
use super::output::Format;
use super::report_error;
use clap::Args;
use soar_host::manifest::ParameterInfo;
use soar_host::{Plugin, params};

/// Arguments of `host actions`.
#[derive(Args)]
pub struct ActionsArgs {
    /// The connector (`cofense`)
    connector: String,
    /// How to print: a listing for a person (table), or JSON with the configuration
    /// variables and every action with its parameters
    #[arg(long, value_enum, default_value = "table")]
    output: Format,
    /// The same as `--output json`
    #[arg(long, conflicts_with = "output")]
    json: bool,
    #[command(flatten)]
    plugins: PluginDirArgs,
    #[command(flatten)]
    load: LoadArgs,
}

/// Runs `host actions`; returns the exit code.
pub async fn run(args: ActionsArgs) -> i32 {
    let plugin = async {
        let runtime = args.load.loader()?;
        runtime.load(&args.plugins.plugins().find(&args.connector)?).await
    };
    match plugin.await {
        Ok(plugin) if args.json || args.output == Format::Json => {
            println!("{}", serde_json::to_string_pretty(&describe_json(&plugin)).unwrap_or_default());
            soar_host::exit::SUCCESS
        }
        Ok(plugin) => {
            print!("{}", describe_text(&plugin));
            soar_host::exit::SUCCESS
        }
        Err(err) => {
            report_error(&err.to_string());
            err.exit_code()
        }
    }
}

fn describe_json(plugin: &Plugin) -> serde_json::Value {
    let info = plugin.info();
    let actions: Vec<serde_json::Value> = plugin
        .actions()
        .iter()
        .map(|action| {
            let mut json = serde_json::to_value(&action.info).unwrap_or_default();
            json["command"] = action.info.wit_name().into();
            json
        })
        .collect();
    serde_json::json!({
        "name": info.name,
        "version": info.version,
        "product": info.product,
        "description": info.description,
        "digest": plugin.digest(),
        "configuration": info.configuration,
        "actions": actions,
    })
}

fn describe_text(plugin: &Plugin) -> String {
    let info = plugin.info();
    let mut out =
        format!("{} {} ({})\n{}\n\nConfiguration:\n", info.name, info.version, info.product, info.description);
    for var in &info.configuration {
        let required = if var.required { "required" } else { "optional" };
        let ty = serde_json::to_value(var.ty).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let default = var.default.as_ref().map(|default| format!(" (default: {default})")).unwrap_or_default();
        out += &format!("  {:<22} {:<9} {:<8} {}{default}\n", var.name, ty, required, var.description);
    }
    out += "\nActions:\n";
    for action in plugin.actions() {
        let info = &action.info;
        let kind =
            serde_json::to_value(info.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let access = if info.read_only { "read-only" } else { "changes data" };
        out +=
            &format!("\n  {}  [{kind}, {access}]\n    {}\n", info.wit_name(), info.description.replace('\n', "\n    "));
        for (param, signature) in info.parameters.iter().zip(&action.params) {
            let required = if signature.required() { "required" } else { "optional" };
            let ty = params::type_name(&signature.ty);
            out += &format!(
                "      --param {}=<{}> ({required}): {}{}\n",
                param.name,
                ty.trim_start_matches("option<").trim_end_matches('>'),
                param.description,
                accepted(param)
            );
        }
    }
    out
}

/// ` (default: ANY; one of: ANY, ALL)`: what a parameter takes besides its type.
fn accepted(param: &ParameterInfo) -> String {
    let default = param.default.as_ref().map(|default| format!("default: {default}"));
    let values = (!param.values.is_empty()).then(|| format!("one of: {}", param.values.join(", ")));
    let notes: Vec<String> = default.into_iter().chain(values).collect();
    if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) }
}
