//! The admin pages end to end, one test binary: the install API, the
//! settings and status pages over HTTP, and a real headless Chromium.
//! Every stack logs to the suite-wide capture (`e2e::logscan`); the tests
//! check it in-process for the secrets they used.

mod common;

mod browser;
mod groups;
mod install;
mod mapping;
mod pages;
