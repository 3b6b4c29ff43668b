//! With `OTEL_EXPORTER_OTLP_ENDPOINT` unset, `telemetry::init` builds no
//! exporter and starts no batch thread; set to no URL, it is refused. Its own test binary because `init`
//! installs the process-wide subscriber.

/// Names of this process's threads (Linux keeps 15 bytes of each).
fn thread_names() -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_dir("/proc/self/task")?
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect())
}

#[test]
fn unset_endpoint_means_no_exporter_and_no_thread() {
    // The only test in this binary: nothing else reads the environment.
    std::env::remove_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    // A value that is no URL is refused before anything is installed.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318");
    let e = shared::telemetry::init("otel-off-service").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("OTEL_EXPORTER_OTLP_ENDPOINT is not"),
        "{e}"
    );
    std::env::remove_var("OTEL_EXPORTER_OTLP_ENDPOINT");
    let before = thread_names().unwrap().len();
    let traces = shared::telemetry::init("otel-off-service").unwrap();
    assert!(!traces.is_on());
    tracing::info_span!("otel-off-span").in_scope(|| tracing::info!("logged only"));
    let names = thread_names().unwrap();
    assert!(
        !names.iter().any(|n| n.starts_with("OpenTelemetry")),
        "{names:?}"
    );
    assert_eq!(names.len(), before, "init started a thread: {names:?}");
    traces.shutdown();
}
