//! A report table, defined once and written twice: as CSV (text, exact decimals) and as
//! Parquet (Arrow types: integers, `Decimal128(38, 8)` for prices, quantities and money,
//! UTF-8, booleans; nulls where a value does not apply). Both come from the same columns, so
//! they hold the same rows.

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::sync::Arc;

/// Decimal places of prices, quantities and money (the SDK's fixed point).
pub(crate) const SCALE: i8 = 8;

/// One column's values.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Col {
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Signed integers, nullable.
    I64(Vec<Option<i64>>),
    /// Fixed point with 8 decimals, nullable.
    Dec(Vec<Option<i128>>),
    /// Text.
    Str(Vec<String>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Col::U64(v) => v.len(),
            Col::I64(v) => v.len(),
            Col::Dec(v) => v.len(),
            Col::Str(v) => v.len(),
            Col::Bool(v) => v.len(),
        }
    }

    /// The CSV text of row `r` (empty for null).
    fn text(&self, r: usize) -> String {
        match self {
            Col::U64(v) => v[r].to_string(),
            Col::I64(v) => v[r].map(|x| x.to_string()).unwrap_or_default(),
            Col::Dec(v) => v[r].map(decimal).unwrap_or_default(),
            Col::Str(v) => v[r].clone(),
            Col::Bool(v) => v[r].to_string(),
        }
    }

    /// Appends the values of `other` (of the same kind).
    fn extend(&mut self, other: Col) {
        match (self, other) {
            (Col::U64(a), Col::U64(b)) => a.extend(b),
            (Col::I64(a), Col::I64(b)) => a.extend(b),
            (Col::Dec(a), Col::Dec(b)) => a.extend(b),
            (Col::Str(a), Col::Str(b)) => a.extend(b),
            (Col::Bool(a), Col::Bool(b)) => a.extend(b),
            _ => {}
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Col::U64(_) => DataType::UInt64,
            Col::I64(_) => DataType::Int64,
            Col::Dec(_) => DataType::Decimal128(38, SCALE),
            Col::Str(_) => DataType::Utf8,
            Col::Bool(_) => DataType::Boolean,
        }
    }

    fn nullable(&self) -> bool {
        matches!(self, Col::I64(_) | Col::Dec(_))
    }

    fn array(&self) -> Result<ArrayRef, arrow_schema::ArrowError> {
        Ok(match self {
            Col::U64(v) => {
                let mut b = UInt64Builder::with_capacity(v.len());
                b.append_slice(v);
                Arc::new(b.finish())
            }
            Col::I64(v) => {
                let mut b = Int64Builder::with_capacity(v.len());
                v.iter().for_each(|x| b.append_option(*x));
                Arc::new(b.finish())
            }
            Col::Dec(v) => {
                let mut b = Decimal128Builder::with_capacity(v.len());
                v.iter().for_each(|x| b.append_option(*x));
                Arc::new(b.finish().with_precision_and_scale(38, SCALE)?)
            }
            Col::Str(v) => {
                let mut b = StringBuilder::with_capacity(v.len(), v.iter().map(String::len).sum());
                v.iter().for_each(|x| b.append_value(x));
                Arc::new(b.finish())
            }
            Col::Bool(v) => {
                let mut b = BooleanBuilder::with_capacity(v.len());
                v.iter().for_each(|x| b.append_value(*x));
                Arc::new(b.finish())
            }
        })
    }
}

/// A fixed-point value with 8 decimals as exact decimal text, trailing zeros dropped
/// (`-1.5`, `100`).
pub(crate) fn decimal(v: i128) -> String {
    lockstep_sim::Money(v).to_string()
}

/// A named table of equally long columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Table {
    pub(crate) cols: Vec<(String, Col)>,
}

impl Table {
    /// Adds a column.
    pub(crate) fn col(mut self, name: &str, c: Col) -> Self {
        self.cols.push((name.to_owned(), c));
        self
    }

