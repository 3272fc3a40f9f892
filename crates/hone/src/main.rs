//! The `hone` binary: parses the command line, sets up logging, and runs the sub-command.

use clap::Parser;
use hone::app::Application;
use hone::config::{Cli, Command, Settings};

/// Telemetry is set up, and flushed, outside the async runtime: the OTLP exporter sends from
/// its own thread with a blocking client, which must not be built or waited on inside it.
/// A failure prints its message and causes on one line (no backtrace, whatever
/// `RUST_BACKTRACE` says) and exits with status 1.
fn main() -> std::process::ExitCode {
    match start() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hone: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = hone::telemetry::init(&cli.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(command(cli.command));
    drop(runtime);
    telemetry.shutdown();
    result
}

async fn command(command: Command) -> anyhow::Result<()> {
    match command {
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
        Command::Submit(args) => hone::client::submit(&args, &mut std::io::stdout()).await,
        Command::Jobs(args) => hone::client::jobs(&args, &mut std::io::stdout()).await,
        Command::Cancel(args) => hone::client::cancel(&args, &mut std::io::stdout()).await,
        Command::Retry(args) => hone::client::retry(&args, &mut std::io::stdout()).await,
        Command::Show(args) => hone::client::show::show(&args, &mut std::io::stdout()).await,
    }
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
