//! The `hone` binary: parses the command line and runs the sub-command.

use clap::Parser;
use hone::app::{Application, Role};
use hone::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HONE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => run(&args, Role::Both).await,
        Command::Api(args) => run(&args, Role::Api).await,
        Command::Worker(args) => run(&args, Role::Worker).await,
        Command::Migrate(args) => {
            let store = hone::store::connect(&args.database_url).await?;
            tracing::info!(backend = store.backend(), "database is migrated");
            Ok(())
        }
    }
}

async fn run(args: &hone::config::ServeArgs, role: Role) -> anyhow::Result<()> {
    let app = Application::build(args, role).await?;
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
