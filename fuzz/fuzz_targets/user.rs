//! Fuzz target: the SCIM User decoder (`ingress::scim::user::from_request`,
//! what `POST`/`PUT /Users` turn a body into) and the Group decoder
//! (`ingress::scim::group::from_request`), on any JSON.
//!
//! Properties: nothing panics; a refusal is a 4xx; an accepted User is
//! valid, within the `MAX_VALUES` bound, a fixed point of the decoder
//! (decoding the stored form again changes nothing), and survives Okta's
//! GET-then-PUT cycle (its rendering decodes back to the same document).
#![no_main]

use bridge_fuzz as common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match ingress::scim::group::from_request(&body) {
        Ok(g) => common::check_group_doc(&g.doc),
        Err(e) => common::assert_4xx(&e),
    }
    match ingress::scim::user::from_request(body) {
        Ok(doc) => common::check_stored_user(&doc),
        Err(e) => common::assert_4xx(&e),
    }
});
