//! Unit and property tests of the SCIM core, one file per module.

mod discovery;
mod filter;
mod group;
mod limits;
mod list;
mod patch;
mod props;
mod user;
