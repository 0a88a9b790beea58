//! `$filter` of the SensorThings API (OGC 18-088, 9.3.3.5, the OData subset it names): a
//! parser into an expression tree, with the position of every mistake, and its evaluation on
//! an entity's JSON.
//!
//! Operators: `eq ne gt ge lt le`, `and or not`, `add sub mul div mod`, parentheses and
//! unary minus. Functions: `substringof startswith endswith length indexof substring tolower
//! toupper trim concat`, `year month day hour minute second date time now mindatetime
//! maxdatetime`, `round floor ceiling`. Literals: numbers, `'strings'` (`''` for a quote),
//! `true false null`, and ISO 8601 times written bare (`2026-12-01T10:00:00Z`).

use serde_json::Value;

/// A mistake in a filter: where (0-based character) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub at: usize,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "$filter at {}: {}", self.at, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Number(f64),
    Text(String),
    Time(i64),
    Open,
    Close,
    Comma,
}

fn lex(text: &str) -> Result<Vec<(usize, Token)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let fail = |at: usize, message: String| FilterError { at, message };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                tokens.push((start, Token::Open));
                i += 1;
            }
            ')' => {
                tokens.push((start, Token::Close));
                i += 1;
            }
            ',' => {
                tokens.push((start, Token::Comma));
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(fail(start, "a string without its closing '".into())),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                tokens.push((start, Token::Text(s)));
            }
            d if d.is_ascii_digit() => {
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || ".:-+".contains(chars[i]))
                {
                    // A time's `+01:00` offset, or the end of a number before an operator word.
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if let Some(ms) = (word.len() >= 10 && word.as_bytes()[4] == b'-')
                    .then(|| parse_time(&word))
                    .flatten()
                {
                    tokens.push((start, Token::Time(ms)));
                } else {
                    let n: f64 = word
                        .parse()
                        .map_err(|_| fail(start, format!("`{word}` is not a number or a time")))?;
                    tokens.push((start, Token::Number(n)));
                }
            }
            a if a.is_alphabetic() || a == '@' || a == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || "@._/".contains(chars[i])) {
                    i += 1;
                }
                tokens.push((start, Token::Name(chars[start..i].iter().collect())));
            }
            '-' => {
                tokens.push((start, Token::Name("-".into())));
                i += 1;
            }
            other => return Err(fail(start, format!("`{other}` is not allowed here"))),
        }
    }
    Ok(tokens)
}

