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

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::schema::{self, AttrDef, AttrType, Resource};
use super::ScimError;

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
    Parser::new(input, Scope::Root(resource))?.parse_all()
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
    Parser::new(input, scope)?.parse_all()
}

impl Filter {
    /// Whether a rendered resource (with `id` and `meta`) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(f) => !f.matches(resource),
            Filter::Present(a) => values(resource, &a.steps).iter().any(|v| present(v)),
            Filter::Compare(a, op, lit) => compare(a, *op, lit, resource),
            Filter::ValuePath(a, inner) => values(resource, &a.steps)
                .iter()
                .any(|elem| inner.matches(elem)),
        }
    }

    /// `Some` when the whole filter is one `eq` on userName, externalId or
    /// emails.value (also `emails eq "…"` and `emails[value eq "…"]`). The
    /// string is the index key: folded for userName and email (both
    /// caseExact=false; `shared::identity::fold`), exact for externalId.
    /// Callers still re-check `matches`.
    pub fn indexed_eq(&self) -> Option<(IndexedAttr, String)> {
        match self {
            Filter::Compare(a, CompareOp::Eq, CompValue::Str(s)) => {
                let attr = indexed_attr(&a.steps)?;
                Some((attr, index_key(attr, s)))
            }
            Filter::ValuePath(a, inner) if steps_are(&a.steps, &["emails"]) => match &**inner {
                Filter::Compare(b, CompareOp::Eq, CompValue::Str(s))
                    if steps_are(&b.steps, &["value"]) =>
                {
                    Some((IndexedAttr::Email, index_key(IndexedAttr::Email, s)))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Attribute values that a filter made only of `eq` terms joined by `and`
    /// pins down (`type eq "work" and primary eq true` → type/primary). Used by
    /// PATCH to create the element a value path names when none exists.
    pub(crate) fn eq_terms(&self) -> Option<Vec<(Vec<String>, Value)>> {
        match self {
            Filter::And(a, b) => {
                let mut v = a.eq_terms()?;
                v.extend(b.eq_terms()?);
                Some(v)
            }
            Filter::Compare(a, CompareOp::Eq, lit) => {
                let v = match lit {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Num(n) => serde_json::Number::from_f64(*n).map(Value::Number)?,
                    CompValue::Null => return None,
                };
                Some(vec![(a.steps.clone(), v)])
            }
            _ => None,
        }
    }
}

fn steps_are(steps: &[String], want: &[&str]) -> bool {
    steps.len() == want.len() && steps.iter().zip(want).all(|(a, b)| a == b)
}

fn indexed_attr(steps: &[String]) -> Option<IndexedAttr> {
    if steps_are(steps, &["userName"]) {
        Some(IndexedAttr::UserName)
    } else if steps_are(steps, &["externalId"]) {
        Some(IndexedAttr::ExternalId)
    } else if steps_are(steps, &["emails", "value"]) {
        Some(IndexedAttr::Email)
    } else if steps_are(steps, &["id"]) {
        Some(IndexedAttr::Id)
    } else {
        None
    }
}

fn index_key(attr: IndexedAttr, s: &str) -> String {
    match attr {
        IndexedAttr::ExternalId | IndexedAttr::Id => s.to_owned(),
        IndexedAttr::UserName | IndexedAttr::Email => shared::identity::fold(s),
    }
}

/// Member of an object: exact name first, then ASCII case-insensitively
/// (attribute names are case-insensitive, RFC 7643 §2.1).
pub(crate) fn get_ci<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// All values at `steps`, flattening multi-valued attributes at every level.
fn values<'a>(ctx: &'a Value, steps: &[String]) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![ctx];
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Object(m) => next.extend(get_ci(m, step)),
                Value::Array(items) => {
                    for it in items {
                        if let Value::Object(m) = it {
                            next.extend(get_ci(m, step));
                        }
                    }
                }
                _ => {}
            }
        }
        cur = next;
    }
    let mut out = Vec::new();
    for v in cur {
        match v {
            Value::Array(items) => out.extend(items.iter()),
            other => out.push(other),
        }
    }
    out
}

