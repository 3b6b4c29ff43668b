//! The recursive-descent parser: attribute paths resolved against the
//! schema table, literals type-checked against the attribute they compare,
//! depth and size bounded.

use super::eval::parse_dt;
use super::lex::{describe, err_at, tokenize, Tok, Token};
use super::{AttrRef, CompValue, CompareOp, Filter, Kind, MAX_DEPTH, MAX_FILTER_CHARS, MAX_TERMS};
use crate::scim::schema::{self, AttrDef, AttrType, Resource};
use crate::scim::ScimError;

#[derive(Clone, Copy)]
pub(super) enum Scope {
    Root(Resource),
    /// Inside `attr[...]` of a known complex attribute.
    Sub(&'static AttrDef),
    /// Inside `attr[...]` of an attribute outside the schema.
    Generic,
}

/// Parse a whole filter in a scope (the parent module's entry points).
pub(super) fn filter(input: &str, scope: Scope) -> Result<Filter, ScimError> {
    Parser::new(input, scope)?.parse_all()
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
