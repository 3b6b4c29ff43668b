//! The ingress serving HTTPS itself (`TLS_CERT_FILE`/`TLS_KEY_FILE`) with a
//! certificate signed by a self-made CA (`tests/e2e/src/tls.rs`): SCIM and
//! `/healthz` answer over TLS to a client trusting that CA; plain HTTP to
//! the port and a client trusting only the public roots get nothing; a
//! client that never finishes its handshake is dropped after the
//! header-read timeout without holding up anyone else; and shutdown does
//! not wait for handshakes or idle TLS connections.

use std::time::Duration;

use e2e::{okta_user, wait_for, Stack, StackOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(conn: &mut TcpStream, deadline: Duration) -> anyhow::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let until = Instant::now() + deadline;
    loop {
        match tokio::time::timeout_at(until, conn.read(&mut buf)).await {
            Err(_) => anyhow::bail!("the server kept the connection open for {deadline:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn tls_stack(header_timeout: Duration) -> StackOptions {
    StackOptions {
        workers: 0,
        tls: true,
        ingress_env: [
            (
                "HTTP_HEADER_READ_TIMEOUT_MS".to_string(),
                header_timeout.as_millis().to_string(),
            ),
            // Long, so what closes a silent client is the handshake's bound.
            ("HTTP_IDLE_TIMEOUT_MS".to_string(), "60000".to_string()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_and_healthz_answer_over_https_and_nothing_else_gets_through() -> anyhow::Result<()> {
    let header_timeout = Duration::from_millis(1_000);
    let s = Stack::start_with(tls_stack(header_timeout)).await?;
    let base = s.ingress_url.clone();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    // SCIM over HTTPS, with the client that trusts the stack's CA.
    let (status, body) = s.scim("GET", "/ServiceProviderConfig", None).await?;
    assert_eq!(status, 200, "{body}");
    assert!(body["patch"]["supported"].is_boolean(), "{body}");
    let (status, body) = s
        .scim(
            "POST",
            "/Users",
            Some(okta_user("tls.ada@example.com", "Ada", "Lovelace")),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    // The base URL the ingress derived for itself is https too.
    let location = body["meta"]["location"].as_str().unwrap_or_default();
    assert!(
        location.starts_with(&format!("{base}/scim/v2/Users/")),
        "{location}"
    );
    let health = s.http.get(format!("{base}/healthz")).send().await?;
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.version(), reqwest::Version::HTTP_11);
    assert_eq!(health.text().await?, "ok");

    // Plain HTTP to the TLS port: no HTTP answer, through reqwest or raw.
    let plain = base.replacen("https://", "http://", 1);
    let refused = s
        .http
        .get(format!("{plain}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(refused.is_err(), "plain HTTP got {refused:?}");
    let mut raw = TcpStream::connect(s.ingress.addr).await?;
    raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: ingress\r\nConnection: close\r\n\r\n")
        .await?;
    let answer = read_to_close(&mut raw, Duration::from_secs(10)).await?;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&answer)
    );

    // A client that does not trust the self-made CA fails the handshake.
    let stranger = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let err = stranger.expect_err("a client without the CA was served");
    assert!(err.is_connect(), "{err:?}");
    let chain = format!("{err:?}");
    assert!(
        chain.contains("UnknownIssuer"),
        "not a certificate error: {chain}"
    );

    // The trusting client still gets through after all that.
    let (status, _) = s.scim("GET", "/ServiceProviderConfig", None).await?;
    assert_eq!(status, 200);
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_handshake_is_dropped_after_the_header_timeout_and_blocks_no_one(
) -> anyhow::Result<()> {
    let header_timeout = Duration::from_millis(1_000);
    let s = Stack::start_with(tls_stack(header_timeout)).await?;
    // Clients that connect and never send their ClientHello, and one that
    // sends a first byte of one and stalls.
    let mut silent = Vec::new();
    for i in 0..5 {
        let opened = Instant::now();
        let mut c = TcpStream::connect(s.ingress.addr).await?;
        if i == 0 {
            c.write_all(&[0x16, 0x03, 0x01]).await?;
        }
        silent.push((opened, c));
    }
    wait_for(
        "the ingress to take the silent connections",
        Duration::from_secs(10),
        || async { Ok((s.ingress.connections.open() >= 5).then_some(())) },
    )
    .await?;
    // Meanwhile a real client is served at once: the handshakes wait in
    // their own tasks, not in the accept loop.
    let started = Instant::now();
    let health = s
        .http
        .get(format!("{}/healthz", s.ingress_url))
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    assert_eq!(health.status().as_u16(), 200);
    let took = started.elapsed();
    assert!(
        took < header_timeout,
        "/healthz took {took:?} behind silent handshakes"
    );
    for (opened, mut c) in silent {
        let got = read_to_close(&mut c, Duration::from_secs(15)).await?;
        let after = opened.elapsed();
        assert!(
            after >= header_timeout,
            "closed after {after:?}, before the header timeout"
        );
        assert!(got.is_empty(), "a silent client was sent {got:?}");
    }
    wait_for(
        "every connection to be closed",
        Duration::from_secs(10),
        || async { Ok((s.ingress.connections.open() == 0).then_some(())) },
    )
    .await?;
    s.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_no_handshake_and_no_idle_tls_connection() -> anyhow::Result<()> {
    // Long, so only the shutdown can end the stalled handshake in time.
    let mut s = Stack::start_with(tls_stack(Duration::from_secs(60))).await?;
    let mut silent = TcpStream::connect(s.ingress.addr).await?;
    // An idle keep-alive TLS connection in the client's pool.
    let health = s
        .http
        .get(format!("{}/healthz", s.ingress_url))
        .send()
        .await?;
    assert_eq!(health.text().await?, "ok");
    wait_for(
        "both connections to be open",
        Duration::from_secs(10),
        || async { Ok((s.ingress.connections.open() >= 2).then_some(())) },
    )
    .await?;
    let stopped = Instant::now();
    s.ingress.stop.cancel();
    let served = tokio::time::timeout(Duration::from_secs(10), &mut s.ingress.handle).await;
    assert!(
        served.is_ok(),
        "the ingress did not stop within 10 s with a handshake pending"
    );
    read_to_close(&mut silent, Duration::from_secs(5)).await?;
    eprintln!("stopped in {:?}", stopped.elapsed());
    assert_eq!(s.ingress.connections.open(), 0);
    Ok(())
}