/// RFC 7644 `pr`: has a non-empty value.
fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(a: &AttrRef, op: CompareOp, lit: &CompValue, ctx: &Value) -> bool {
    let vals = values(ctx, &a.steps);
    match (op, lit) {
        (CompareOp::Eq, CompValue::Null) => !vals.iter().any(|v| present(v)),
        (CompareOp::Ne, CompValue::Null) => vals.iter().any(|v| present(v)),
        (CompareOp::Ne, _) => !vals.iter().any(|v| cmp_one(a.kind, CompareOp::Eq, v, lit)),
        _ => vals.iter().any(|v| cmp_one(a.kind, op, v, lit)),
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn parse_dt(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

fn ord_ok<T: PartialOrd>(op: CompareOp, a: T, b: T) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn str_cmp(op: CompareOp, actual: &str, lit: &str, case_exact: bool) -> bool {
    // caseExact=false compares like the indexes do (`shared/src/identity.rs`),
    // so a filter answered from an index and one answered by a scan agree.
    let (a, l) = if case_exact {
        (actual.to_owned(), lit.to_owned())
    } else {
        (shared::identity::fold(actual), shared::identity::fold(lit))
    };
    match op {
        CompareOp::Co => a.contains(&l),
        CompareOp::Sw => a.starts_with(&l),
        CompareOp::Ew => a.ends_with(&l),
        _ => ord_ok(op, a.as_str(), l.as_str()),
    }
}

fn cmp_one(kind: Kind, op: CompareOp, actual: &Value, lit: &CompValue) -> bool {
    match (kind, lit) {
        (Kind::Complex, _) | (_, CompValue::Null) => false,
        (Kind::Bool, CompValue::Bool(b)) | (Kind::Any, CompValue::Bool(b)) => {
            bool_of(actual).is_some_and(|x| ord_ok(op, x, *b))
        }
        (Kind::Str { case_exact }, CompValue::Str(s)) => actual
            .as_str()
            .is_some_and(|x| str_cmp(op, x, s, case_exact)),
        (Kind::Any, CompValue::Str(s)) => actual.as_str().is_some_and(|x| str_cmp(op, x, s, false)),
        (Kind::DateTime, CompValue::Str(s)) => {
            let Some(x) = actual.as_str() else {
                return false;
            };
            if op.is_substring() {
                return str_cmp(op, x, s, false);
            }
            match (parse_dt(x), parse_dt(s)) {
                (Some(x), Some(l)) => ord_ok(op, x, l),
                _ => false,
            }
        }
        (Kind::Num, CompValue::Num(n)) | (Kind::Any, CompValue::Num(n)) => {
            actual.as_f64().is_some_and(|x| ord_ok(op, x, *n))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------- tokenizer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBrack,
    RBrack,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position, for error messages.
    pos: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("\"{w}\""),
        Tok::Str(s) => format!("string {}", Value::String(s.clone())),
        Tok::Num(n) => format!("number {n}"),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBrack => "\"[\"".into(),
        Tok::RBrack => "\"]\"".into(),
        Tok::End => "end of filter".into(),
    }
}

fn err_at(pos: usize, msg: impl std::fmt::Display) -> ScimError {
    ScimError::invalid_filter(format!("invalid filter at position {pos}: {msg}"))
}

fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (byte, ch) = chars[i];
        let pos = i + 1;
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let simple = match ch {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBrack),
            ']' => Some(Tok::RBrack),
            _ => None,
        };
        if let Some(tok) = simple {
            out.push(Token { tok, pos });
            i += 1;
            continue;
        }
        if ch == '"' {
            // Find the closing quote, skipping escapes; JSON decodes the rest.
            let mut j = i + 1;
            let mut escaped = false;
            while j < chars.len() {
                let c = chars[j].1;
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
                j += 1;
            }
            if j >= chars.len() {
                return Err(err_at(pos, "unterminated string"));
            }
            let end = chars[j].0 + 1;
            let s: String = serde_json::from_str(&input[byte..end])
                .map_err(|e| err_at(pos, format!("invalid string literal ({e})")))?;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = j + 1;
            continue;
        }
        if ch == '-' || ch.is_ascii_digit() {
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j].1, '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
                j += 1;
            }
            let end = chars.get(j).map_or(input.len(), |c| c.0);
            let text = &input[byte..end];
            let n: f64 = serde_json::from_str(text)
                .map_err(|_| err_at(pos, format!("invalid number \"{text}\"")))?;
            out.push(Token {
                tok: Tok::Num(n),
                pos,
            });
            i = j;
            continue;
        }
        // A word may start with `.` only so that `emails[…].value` gets a precise error.
        let dot_word = ch == '.' && chars.get(i + 1).is_some_and(|c| c.1.is_ascii_alphabetic());
        if ch.is_ascii_alphabetic() || ch == '$' || dot_word {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].1.is_ascii_alphanumeric()
                    || matches!(chars[j].1, '_' | '-' | '.' | ':' | '$'))
            {
                j += 1;
            }
            let end = chars.get(j).map_or(input.len(), |c| c.0);
            out.push(Token {
                tok: Tok::Word(input[byte..end].to_owned()),
                pos,
            });
            i = j;
            continue;
        }
        return Err(err_at(pos, format!("unexpected character {ch:?}")));
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
    });
    Ok(out)
}

