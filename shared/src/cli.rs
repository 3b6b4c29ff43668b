//! What the operator commands of both binaries share (`ingress tenant …`,
//! `ingress queues`, `worker resync`, `ingress/src/cli/`,
//! `worker/src/cli.rs`): plain-text tables for people, one JSON document
//! for scripts, and errors that say which setting to check.
//!
//! A table is a list of [`Column`]s over a row type, so a new field of a
//! row is one more entry in its column list, and its JSON follows from the
//! row's `Serialize`.

use std::fmt::Write as _;

/// One column of a table: its header, and the cell a row shows in it.
pub struct Column<R> {
    pub header: &'static str,
    pub cell: fn(&R) -> String,
}

/// `rows` as an aligned table under a header line, cells separated by two
/// spaces; empty cells show `-`.
pub fn table<R>(columns: &[Column<R>], rows: &[R]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    let v = (c.cell)(r);
                    if v.is_empty() {
                        "-".to_string()
                    } else {
                        v
                    }
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.header.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, values: Vec<&str>| {
        let mut l = String::new();
        for (i, v) in values.iter().enumerate() {
            if i + 1 == values.len() {
                l.push_str(v);
            } else {
                let _ = write!(l, "{v:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut out, columns.iter().map(|c| c.header).collect());
    for r in &cells {
        line(&mut out, r.iter().map(String::as_str).collect());
    }
    out
}

/// `value` as the one JSON document a `--json` command prints.
pub fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Runs a binary's body on a multi-threaded tokio runtime (`ingress` and
/// `worker` and their e2e shims start the same way).
pub fn block_on<T>(body: impl std::future::Future<Output = T>) -> std::io::Result<T> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(body))
}

/// A configuration that cannot be read ends the process with status 2 and
/// the reason on stderr, whichever binary and setting it is.
pub fn config_or_exit<T, E: std::fmt::Display>(read: Result<T, E>) -> T {
    match read {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    }
}

/// Logging for the process: a server (`serving`) gets the service's JSON
/// logs and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, trace export
/// (`crate::telemetry`; hold the guard until exit, it flushes the spans);
/// an operator command gets [`init_logs`].
pub fn init_process_logs(
    service: &'static str,
    serving: bool,
) -> Option<crate::telemetry::TraceExport> {
    if serving {
        Some(config_or_exit(crate::telemetry::init(service)))
    } else {
        init_logs();
        None
    }
}

/// Logging for an operator command: warnings and errors as text on stderr
/// (`RUST_LOG` still chooses), never on stdout where the table or JSON
/// goes. The broker's channel closes are off: a passive declare of a
/// missing queue closes its channel with a 404, which is an answer ("no
/// such queue", `queue/depth.rs`), not an error to show.
pub fn init_logs() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    if let Ok(d) = "lapin::channel=off".parse() {
        filter = filter.add_directive(d);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The advice an operator needs when Redis does not answer.
pub const CHECK_REDIS: &str = "check REDIS_URL (and that Redis is running)";
/// The advice an operator needs when RabbitMQ does not answer.
pub const CHECK_AMQP: &str = "check AMQP_URL (and that RabbitMQ is running)";

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        name: &'static str,
        n: u32,
    }

    #[test]
    fn aligns_columns_and_marks_empty_cells() {
        let cols = [
            Column::<Row> {
                header: "NAME",
                cell: |r| r.name.to_string(),
            },
            Column {
                header: "N",
                cell: |r| r.n.to_string(),
            },
        ];
        let t = table(
            &cols,
            &[
                Row {
                    name: "alpha",
                    n: 1,
                },
                Row { name: "", n: 22 },
            ],
        );
        assert_eq!(t, "NAME   N\nalpha  1\n-      22\n");
        assert_eq!(table(&cols, &[]), "NAME  N\n");
    }
}
