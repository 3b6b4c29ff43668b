//! The `query=` filter language (`docs/freshservice.md` §2.1 "Filter"): a double-quoted, URL-encoded
//! string of at most 512 characters with `field:'value'`, `field:123`, `field:null`,
//! `:>` / `:<` on numbers and dates (inclusive, as in Freshworks' filter APIs),
//! `~[f1|f2]:'prefix'` starts-with, `AND`, `OR` and parentheses.
//!
//! The parser is generic over the fields: the caller says which names exist and of what
//! kind, and supplies their values when evaluating.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Kind of a queryable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Case-insensitive string equality.
    Str,
    /// Integer (equality and ranges).
    Num,
    /// A list of integers; equality means "contains" (e.g. `department_id`).
    NumList,
    /// A date or timestamp (equality on the day, ranges inclusive).
    Date,
}

/// A literal in a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(i64),
    Null,
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ge,
    Le,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp { field: String, op: Op, lit: Lit },
    Prefix { fields: Vec<String>, prefix: String },
}

/// A field's value on one record, as the evaluator sees it.
#[derive(Debug, Clone)]
pub enum Val {
    Str(Option<String>),
    Num(Option<i64>),
    Nums(Vec<i64>),
    Date(Option<DateTime<Utc>>),
}

/// Why a query was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("The query should be enclosed in double quotes")]
    NotQuoted,
    #[error("The query should not exceed 512 characters")]
    TooLong,
    #[error("Invalid query syntax at position {0}")]
    Syntax(usize),
    #[error("{0} is not a valid field for this query")]
    UnknownField(String),
    #[error("Invalid value for {0}")]
    BadValue(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Term(Expr),
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn ident(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn quoted(&mut self) -> Result<String, QueryError> {
        if self.s.get(self.i) != Some(&b'\'') {
            return Err(QueryError::Syntax(self.i));
        }
        self.i += 1;
        let mut out = Vec::new();
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' if self.s.get(self.i + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.i += 2;
                }
                b'\'' => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        Err(QueryError::Syntax(self.i))
    }

    fn literal(&mut self) -> Result<Lit, QueryError> {
        match self.s.get(self.i) {
            Some(b'\'') => Ok(Lit::Str(self.quoted()?)),
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .map(Lit::Num)
                    .ok_or(QueryError::Syntax(start))
            }
            Some(_) => {
                let start = self.i;
                match self.ident().as_str() {
                    "null" => Ok(Lit::Null),
                    _ => Err(QueryError::Syntax(start)),
                }
            }
            None => Err(QueryError::Syntax(self.i)),
        }
    }

    fn next(&mut self) -> Result<Option<Tok>, QueryError> {
        self.skip_ws();
        let Some(&c) = self.s.get(self.i) else {
            return Ok(None);
        };
        match c {
            b'(' => {
                self.i += 1;
                Ok(Some(Tok::LParen))
            }
            b')' => {
                self.i += 1;
                Ok(Some(Tok::RParen))
            }
            b'~' => {
                self.i += 1;
                if self.s.get(self.i) != Some(&b'[') {
                    return Err(QueryError::Syntax(self.i));
                }
                self.i += 1;
                let mut fields = Vec::new();
                loop {
                    let f = self.ident();
                    if f.is_empty() {
                        return Err(QueryError::Syntax(self.i));
                    }
                    fields.push(f);
                    match self.s.get(self.i) {
                        Some(b'|') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(QueryError::Syntax(self.i)),
                    }
                }
                if self.s.get(self.i) != Some(&b':') {
                    return Err(QueryError::Syntax(self.i));
                }
                self.i += 1;
                let prefix = self.quoted()?;
                Ok(Some(Tok::Term(Expr::Prefix { fields, prefix })))
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = self.i;
                let word = self.ident();
                if self.s.get(self.i) == Some(&b':') {
                    self.i += 1;
                    let op = match self.s.get(self.i) {
                        Some(b'>') => {
                            self.i += 1;
                            Op::Ge
                        }
                        Some(b'<') => {
                            self.i += 1;
                            Op::Le
                        }
                        _ => Op::Eq,
                    };
                    let lit = self.literal()?;
                    return Ok(Some(Tok::Term(Expr::Cmp {
                        field: word,
                        op,
                        lit,
                    })));
                }
                match word.as_str() {
                    "AND" => Ok(Some(Tok::And)),
                    "OR" => Ok(Some(Tok::Or)),
                    _ => Err(QueryError::Syntax(start)),
                }
            }
            _ => Err(QueryError::Syntax(self.i)),
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.toks.get(self.pos) == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.primary()?;
        while self.toks.get(self.pos) == Some(&Tok::And) {
            self.pos += 1;
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err(QueryError::Syntax(self.pos));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Term(e)) => {
                self.pos += 1;
                Ok(e)
            }
            _ => Err(QueryError::Syntax(self.pos)),
        }
    }
}

/// Parses a date literal: `YYYY-MM-DD` (whole day) or `YYYY-MM-DDTHH:MM:SSZ`.
/// Returns the range `[start, end]` it denotes.
fn date_range(s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0)?.and_utc();
        let end = d.and_hms_opt(23, 59, 59)?.and_utc();
        return Some((start, end));
    }
    let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()?
        .and_utc();
    Some((t, t))
}