// ------------------------------------------------------------------- parser

#[derive(Clone, Copy)]
enum Scope {
    Root(Resource),
    /// Inside `attr[...]` of a known complex attribute.
    Sub(&'static AttrDef),
    /// Inside `attr[...]` of an attribute outside the schema.
    Generic,
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    /// Attribute expressions parsed so far (bounded by [`MAX_TERMS`]).
    terms: usize,
    scope: Scope,
}

fn kind_of(def: &AttrDef) -> Kind {
    match def.ty {
        AttrType::String | AttrType::Reference => Kind::Str {
            case_exact: def.case_exact,
        },
        AttrType::Binary => Kind::Str { case_exact: true },
        AttrType::Boolean => Kind::Bool,
        AttrType::DateTime => Kind::DateTime,
        AttrType::Integer | AttrType::Decimal => Kind::Num,
        AttrType::Complex => Kind::Complex,
    }
}

impl Parser {
    fn new(input: &str, scope: Scope) -> Result<Parser, ScimError> {
        if input.trim().is_empty() {
            return Err(ScimError::invalid_filter(
                "invalid filter: the filter is empty",
            ));
        }
        let chars = input.chars().count();
        if chars > MAX_FILTER_CHARS {
            return Err(ScimError::invalid_filter(format!(
                "invalid filter: it is {chars} characters long; at most {MAX_FILTER_CHARS} are accepted"
            )));
        }
        Ok(Parser {
            toks: tokenize(input)?,
            i: 0,
            depth: 0,
            terms: 0,
            scope,
        })
    }

    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn peek2(&self) -> &Tok {
        &self.toks[(self.i + 1).min(self.toks.len() - 1)].tok
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }
    fn expect(&mut self, want: Tok, what: &str) -> Result<(), ScimError> {
        let t = self.next();
        if t.tok == want {
            Ok(())
        } else {
            Err(err_at(
                t.pos,
                format!("expected {what}, found {}", describe(&t.tok)),
            ))
        }
    }