/// An ISO 8601 time with a zone (`Z` or an offset), or a date, as ms since the epoch.
fn parse_time(text: &str) -> Option<i64> {
    if text.len() == 10 {
        return sensorhub_store::time::parse_rfc3339(&format!("{text}T00:00:00Z"));
    }
    sensorhub_store::time::parse_rfc3339(text)
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Lit),
    Property(String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Number(f64),
    Text(String),
    Bool(bool),
    Time(i64),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Or,
    And,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

const FUNCTIONS: [(&str, usize, usize); 24] = [
    ("substringof", 2, 2),
    ("startswith", 2, 2),
    ("endswith", 2, 2),
    ("length", 1, 1),
    ("indexof", 2, 2),
    ("substring", 2, 3),
    ("tolower", 1, 1),
    ("toupper", 1, 1),
    ("trim", 1, 1),
    ("concat", 2, 2),
    ("year", 1, 1),
    ("month", 1, 1),
    ("day", 1, 1),
    ("hour", 1, 1),
    ("minute", 1, 1),
    ("second", 1, 1),
    ("date", 1, 1),
    ("time", 1, 1),
    ("now", 0, 0),
    ("mindatetime", 0, 0),
    ("maxdatetime", 0, 0),
    ("round", 1, 1),
    ("floor", 1, 1),
    ("ceiling", 1, 1),
];

struct Parser {
    tokens: Vec<(usize, Token)>,
    i: usize,
    end: usize,
    /// Nesting so far (parentheses, calls, `not`, unary minus): a hostile filter is refused
    /// long before it could exhaust the stack.
    depth: usize,
}

/// The deepest nesting a filter may have, and the most tokens.
const MAX_DEPTH: usize = 32;
const MAX_TOKENS: usize = 512;

impl Parser {
    fn at(&self) -> usize {
        self.tokens.get(self.i).map_or(self.end, |(at, _)| *at)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            at: self.at(),
            message: message.into(),
        })
    }

    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.i) {
            Some((_, Token::Name(n))) => Some(n.as_str()),
            _ => None,
        }
    }

    /// One level deeper, or the error that it is too deep.
    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        Ok(())
    }

    fn binary(&mut self, level: usize) -> Result<Expr, FilterError> {
        const LEVELS: [&[(&str, Op)]; 5] = [
            &[("or", Op::Or)],
            &[("and", Op::And)],
            &[
                ("eq", Op::Eq),
                ("ne", Op::Ne),
                ("gt", Op::Gt),
                ("ge", Op::Ge),
                ("lt", Op::Lt),
                ("le", Op::Le),
            ],
            &[("add", Op::Add), ("sub", Op::Sub)],
            &[("mul", Op::Mul), ("div", Op::Div), ("mod", Op::Mod)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        if level == 2 && self.peek_word() == Some("not") {
            self.i += 1;
            self.deeper()?;
            let inner = self.binary(level)?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self
            .peek_word()
            .and_then(|w| LEVELS[level].iter().find(|(name, _)| *name == w))
            .map(|(_, op)| *op)
        {
            self.i += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.peek_word() == Some("-") {
            self.i += 1;
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some((_, token)) = self.tokens.get(self.i).cloned() else {
            return self.fail("the filter ends where a value is expected");
        };
        self.i += 1;
        match token {
            Token::Number(n) => Ok(Expr::Literal(Lit::Number(n))),
            Token::Text(s) => Ok(Expr::Literal(Lit::Text(s))),
            Token::Time(t) => Ok(Expr::Literal(Lit::Time(t))),
            Token::Open => {
                self.deeper()?;
                let inner = self.binary(0)?;
                self.depth -= 1;
                match self.tokens.get(self.i) {
                    Some((_, Token::Close)) => {
                        self.i += 1;
                        Ok(inner)
                    }
                    _ => self.fail("`)` expected"),
                }
            }
            Token::Name(name) => match name.as_str() {
                "true" => Ok(Expr::Literal(Lit::Bool(true))),
                "false" => Ok(Expr::Literal(Lit::Bool(false))),
                "null" => Ok(Expr::Literal(Lit::Null)),
                _ if matches!(self.tokens.get(self.i), Some((_, Token::Open))) => self.call(name),
                "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "and" | "or" | "not" | "add" | "sub"
                | "mul" | "div" | "mod" | "-" => {
                    self.i -= 1;
                    self.fail(format!("`{name}` where a value is expected"))
                }
                _ => Ok(Expr::Property(name)),
            },
            Token::Close | Token::Comma => {
                self.i -= 1;
                self.fail("a value is expected here")
            }
        }
    }

    fn call(&mut self, name: String) -> Result<Expr, FilterError> {
        let at = self.tokens[self.i - 1].0;
        let known = FUNCTIONS.iter().find(|(n, _, _)| *n == name).copied();
        let Some((_, min, max)) = known else {
            return Err(FilterError {
                at,
                message: format!("`{name}` is not a function this server knows"),
            });
        };
        self.i += 1; // (
        self.deeper()?;
        let mut args = Vec::new();
        if !matches!(self.tokens.get(self.i), Some((_, Token::Close))) {
            loop {
                args.push(self.binary(0)?);
                match self.tokens.get(self.i) {
                    Some((_, Token::Comma)) => self.i += 1,
                    Some((_, Token::Close)) => break,
                    _ => return self.fail("`,` or `)` expected"),
                }
            }
        }
        self.i += 1; // )
        self.depth -= 1;
        if args.len() < min || args.len() > max {
            return Err(FilterError {
                at,
                message: format!(
                    "`{name}` takes {min} to {max} arguments, not {}",
                    args.len()
                ),
            });
        }
        Ok(Expr::Call(name, args))
    }
}

/// Parses a `$filter`.
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    let tokens = lex(text)?;
    if let Some((at, _)) = tokens.get(MAX_TOKENS) {
        return Err(FilterError {
            at: *at,
            message: format!("longer than {MAX_TOKENS} tokens"),
        });
    }
    let mut parser = Parser {
        tokens,
        i: 0,
        end: text.chars().count(),
        depth: 0,
    };
    let expr = parser.binary(0)?;
    if parser.i < parser.tokens.len() {
        return parser.fail("the filter goes on after a complete expression");
    }
    Ok(expr)
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Number(f64),
    Text(String),
    Bool(bool),
    Time(i64),
    Null,
}

impl V {
    fn of(json: &Value) -> V {
        match json {
            Value::Number(n) => V::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => V::Text(s.clone()),
            Value::Bool(b) => V::Bool(*b),
            Value::Null => V::Null,
            other => V::Text(other.to_string()),
        }
    }

    /// As a time: a time, or text that reads as one (the start of an interval `a/b`).
    fn time(&self) -> Option<i64> {
        match self {
            V::Time(t) => Some(*t),
            V::Text(s) => parse_time(s.split('/').next().unwrap_or(s)),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            V::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            V::Text(s) => Some(s),
            _ => None,
        }
    }
}

fn property(entity: &Value, path: &str) -> V {
    let mut current = entity;
    for part in path.split('/') {
        let key = if part == "id" { "@iot.id" } else { part };
        current = &current[key];
    }
    V::of(current)
}

fn compare(a: &V, b: &V) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (V::Number(x), V::Number(y)) => x.partial_cmp(y),
        (V::Time(_), _) | (_, V::Time(_)) => Some(a.time()?.cmp(&b.time()?)),
        (V::Text(x), V::Text(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn part(t: i64, what: &str) -> Option<f64> {
    let text = sensorhub_store::time::format_rfc3339(t);
    let slice = |a: usize, b: usize| text.get(a..b)?.parse::<f64>().ok();
    match what {
        "year" => slice(0, 4),
        "month" => slice(5, 7),
        "day" => slice(8, 10),
        "hour" => slice(11, 13),
        "minute" => slice(14, 16),
        "second" => slice(17, 19),
        _ => None,
    }
}

fn eval(e: &Expr, entity: &Value, now: i64) -> V {
    match e {
        Expr::Literal(Lit::Number(n)) => V::Number(*n),
        Expr::Literal(Lit::Text(s)) => V::Text(s.clone()),
        Expr::Literal(Lit::Bool(b)) => V::Bool(*b),
        Expr::Literal(Lit::Time(t)) => V::Time(*t),
        Expr::Literal(Lit::Null) => V::Null,
        Expr::Property(p) => property(entity, p),
        Expr::Not(inner) => match eval(inner, entity, now) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Null,
        },
        Expr::Neg(inner) => match eval(inner, entity, now) {
            V::Number(n) => V::Number(-n),
            _ => V::Null,
        },
        Expr::Binary(op, a, b) => {
            let (x, y) = (eval(a, entity, now), eval(b, entity, now));
            match op {
                Op::Or => V::Bool(x == V::Bool(true) || y == V::Bool(true)),
                Op::And => V::Bool(x == V::Bool(true) && y == V::Bool(true)),
                Op::Eq => V::Bool(
                    compare(&x, &y) == Some(std::cmp::Ordering::Equal)
                        || (x == V::Null && y == V::Null),
                ),
                Op::Ne => V::Bool(
                    compare(&x, &y) != Some(std::cmp::Ordering::Equal)
                        && !(x == V::Null && y == V::Null),
                ),
                Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                    let Some(order) = compare(&x, &y) else {
                        return V::Bool(false);
                    };
                    V::Bool(match op {
                        Op::Gt => order.is_gt(),
                        Op::Ge => order.is_ge(),
                        Op::Lt => order.is_lt(),
                        _ => order.is_le(),
                    })
                }
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
                    let (Some(x), Some(y)) = (x.number(), y.number()) else {
                        return V::Null;
                    };
                    V::Number(match op {
                        Op::Add => x + y,
                        Op::Sub => x - y,
                        Op::Mul => x * y,
                        Op::Div => x / y,
                        _ => x % y,
                    })
                }
            }
        }
        Expr::Call(name, args) => {
            let v: Vec<V> = args.iter().map(|a| eval(a, entity, now)).collect();
            let text = |i: usize| v.get(i).and_then(V::text).map(str::to_owned);
            let number = |i: usize| v.get(i).and_then(V::number);
            match name.as_str() {
                "substringof" => match (text(0), text(1)) {
                    (Some(a), Some(b)) => V::Bool(b.contains(&a)),
                    _ => V::Null,
                },
                "startswith" => match (text(0), text(1)) {
                    (Some(a), Some(b)) => V::Bool(a.starts_with(&b)),
                    _ => V::Null,
                },
                "endswith" => match (text(0), text(1)) {
                    (Some(a), Some(b)) => V::Bool(a.ends_with(&b)),
                    _ => V::Null,
                },
                "length" => text(0).map_or(V::Null, |a| V::Number(a.chars().count() as f64)),
                "indexof" => match (text(0), text(1)) {
                    (Some(a), Some(b)) => {
                        V::Number(a.find(&b).map_or(-1.0, |i| a[..i].chars().count() as f64))
                    }
                    _ => V::Null,
                },
                "substring" => match (text(0), number(1)) {
                    (Some(a), Some(from)) => {
                        let chars = a.chars().skip(from.max(0.0) as usize);
                        V::Text(match number(2) {
                            Some(n) => chars.take(n.max(0.0) as usize).collect(),
                            None => chars.collect(),
                        })
                    }
                    _ => V::Null,
                },
                "tolower" => text(0).map_or(V::Null, |a| V::Text(a.to_lowercase())),
                "toupper" => text(0).map_or(V::Null, |a| V::Text(a.to_uppercase())),
                "trim" => text(0).map_or(V::Null, |a| V::Text(a.trim().to_owned())),
                "concat" => match (text(0), text(1)) {
                    (Some(a), Some(b)) => V::Text(a + &b),
                    _ => V::Null,
                },
                "year" | "month" | "day" | "hour" | "minute" | "second" => v
                    .first()
                    .and_then(V::time)
                    .and_then(|t| part(t, name))
                    .map_or(V::Null, V::Number),
                "date" => v
                    .first()
                    .and_then(V::time)
                    .map_or(V::Null, |t| V::Time(t.div_euclid(86_400_000) * 86_400_000)),
                "time" => v
                    .first()
                    .and_then(V::time)
                    .map_or(V::Null, |t| V::Number(t.rem_euclid(86_400_000) as f64)),
                "now" => V::Time(now),
                "mindatetime" => V::Time(i64::MIN / 2),
                "maxdatetime" => V::Time(i64::MAX / 2),
                "round" => number(0).map_or(V::Null, |n| V::Number(n.round())),
                "floor" => number(0).map_or(V::Null, |n| V::Number(n.floor())),
                "ceiling" => number(0).map_or(V::Null, |n| V::Number(n.ceil())),
                _ => V::Null,
            }
        }
    }
}

/// Whether `entity` passes the filter.
pub fn matches(e: &Expr, entity: &Value, now: i64) -> bool {
    eval(e, entity, now) == V::Bool(true)
}
