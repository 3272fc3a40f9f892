//! The `hone` binary: parses the command line, sets up logging, and runs the sub-command.

use std::io::IsTerminal;

use clap::Parser;
use hone::app::Application;
use hone::config::{Cli, Command, LogArgs, LogFormat, Settings};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log)?;
    match cli.command {
        Command::Serve(args) => run(Settings::from(*args)).await,
        Command::Api(args) => run(Settings::from(*args)).await,
        Command::Worker(args) => run(Settings::from(*args)).await,
        Command::Migrate(args) => {
            let store = hone::store::connect(&args.database_url).await?;
            tracing::info!(backend = store.backend(), "database is migrated");
            Ok(())
        }
        Command::Keys(command) => hone::access::run(command).await,
        Command::Tenants(command) => hone::tenants::run(command).await,
        Command::Prune(args) => hone::prune::run(args).await,
    }
}

/// Logs to stderr: coloured text on a terminal, plain text elsewhere, or JSON lines. Postgres
/// notices (`relation "_sqlx_migrations" already exists` on every start) are not worth a line
/// unless asked for by name.
fn init_logging(log: &LogArgs) -> anyhow::Result<()> {
    let mut directives = log.filter.clone();
    if !directives.contains("sqlx") {
        directives.push_str(",sqlx::postgres::notice=warn");
    }
    let filter = EnvFilter::try_new(&directives)
        .map_err(|e| anyhow::anyhow!("HONE_LOG / --log {:?} is not a filter: {e}", log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match log.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
    Ok(())
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(&settings).await?;
    app.run(shutdown_signal()).await
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