    fn parse_all(mut self) -> Result<Filter, ScimError> {
        let f = self.parse_or()?;
        let t = self.peek();
        if t.tok != Tok::End {
            return Err(err_at(
                t.pos,
                format!(
                    "expected \"and\", \"or\" or end of filter, found {}",
                    describe(&t.tok)
                ),
            ));
        }
        Ok(f)
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err_at(self.peek().pos, "filter is nested too deeply"));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Filter, ScimError> {
        self.enter()?;
        let mut left = self.parse_and()?;
        while self.is_word("or") {
            self.next();
            let right = self.parse_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.parse_unary()?;
        while self.is_word("and") {
            self.next();
            let right = self.parse_unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Filter, ScimError> {
        if self.is_word("not") && *self.peek2() == Tok::LParen {
            self.next();
            self.next();
            let f = self.parse_or()?;
            self.expect(Tok::RParen, "\")\"")?;
            return Ok(Filter::Not(Box::new(f)));
        }
        let t = self.next();
        match t.tok {
            Tok::LParen => {
                let f = self.parse_or()?;
                self.expect(Tok::RParen, "\")\"")?;
                Ok(f)
            }
            Tok::Word(w) => self.parse_attr_exp(&w, t.pos),
            other => Err(err_at(
                t.pos,
                format!(
                    "expected an attribute name, \"not\" or \"(\", found {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn parse_attr_exp(&mut self, path: &str, pos: usize) -> Result<Filter, ScimError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(err_at(
                pos,
                format!("the filter has more than {MAX_TERMS} attribute expressions"),
            ));
        }
        if self.peek().tok == Tok::LBrack {
            let Scope::Root(resource) = self.scope else {
                return Err(err_at(self.peek().pos, "value paths cannot be nested"));
            };
            let lb = self.next();
            let (attr, def) = self.resolve_multi(resource, path, pos)?;
            let saved = self.scope;
            self.scope = match def {
                Some(d) if !d.open => Scope::Sub(d),
                _ => Scope::Generic,
            };
            self.enter()?;
            let inner = self.parse_or();
            self.depth -= 1;
            self.scope = saved;
            let inner = inner?;
            self.expect(Tok::RBrack, "\"]\"").map_err(|e| {
                let d = format!("{} (value path opened at position {})", e.detail, lb.pos);
                e.with_detail(d)
            })?;
            if let Tok::Word(w) = &self.peek().tok {
                if w.starts_with('.') {
                    return Err(err_at(
                        self.peek().pos,
                        "a sub-attribute after a value path is only allowed in PATCH paths",
                    ));
                }
            }
            return Ok(Filter::ValuePath(attr, Box::new(inner)));
        }
        let attr = self.resolve(path, pos)?;
        let t = self.next();
        let op_word = match &t.tok {
            Tok::Word(w) => w.clone(),
            other => {
                return Err(err_at(
                    t.pos,
                    format!(
                        "expected an operator after \"{path}\", found {}",
                        describe(other)
                    ),
                ))
            }
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(attr));
        }
        let Some(op) = CompareOp::from_word(&op_word) else {
            return Err(err_at(
                t.pos,
                format!("unknown operator \"{op_word}\" (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)"),
            ));
        };
        let v = self.next();
        let lit = match v.tok {
            Tok::Str(s) => CompValue::Str(s),
            Tok::Num(n) => CompValue::Num(n),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            other => {
                return Err(err_at(
                    v.pos,
                    format!(
                        "expected a value (a quoted string, number, true, false or null), found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        let lit = type_check(&attr, op, lit).map_err(|m| err_at(t.pos, m))?;
        Ok(Filter::Compare(attr, op, lit))
    }

    /// Resolve a path in the current scope; multi-valued complex attributes
    /// without a sub-attribute compare their `value`.
    fn resolve(&self, text: &str, pos: usize) -> Result<AttrRef, ScimError> {
        match self.scope {
            Scope::Root(resource) => {
                let r = schema::resolve(resource, text, false).map_err(|m| err_at(pos, m))?;
                let mut steps: Vec<String> = r.ext.map(str::to_owned).into_iter().collect();
                let Some(attr) = r.attr else {
                    return Ok(AttrRef {
                        text: text.into(),
                        steps,
                        kind: Kind::Complex,
                    });
                };
                steps.push(attr.name.clone());
                let kind = match (&attr.sub, attr.def) {
                    (Some(sub), _) => {
                        steps.push(sub.name.clone());
                        sub.def.map_or(Kind::Any, kind_of)
                    }
                    (None, Some(d)) if d.ty == AttrType::Complex && d.multi => {
                        match d.sub_attr("value") {
                            Some(v) => {
                                steps.push(v.name.to_owned());
                                kind_of(v)
                            }
                            None => Kind::Complex,
                        }
                    }
                    (None, Some(d)) => kind_of(d),
                    (None, None) => Kind::Any,
                };
                Ok(AttrRef {
                    text: text.into(),
                    steps,
                    kind,
                })
            }
            Scope::Sub(parent) => {
                let Some(d) = parent.sub_attr(text) else {
                    return Err(err_at(
                        pos,
                        format!("\"{}\" has no sub-attribute \"{text}\"", parent.name),
                    ));
                };
                Ok(AttrRef {
                    text: text.into(),
                    steps: vec![d.name.to_owned()],
                    kind: kind_of(d),
                })
            }
            Scope::Generic => {
                let steps: Vec<String> = text.split('.').map(str::to_owned).collect();
                if steps.len() > 2 || !steps.iter().all(|s| schema::valid_attr_name(s)) {
                    return Err(err_at(
                        pos,
                        format!("\"{text}\" is not a valid attribute path"),
                    ));
                }
                Ok(AttrRef {
                    text: text.into(),
                    steps,
                    kind: Kind::Any,
                })
            }
        }
    }

    /// Resolve the attribute in front of `[`: it must be multi-valued complex.
    fn resolve_multi(
        &self,
        resource: Resource,
        text: &str,
        pos: usize,
    ) -> Result<(AttrRef, Option<&'static AttrDef>), ScimError> {
        let r = schema::resolve(resource, text, false).map_err(|m| err_at(pos, m))?;
        let attr = r
            .attr
            .ok_or_else(|| err_at(pos, format!("\"{text}\" is not a multi-valued attribute")))?;
        if attr.sub.is_some() {
            return Err(err_at(
                pos,
                format!("\"{text}\" cannot take a value filter"),
            ));
        }
        match attr.def {
            Some(d) if d.ty == AttrType::Complex && d.multi => {
                let steps = r.ext.map(str::to_owned).into_iter().chain([attr.name]).collect();
                Ok((AttrRef { text: text.into(), steps, kind: Kind::Complex }, Some(d)))
            }
            _ => Err(err_at(
                pos,
                format!("\"{text}\" is not a multi-valued complex attribute; it cannot take a value filter"),
            )),
        }
    }
}

/// Check that `op lit` makes sense for the attribute; normalise `"true"` to `true`
/// for booleans.
fn type_check(a: &AttrRef, op: CompareOp, lit: CompValue) -> Result<CompValue, String> {
    let name = &a.text;
    if lit == CompValue::Null {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(lit)
        } else {
            Err(format!(
                "null can only be compared with eq or ne (on \"{name}\")"
            ))
        };
    }
    if let CompValue::Bool(_) = lit {
        if op.is_ordering() || op.is_substring() {
            return Err(format!(
                "a boolean can only be compared with eq or ne (on \"{name}\")"
            ));
        }
    }
    match a.kind {
        Kind::Complex => Err(format!(
            "\"{name}\" is a complex attribute; compare one of its sub-attributes (e.g. \"{name}.value\") or use pr"
        )),
        Kind::Bool => {
            if op.is_ordering() || op.is_substring() {
                return Err(format!("\"{name}\" is a boolean; only eq and ne apply"));
            }
            match lit {
                CompValue::Bool(_) => Ok(lit),
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => Ok(CompValue::Bool(true)),
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => Ok(CompValue::Bool(false)),
                _ => Err(format!("\"{name}\" is a boolean; compare it with true or false")),
            }
        }
        Kind::Str { .. } => match lit {
            CompValue::Str(_) => Ok(lit),
            _ => Err(format!("\"{name}\" is a string; compare it with a quoted string")),
        },
        Kind::DateTime => match &lit {
            CompValue::Str(s) if op.is_substring() || parse_dt(s).is_some() => Ok(lit),
            CompValue::Str(s) => Err(format!(
                "\"{name}\" is a dateTime; \"{s}\" is not an RFC 3339 date-time (e.g. \"2011-05-13T04:42:34Z\")"
            )),
            _ => Err(format!("\"{name}\" is a dateTime; compare it with a quoted RFC 3339 date-time")),
        },
        Kind::Num => match lit {
            CompValue::Num(_) if !op.is_substring() => Ok(lit),
            CompValue::Num(_) => Err(format!("\"{name}\" is a number; co, sw and ew do not apply")),
            _ => Err(format!("\"{name}\" is a number; compare it with a number")),
        },
        Kind::Any => match lit {
            CompValue::Num(_) if op.is_substring() => {
                Err(format!("co, sw and ew need a string value (on \"{name}\")"))
            }
            _ => Ok(lit),
        },
    }
}
