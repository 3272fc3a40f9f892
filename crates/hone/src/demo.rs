//! `hone demo`: the whole story in one command. It starts a service (API, dashboard and a
//! worker) on a temporary SQLite database with the recorded example — an actor whose first
//! `parse_logs` crashes on an empty line, a critic that says so, the fix — submits the job,
//! follows it as `hone watch` does, and prints the dashboard's address and a key to sign in
//! with. It serves until interrupted, then deletes the database.
//!
//! The example (spec and transcript, from `examples/`) is compiled into the binary, so the
//! demo runs from anywhere. The sandbox runs the code for real.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Parser;
use hone_api::auth::issue::{KeyRequest, issue};
use hone_domain::apikey::Scope;
use hone_domain::{TenantId, Timestamp};

use crate::app::Application;
use crate::client::Client;
use crate::client::watch::follow;
use crate::config::{Cli, ClientArgs, Command, DemoArgs, Output, Settings};

/// The example job.
const SPEC: &str = include_str!("../../../examples/parse-logs.json");
/// What its actor and critic said when it was recorded.
const TRANSCRIPT: &str = include_str!("../../../examples/parse-logs.replay.jsonl");

/// Runs the demo until `shutdown` resolves.
pub async fn run(
    args: &DemoArgs,
    out: &mut (impl Write + Send),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("hone-demo-")
        .tempdir()
        .context("cannot make a temporary directory")?;
    let replay = dir.path().join("parse-logs.replay.jsonl");
    std::fs::write(&replay, TRANSCRIPT).context("cannot write the example's transcript")?;
    let key = demo_key()?;
    let settings = settings(args, dir.path(), &replay, &key)?;
    let app = Application::build(&settings).await?;
    let addr = app.local_addr().context("the demo serves HTTP")?;
    let running = tokio::spawn(app.run(shutdown));
    let base = format!("http://{addr}");
    writeln!(
        out,
        "hone demo: a service on {base}, database in {}",
        dir.path().display()
    )?;

    let client = Client::new(&ClientArgs {
        url: base.clone(),
        api_key: Some(key.parse().context("the demo key")?),
        key_file: dir.path().join("unused.key"),
    })?;
    let spec: serde_json::Value = serde_json::from_str(SPEC).context("the example spec")?;
    let job = client.submit_value(&spec).await?;
    let id = job["id"]
        .as_str()
        .context("the service answered without an id")?;
    writeln!(
        out,
        "submitted the example job {id}: parse_logs, which crashes on an empty line"
    )?;
    let ended = follow(&client, id, Output::Text, args.terminal, out).await?;
    // The binary that runs now, so the hint works without `hone` on the PATH.
    let hone = std::env::current_exe()
        .ok()
        .map_or_else(|| "hone".to_owned(), |p| p.display().to_string());
    writeln!(
        out,
        "\nThe job {} (exit status {} for `hone watch`).\n\
         Open the dashboard: {base}/jobs/{id}\n\
         Sign in with this key: {key}\n\
         Or from a terminal: HONE_URL={base} HONE_API_KEY={key} {hone} show {id}\n\
         Press Ctrl-C to stop; the demo's database is deleted then.",
        match ended.code() {
            0 => "succeeded",
            1 => "failed",
            _ => "was cancelled or errored",
        },
        ended.code()
    )?;
    out.flush()?;
    running.await.context("the demo service panicked")??;
    drop(dir);
    Ok(())
}

/// An admin key for the demo's database.
fn demo_key() -> anyhow::Result<String> {
    let request = KeyRequest {
        tenant: TenantId::default_tenant(),
        name: "demo".to_owned(),
        scopes: Scope::ALL.to_vec(),
        expires_in: None,
        by: hone_store::Actor::Operator,
    };
    let issued = issue(request, Timestamp::now())
        .map_err(|e| anyhow::anyhow!("cannot make the demo key: {}", e.message))?;
    Ok(issued.key)
}

/// `hone serve`'s settings for the demo: the temporary database and transcript, the key.
fn settings(args: &DemoArgs, dir: &Path, replay: &Path, key: &str) -> anyhow::Result<Settings> {
    let url = format!("sqlite://{}", dir.join("hone.db").display());
    let listen = args.listen.to_string();
    let argv = [
        "hone",
        "serve",
        "--listen",
        &listen,
        "--database-url",
        &url,
        "--bootstrap-key",
        key,
        "--replay-file",
        replay
            .to_str()
            .context("the temporary directory's path is not UTF-8")?,
    ];
    let cli = Cli::try_parse_from(argv).context("the demo's settings")?;
    match cli.command {
        Command::Serve(serve) => Ok(Settings::from(*serve)),
        _ => anyhow::bail!("the demo's settings are not `serve`"),
    }
}
