//! The `hone` binary: parses the command line, sets up logging, and runs the sub-command.

use clap::Parser;
use hone::app::Application;
use hone::config::{Cli, Command, Settings};

/// Telemetry is set up, and flushed, outside the async runtime: the OTLP exporter sends from
/// its own thread with a blocking client, which must not be built or waited on inside it.
/// A failure prints its message and causes on one line (no backtrace, whatever
/// `RUST_BACKTRACE` says) and exits with status 1, or for a client command with the status of
/// its kind (`hone::client::failure`: 3 refused, 4 unreachable, 5 bad input); a command line
/// clap refuses exits 64. A command that reports an outcome (`watch`, `submit --watch`) exits
/// with its status (0 succeeded, 1 failed, 2 cancelled or errored).
fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are answers, not failures.
            let code = if e.use_stderr() {
                hone::client::failure::USAGE
            } else {
                0
            };
            return std::process::ExitCode::from(code);
        }
    };
    let client = cli.command.is_client();
    match start(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        // `hone jobs | head`: the reader has what it wanted.
        Err(e) if hone::client::failure::is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hone: {e:#}");
            if client {
                std::process::ExitCode::from(hone::client::failure::code_of(&e))
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

fn start(mut cli: Cli) -> anyhow::Result<u8> {
    // The demo's output is its story; the service's info lines would bury it.
    if matches!(cli.command, Command::Demo(_)) && std::env::var_os("HONE_LOG").is_none() {
        cli.log.filter = "warn".to_owned();
    }
    let telemetry = hone::telemetry::init(&cli.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(command(cli.command));
    drop(runtime);
    telemetry.shutdown();
    result
}

async fn command(command: Command) -> anyhow::Result<u8> {
    let stdout = &mut std::io::stdout();
    let done = |()| 0;
    match command {
        Command::Serve(args) => run(Settings::from(*args)).await.map(done),
        Command::Api(args) => run(Settings::from(*args)).await.map(done),
        Command::Worker(args) => run(Settings::from(*args)).await.map(done),
        Command::Migrate(args) => {
            let store = hone::store::connect(&args.database_url).await?;
            tracing::info!(backend = store.backend(), "database is migrated");
            Ok(0)
        }
        Command::Keys(command) => hone::access::run(command).await.map(done),
        Command::Tenants(command) => hone::tenants::run(command).await.map(done),
        Command::Prune(args) => hone::prune::run(args).await.map(done),
        Command::Submit(args) => {
            let ended = hone::client::submit(&args, true, stdout).await?;
            Ok(ended.map_or(0, |e| e.code()))
        }
        Command::Watch(args) => Ok(hone::client::watch::watch(&args, true, stdout)
            .await?
            .code()),
        Command::Demo(mut args) => {
            args.terminal = true;
            hone::demo::run(&args, stdout, shutdown_signal())
                .await
                .map(done)
        }
        Command::Jobs(args) => hone::client::jobs(&args, stdout).await.map(done),
        Command::Cancel(args) => hone::client::cancel(&args, stdout).await.map(done),
        Command::Retry(args) => hone::client::retry(&args, stdout).await.map(done),
        Command::Show(args) => hone::client::show::show(&args, stdout).await.map(done),
        Command::Export(args) => hone::client::export::export(&args, stdout).await.map(done),
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
