//! The ingress's HTTP server under a slowloris: idle sockets and sockets
//! that send half a header and stall are closed after the header-read
//! timeout, never more than `HTTP_MAX_CONNECTIONS` are served at once, and
//! `/healthz` answers again once the stalled ones are gone — including on a
//! connection that waited beyond the cap. The numbers stay small (cap 50)
//! so the test needs no raised descriptor limit.

use std::time::Duration;

use e2e::{wait_for, Stack, StackOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

const CAP: usize = 50;
const HEADER_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(conn: &mut TcpStream, deadline: Duration) -> anyhow::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let until = Instant::now() + deadline;
    loop {
        match tokio::time::timeout_at(until, conn.read(&mut buf)).await {
            Err(_) => anyhow::bail!(
                "the server kept the connection open for {deadline:?} (got {:?})",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_closed_and_healthz_still_answers() -> anyhow::Result<()> {
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ingress_env: [
            ("HTTP_MAX_CONNECTIONS", CAP.to_string()),
            (
                "HTTP_HEADER_READ_TIMEOUT_MS",
                HEADER_TIMEOUT.as_millis().to_string(),
            ),
            // Long, so what closes the stalled sockets is the header timeout.
            ("HTTP_IDLE_TIMEOUT_MS", "60000".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        ..Default::default()
    })
    .await?;
    let addr = s.ingress.addr;

    // Fill the cap: half the sockets say nothing, half send part of a
    // request head and stall.
    let mut stalled = Vec::new();
    for i in 0..CAP {
        // Taken before connecting: the server's clock cannot start earlier.
        let opened = Instant::now();
        let mut c = TcpStream::connect(addr).await?;
        if i % 2 == 1 {
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: ingress\r\nX-Slow: ")
                .await?;
        }
        stalled.push((opened, c));
    }
    wait_for(
        "the ingress to serve the stalled connections",
        Duration::from_secs(10),
        || async { Ok((s.ingress.connections.open() >= CAP).then_some(())) },
    )
    .await?;

    // Beyond the cap: they connect (the kernel queues them) but are not
    // served until a slot frees. One asks for /healthz right away.
    let mut beyond = Vec::new();
    for _ in 0..20 {
        beyond.push(TcpStream::connect(addr).await?);
    }
    let mut waiting = TcpStream::connect(addr).await?;
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: ingress\r\nConnection: close\r\n\r\n")
        .await?;

    // (a) Every stalled connection is closed by the server after the
    // header-read timeout (never before it), without an answer to
    // a request it never finished.
    let mut closed_after = Vec::new();
    for (opened, mut c) in stalled {
        let got = read_to_close(&mut c, Duration::from_secs(15)).await?;
        let after = opened.elapsed();
        assert!(
            after >= HEADER_TIMEOUT,
            "closed after {after:?}, before the header timeout"
        );
        assert!(
            !String::from_utf8_lossy(&got).contains(" 200 "),
            "a half-sent request got an answer: {:?}",
            String::from_utf8_lossy(&got)
        );
        closed_after.push(after);
    }

    // (b) The connection that waited beyond the cap is served.
    let answer = read_to_close(&mut waiting, Duration::from_secs(15)).await?;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    // And a fresh client gets /healthz within a deadline, while the 20
    // idle ones beyond the cap are still open or being timed out.
    let started = Instant::now();
    let health = s
        .http
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    assert_eq!(health.status().as_u16(), 200);
    let healthz_took = started.elapsed();

    // The idle ones beyond the cap are closed as well, once served.
    for mut c in beyond {
        read_to_close(&mut c, Duration::from_secs(15)).await?;
    }
    assert!(
        s.ingress.connections.peak() <= CAP,
        "served {} connections at once, over the cap of {CAP}",
        s.ingress.connections.peak()
    );
    wait_for(
        "every connection to be closed",
        Duration::from_secs(10),
        || async { Ok((s.ingress.connections.open() == 0).then_some(())) },
    )
    .await?;
    eprintln!(
        "stalled connections closed after {:?}..{:?}; /healthz took {healthz_took:?}",
        closed_after.iter().min().unwrap(),
        closed_after.iter().max().unwrap()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_closed_after_the_idle_timeout() -> anyhow::Result<()> {
    let idle = Duration::from_millis(1_000);
    let s = Stack::start_with(StackOptions {
        workers: 0,
        ingress_env: [
            ("HTTP_IDLE_TIMEOUT_MS", idle.as_millis().to_string()),
            // Long: the header is complete, so this one is not what closes it.
            ("HTTP_HEADER_READ_TIMEOUT_MS", "60000".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        ..Default::default()
    })
    .await?;
    let opened = Instant::now();
    let mut c = TcpStream::connect(s.ingress.addr).await?;
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: ingress\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\":",
        s.token
    );
    c.write_all(head.as_bytes()).await?;
    read_to_close(&mut c, Duration::from_secs(15)).await?;
    assert!(
        opened.elapsed() >= idle,
        "closed after {:?}",
        opened.elapsed()
    );
    eprintln!("stalled body closed after {:?}", opened.elapsed());
    Ok(())
}
