//! Logging and tracing for the binary: log lines to stderr (text or JSON, filtered by
//! `HONE_LOG`), and, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set,
//! spans exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the
//! default, or `http/json`) with W3C trace-context propagation. The exporter reads the
//! standard `OTEL_*` variables (headers, timeout, `OTEL_SERVICE_NAME`, batch delays).

use std::io::IsTerminal;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogArgs, LogFormat};

/// What must be flushed before the process exits.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "spans could not all be exported at shutdown");
        }
    }
}

fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

fn provider() -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .context("cannot build the OTLP span exporter (OTEL_EXPORTER_OTLP_*)")?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "hone".to_owned());
    let resource = Resource::builder()
        .with_service_name(service)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Sets up logging, and span export when configured.
pub fn init(log: &LogArgs) -> anyhow::Result<Telemetry> {
    let mut directives = log.filter.clone();
    // Postgres notices (`relation "_sqlx_migrations" already exists` on every start) are not
    // worth a line unless asked for by name.
    if !directives.contains("sqlx") {
        directives.push_str(",sqlx::postgres::notice=warn");
    }
    let filter = EnvFilter::try_new(&directives)
        .map_err(|e| anyhow::anyhow!("HONE_LOG / --log {:?} is not a filter: {e}", log.filter))?;
    let lines = match log.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .boxed(),
    };
    let provider = if otlp_configured() {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        Some(provider()?)
    } else {
        None
    };
    // Spans go out whatever HONE_LOG says: hone's own, at info and above.
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("hone"))
            .with_filter(Targets::new().with_target("hone", tracing::Level::INFO))
    });
    tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(otel)
        .try_init()
        .context("cannot set up logging")?;
    if provider.is_some() {
        tracing::info!("exporting spans over OTLP");
    }
    Ok(Telemetry { provider })
}