fn check(
    e: &Expr,
    kind_of: &dyn Fn(&str) -> Option<Kind>,
    prefix_ok: &[&str],
) -> Result<(), QueryError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, kind_of, prefix_ok)?;
            check(b, kind_of, prefix_ok)
        }
        Expr::Prefix { fields, .. } => {
            match fields.iter().find(|f| !prefix_ok.contains(&f.as_str())) {
                Some(f) => Err(QueryError::UnknownField(f.clone())),
                None => Ok(()),
            }
        }
        Expr::Cmp { field, op, lit } => {
            let kind = kind_of(field).ok_or_else(|| QueryError::UnknownField(field.clone()))?;
            let ok = match (kind, op, lit) {
                (_, Op::Eq, Lit::Null) => true,
                (Kind::Str, Op::Eq, Lit::Str(_)) => true,
                (Kind::Num | Kind::NumList, _, Lit::Num(_)) => true,
                (Kind::Date, _, Lit::Str(s)) => date_range(s).is_some(),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(QueryError::BadValue(field.clone()))
            }
        }
    }
}

/// Parses the raw `query` parameter (URL-decoded, still in its double quotes).
pub fn parse(
    raw: &str,
    kind_of: &dyn Fn(&str) -> Option<Kind>,
    prefix_fields: &[&str],
) -> Result<Expr, QueryError> {
    if raw.chars().count() > 512 {
        return Err(QueryError::TooLong);
    }
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or(QueryError::NotQuoted)?;
    let mut lx = Lexer {
        s: inner.as_bytes(),
        i: 0,
    };
    let mut toks = Vec::new();
    while let Some(t) = lx.next()? {
        toks.push(t);
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(QueryError::Syntax(p.pos));
    }
    check(&e, kind_of, prefix_fields)?;
    Ok(e)
}

/// Evaluates a parsed query against one record.
pub fn eval(e: &Expr, get: &dyn Fn(&str) -> Val) -> bool {
    match e {
        Expr::And(a, b) => eval(a, get) && eval(b, get),
        Expr::Or(a, b) => eval(a, get) || eval(b, get),
        Expr::Prefix { fields, prefix } => {
            let p = prefix.to_lowercase();
            fields.iter().any(|f| match get(f) {
                Val::Str(Some(s)) => s.to_lowercase().starts_with(&p),
                _ => false,
            })
        }
        Expr::Cmp { field, op, lit } => match (get(field), lit) {
            (Val::Str(v), Lit::Null) => v.is_none_or(|s| s.is_empty()),
            (Val::Num(v), Lit::Null) => v.is_none(),
            (Val::Nums(v), Lit::Null) => v.is_empty(),
            (Val::Date(v), Lit::Null) => v.is_none(),
            (Val::Str(Some(s)), Lit::Str(x)) => {
                s.eq_ignore_ascii_case(x) || s.to_lowercase() == x.to_lowercase()
            }
            (Val::Num(Some(n)), Lit::Num(x)) => match op {
                Op::Eq => n == *x,
                Op::Ge => n >= *x,
                Op::Le => n <= *x,
            },
            (Val::Nums(ns), Lit::Num(x)) => match op {
                Op::Eq => ns.contains(x),
                Op::Ge => ns.iter().any(|n| n >= x),
                Op::Le => ns.iter().any(|n| n <= x),
            },
            (Val::Date(Some(t)), Lit::Str(x)) => match date_range(x) {
                Some((start, end)) => match op {
                    Op::Eq => t >= start && t <= end,
                    Op::Ge => t >= start,
                    Op::Le => t <= end,
                },
                None => false,
            },
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(f: &str) -> Option<Kind> {
        match f {
            "first_name" | "primary_email" => Some(Kind::Str),
            "level" => Some(Kind::Num),
            "created_at" => Some(Kind::Date),
            _ => None,
        }
    }

    #[test]
    fn parses_and_or_parens() {
        let e = parse(
            "\"(first_name:'Jack' OR first_name:'Ann') AND level:>3\"",
            &kinds,
            &["first_name"],
        )
        .unwrap();
        let get = |f: &str| match f {
            "first_name" => Val::Str(Some("ann".into())),
            "level" => Val::Num(Some(3)),
            _ => Val::Str(None),
        };
        assert!(eval(&e, &get));
        let get2 = |f: &str| match f {
            "first_name" => Val::Str(Some("Bob".into())),
            "level" => Val::Num(Some(9)),
            _ => Val::Str(None),
        };
        assert!(!eval(&e, &get2));
    }

    #[test]
    fn rejects_bad_queries() {
        assert_eq!(
            parse("first_name:'x'", &kinds, &[]),
            Err(QueryError::NotQuoted)
        );
        assert!(matches!(
            parse("\"first_name:'x' AND\"", &kinds, &[]),
            Err(QueryError::Syntax(_))
        ));
        assert_eq!(
            parse("\"nope:'x'\"", &kinds, &[]),
            Err(QueryError::UnknownField("nope".into()))
        );
        assert_eq!(
            parse("\"first_name:>'x'\"", &kinds, &[]),
            Err(QueryError::BadValue("first_name".into()))
        );
        let long = format!("\"first_name:'{}'\"", "a".repeat(600));
        assert_eq!(parse(&long, &kinds, &[]), Err(QueryError::TooLong));
    }

    #[test]
    fn dates_and_null() {
        let e = parse(
            "\"created_at:>'2021-04-01' AND primary_email:null\"",
            &kinds,
            &[],
        )
        .unwrap();
        let t = NaiveDate::from_ymd_opt(2021, 4, 1)
            .unwrap()
            .and_hms_opt(5, 0, 0)
            .unwrap()
            .and_utc();
        let get = |f: &str| match f {
            "created_at" => Val::Date(Some(t)),
            _ => Val::Str(None),
        };
        assert!(eval(&e, &get));
    }
}