    /// Rows (every column has this many).
    pub(crate) fn rows(&self) -> usize {
        self.cols.first().map_or(0, |(_, c)| c.len())
    }

    /// The table as CSV: a header line, then one line per row, `\n` line ends; a field with a
    /// comma, quote or line break is quoted with quotes doubled.
    pub(crate) fn csv(&self) -> Vec<u8> {
        let mut out = String::new();
        let head: Vec<String> = self.cols.iter().map(|(n, _)| field(n)).collect();
        out.push_str(&head.join(","));
        out.push('\n');
        for r in 0..self.rows() {
            let line: Vec<String> = self.cols.iter().map(|(_, c)| field(&c.text(r))).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out.into_bytes()
    }

    /// The table as one Parquet file (one row group, uncompressed).
    ///
    /// # Errors
    /// The Arrow or Parquet writer's message (only on an internal inconsistency).
    pub(crate) fn parquet(&self) -> Result<Vec<u8>, String> {
        let fields: Vec<Field> = self
            .cols
            .iter()
            .map(|(n, c)| Field::new(n.as_str(), c.data_type(), c.nullable()))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let arrays = self
            .cols
            .iter()
            .map(|(_, c)| c.array())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
        let props = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .set_created_by(format!("lockstep-replay {}", env!("CARGO_PKG_VERSION")))
            .build();
        let mut out = Vec::new();
        let mut w =
            ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.close().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// Reads a report's Parquet file back as the CSV text the report wrote beside it (the same
/// rows, the same decimal text), to check a report or convert one.
///
/// # Errors
/// The Parquet reader's message for a file that is not Parquet, or a column type the report
/// never writes.
pub fn parquet_to_csv(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    let mut cols: Vec<(String, Col)> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        for (i, f) in batch.schema().fields().iter().enumerate() {
            let a = batch.column(i);
            let col = match f.data_type() {
                DataType::UInt64 => Col::U64(a.as_primitive::<UInt64Type>().values().to_vec()),
                DataType::Int64 => {
                    let p = a.as_primitive::<Int64Type>();
                    Col::I64((0..p.len()).map(|k| p.is_valid(k).then(|| p.value(k))).collect())
                }
                DataType::Decimal128(_, SCALE) => {
                    let p = a.as_primitive::<Decimal128Type>();
                    Col::Dec((0..p.len()).map(|k| p.is_valid(k).then(|| p.value(k))).collect())
                }
                DataType::Utf8 => Col::Str(
                    a.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_owned()).collect(),
                ),
                DataType::Boolean => {
                    Col::Bool(a.as_boolean().iter().map(|b| b.unwrap_or_default()).collect())
                }
                t => {
                    return Err(format!(
                        "column {}: type {t} is not one a report writes",
                        f.name()
                    ));
                }
            };
            match cols.get_mut(i) {
                Some((_, have)) => have.extend(col),
                None => cols.push((f.name().clone(), col)),
            }
        }
    }
    Ok(Table { cols }.csv())
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table::default()
            .col("n", Col::U64(vec![0, 1, 2]))
            .col("t", Col::I64(vec![Some(-5), None, Some(7)]))
            .col("px", Col::Dec(vec![Some(150_000_000), Some(-1), None]))
            .col("sym", Col::Str(vec!["A".into(), "B,C".into(), "say \"x\"".into()]))
            .col("maker", Col::Bool(vec![true, false, true]))
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_writes_exact_decimals() {
        let csv = String::from_utf8(sample().csv()).unwrap();
        assert_eq!(
            csv,
            "n,t,px,sym,maker\n0,-5,1.5,A,true\n1,,-0.00000001,\"B,C\",false\n2,7,,\"say \"\"x\"\"\",true\n"
        );
    }

    #[test]
    fn parquet_reads_back_as_the_same_rows_and_is_byte_identical() {
        let t = sample();
        let a = t.parquet().unwrap();
        assert_eq!(a, t.parquet().unwrap());
        assert_eq!(parquet_to_csv(&a).unwrap(), t.csv());
    }
}
