//! The exports as Parquet (`?format=parquet`), the columnar format datasets are shared in:
//! one column per record field, nested where the record nests (a trajectory's `messages` is
//! a list of `{role, content, weight}`, tags a list of strings), a critique as its JSON text.
//! Pages of the stream gather into a row group (Snappy-compressed) of up to
//! [`ROWS_PER_GROUP`] rows or [`BYTES_PER_GROUP`] encoded bytes, sent as soon as it is
//! written; statistics are cut to [`STATS_BYTES`], so the footer, which describes every row
//! group and goes last, stays small. Memory stays about one row group however many rows.

use std::sync::Arc;

use arrow_json::reader::{Decoder, ReaderBuilder};
use arrow_schema::{DataType, Field, Fields, Schema};
use axum::body::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::Kind;

/// Why a Parquet page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// A record did not fit the schema.
    #[error("a record does not fit the Parquet schema: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The writer failed.
    #[error("writing Parquet failed: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Flushing the writer's buffer failed.
    #[error("writing Parquet failed: {0}")]
    Io(#[from] std::io::Error),
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn strings(name: &str) -> Field {
    Field::new_list(name, Field::new_list_field(DataType::Utf8, true), true)
}

/// A list of chat messages: `role`, `content` and (trajectories) `weight`.
fn messages(name: &str, weight: bool) -> Field {
    let mut fields = vec![text("role"), text("content")];
    if weight {
        fields.push(int("weight"));
    }
    let item = Field::new_list_field(DataType::Struct(Fields::from(fields)), true);
    Field::new_list(name, item, true)
}

/// The columns of each export.
fn schema(kind: Kind) -> Schema {
    let fields = match kind {
        Kind::Preferences => vec![
            text("job_id"),
            text("language"),
            text("model"),
            messages("prompt", false),
            text("rejected"),
            text("chosen"),
            int("rejected_iteration"),
            int("chosen_iteration"),
            text("rejected_status"),
            text("rejected_error"),
            text("chosen_status"),
            text("rejected_critique"),
            strings("tags"),
            strings("redacted"),
        ],
        Kind::Trajectories { metadata } => {
            let mut fields = vec![messages("messages", true)];
            if metadata {
                let meta = Fields::from(vec![
                    text("job_id"),
                    text("language"),
                    text("model"),
                    int("iterations"),
                    strings("tags"),
                    strings("redacted"),
                ]);
                fields.push(Field::new("metadata", DataType::Struct(meta), true));
            }
            fields
        }
        Kind::Critiques => vec![
            text("job_id"),
            int("iteration"),
            text("language"),
            text("task"),
            text("tests"),
            text("code"),
            text("run_status"),
            text("run_error"),
            text("critique"),
            text("critic_model"),
            int("next_iteration"),
            Field::new("next_passed", DataType::Boolean, true),
            strings("tags"),
            strings("redacted"),
        ],
    };
    Schema::new(fields)
}

/// Rows a row group holds at most.
const ROWS_PER_GROUP: usize = 10_000;
/// Encoded bytes a row group holds at most before it is written out.
const BYTES_PER_GROUP: usize = 8 * 1024 * 1024;
/// The longest min/max statistic kept of a text column (code, tasks) in the footer.
const STATS_BYTES: usize = 64;

/// The fields kept as JSON text: free-form objects with no fixed columns.
const AS_JSON: [&str; 2] = ["rejected_critique", "critique"];

/// A Parquet file being streamed.
pub(super) struct ParquetSink {
    decoder: Decoder,
    writer: ArrowWriter<Vec<u8>>,
}

impl ParquetSink {
    /// A file of `kind`'s records.
    pub(super) fn new(kind: Kind) -> Result<Self, ParquetError> {
        let schema = Arc::new(schema(kind));
        let decoder = ReaderBuilder::new(schema.clone()).build_decoder()?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(ROWS_PER_GROUP)
            .set_statistics_truncate_length(Some(STATS_BYTES))
            .set_column_index_truncate_length(Some(STATS_BYTES))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), schema, Some(props))?;
        Ok(Self { decoder, writer })
    }

    /// Adds one page of records, writing out the row group when it is full; the bytes ready
    /// to send (often none).
    pub(super) fn page(&mut self, mut records: Vec<Value>) -> Result<Bytes, ParquetError> {
        for record in &mut records {
            for key in AS_JSON {
                if let Some(v) = record.get_mut(key)
                    && !v.is_null()
                {
                    *v = Value::String(v.to_string());
                }
            }
        }
        self.decoder.serialize(&records)?;
        if let Some(batch) = self.decoder.flush()? {
            self.writer.write(&batch)?;
            if self.writer.in_progress_rows() >= ROWS_PER_GROUP
                || self.writer.in_progress_size() >= BYTES_PER_GROUP
            {
                self.writer.flush()?;
            }
            self.writer.sync()?;
        }
        Ok(Bytes::from(std::mem::take(self.writer.inner_mut())))
    }

    /// Writes the footer; the file's last bytes.
    pub(super) fn finish(self) -> Result<Bytes, ParquetError> {
        Ok(Bytes::from(self.writer.into_inner()?))
    }
}
