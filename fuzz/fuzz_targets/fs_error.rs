//! Fuzz target: the Freshservice error-body classifier
//! (`shared::freshservice::error::classify` and the `FsError` predicates
//! that read `errors[]`) and the answer parsers of
//! `shared/src/freshservice/client.rs`, on any bytes.
//!
//! Input: two bytes of status (mapped onto 100..=999), one byte choosing a
//! `Retry-After` (or none), the rest the body (lossily UTF-8, as the
//! client reads it).
//!
//! Properties: nothing panics, and the classification is consistent: the
//! status decides retryability, a duplicate email is a duplicate value,
//! and a field-specific predicate implies the general one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use shared::freshservice::client;
use shared::freshservice::error::{classify, FsError};

fuzz_target!(|data: &[u8]| {
    let [hi, lo, ra, rest @ ..] = data else {
        return;
    };
    let code = 100 + u16::from_be_bytes([*hi, *lo]) % 900;
    let Ok(status) = StatusCode::from_u16(code) else {
        panic!("{code} is a valid status code");
    };
    let retry_after = (*ra != 0).then(|| u64::from(*ra) * 7);
    let body = String::from_utf8_lossy(rest).into_owned();

    let e = classify(status, retry_after, body.clone());
    let _ = e.to_string();
    let _ = e.class();
    let retryable = code == 429 || code == 408 || code >= 500;
    assert_eq!(e.is_retryable(), retryable, "{code} classified as {e:?}");
    match &e {
        FsError::RateLimited { .. } => assert_eq!(code, 429),
        FsError::Credentials { status, .. } => assert!(matches!(status, 401 | 403)),
        FsError::NotFound => assert_eq!(code, 404),
        FsError::DuplicateEmail { body: b } => {
            assert!(matches!(code, 400 | 409));
            assert_eq!(b, &body);
            assert!(
                e.is_any_duplicate_value(),
                "a duplicate email without a duplicate_value"
            );
        }
        FsError::Permanent { status, body: b } => {
            assert_eq!(*status, code);
            assert_eq!(b, &body);
        }
        FsError::Retryable { .. } | FsError::Redirected { .. } => {}
    }
    for field in [
        "primary_email",
        "secondary_emails",
        "email",
        "external_id",
        "name",
        "",
    ] {
        if e.is_duplicate_value(field) {
            assert!(
                e.is_any_duplicate_value(),
                "duplicate_value on {field} but not in general"
            );
        }
        if e.is_invalid_field(field) {
            assert_eq!(code, 400);
        }
    }

    let _ = client::parse_requester(&body);
    let _ = client::parse_requesters(&body);
    let _ = client::parse_departments(&body);
    let _ = client::parse_department(&body);
    let _ = client::parse_requester_groups(&body);
    let _ = client::parse_requester_group(&body);
    let _ = client::parse_group_members(&body);
});
