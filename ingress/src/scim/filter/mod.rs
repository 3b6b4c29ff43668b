//! SCIM filter expressions (RFC 7644 §3.4.2.2): parser, type checks and matching.
//!
//! Grammar (precedence `not` > `and` > `or`; keywords and attribute names are
//! case-insensitive):
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")" / "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"      ; valFilter: no nested valuePath
//! attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
//! compValue = false / null / true / number / string   ; JSON literals
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ```
//!
//! Attribute paths are resolved against the schema table at parse time, so an
//! unknown attribute or a comparison of the wrong type is a 400
//! `invalidFilter`, never a filter that silently matches nothing.
//!
//! Decisions where the RFC is loose:
//! - `ne` is the negation of `eq`: a user without the attribute matches `ne`.
//! - `eq null` matches an absent (or null) attribute, `ne null` a present one;
//!   other operators with `null` are rejected.
//! - A boolean attribute also accepts the strings `"true"`/`"false"` (any case).
//! - A multi-valued complex attribute compared without a sub-attribute
//!   (`emails co "x"`) compares its `value` sub-attribute (RFC 7644 example).
//! - `co`/`sw`/`ew` on a dateTime compare the text; ordering operators parse
//!   both sides as RFC 3339 instants.
//!
//! Here: the types and the entry points. `lex` tokenizes, `parse` builds
//! and type-checks the tree, `eval` matches it against a rendered resource.

mod eval;
mod lex;
mod parse;

use super::schema::{AttrDef, Resource};
use super::ScimError;
use parse::Scope;

pub(crate) use eval::get_ci;

/// Deepest nesting of parentheses / `not` accepted (keeps recursion bounded).
const MAX_DEPTH: usize = 32;

/// Most attribute expressions one filter may hold. A chain of `and`/`or`
/// builds a tree as deep as it is long, and matching and dropping it
/// recurse through that depth: this bound (with [`MAX_DEPTH`]) keeps every
/// filter a request can build a few hundred frames deep at most. Okta sends
/// one term; the conformance checkers a handful.
pub const MAX_TERMS: usize = 100;

/// Longest filter text accepted, in characters (the tokenizer holds it all).
pub const MAX_FILTER_CHARS: usize = 10_000;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn from_word(w: &str) -> Option<CompareOp> {
        Some(match w.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
    fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
    fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// How values of an attribute compare, from its schema definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str {
        case_exact: bool,
    },
    Bool,
    DateTime,
    Num,
    /// Only `pr` applies.
    Complex,
    /// Custom field or sub-attribute of an attribute outside the schema: typed by its JSON value.
    Any,
}

/// Indexed attributes the store can answer an `eq` from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexedAttr {
    UserName,
    ExternalId,
    Email,
    /// The resource id itself: a direct read, no index needed.
    Id,
}

/// Indexed attributes of a Group the store can answer an `eq` from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupIndexedAttr {
    DisplayName,
    ExternalId,
    Id,
}

/// A resolved attribute path.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrRef {
    /// As written in the filter (for messages).
    pub text: String,
    /// JSON member names walked from the evaluation context (arrays are flattened).
    pub steps: Vec<String>,
    pub kind: Kind,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrRef),
    Compare(AttrRef, CompareOp, CompValue),
    /// `attr[filter]`: true when some element of `attr` matches the inner filter,
    /// whose paths are relative to the element.
    ValuePath(AttrRef, Box<Filter>),
}

/// Parse a User filter (`GET /Users?filter=`).
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    parse_for(Resource::User, input)
}

/// Parse a Group filter (`GET /Groups?filter=`).
pub fn parse_group(input: &str) -> Result<Filter, ScimError> {
    parse_for(Resource::Group, input)
}

/// Parse a filter against a resource type's schema.
pub fn parse_for(resource: Resource, input: &str) -> Result<Filter, ScimError> {
    parse::filter(input, Scope::Root(resource))
}

/// Parse the filter inside a PATCH value path (`emails[type eq "work"]`), its
/// attribute names relative to `parent` (`None`: an attribute outside the
/// schema, any sub-attribute name accepted).
pub(crate) fn parse_value_filter(
    input: &str,
    parent: Option<&'static AttrDef>,
) -> Result<Filter, ScimError> {
    let scope = match parent {
        Some(d) if !d.open => Scope::Sub(d),
        _ => Scope::Generic,
    };
    parse::filter(input, scope)
}
